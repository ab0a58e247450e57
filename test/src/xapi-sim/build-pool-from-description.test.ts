import { describe, expect, it } from 'vitest';
import { buildPoolFromDescription } from './build-pool-from-description.js';
import { demoPoolFile } from './fixture-paths.js';
import { PoolDescriptionError, readPoolDescriptionFile, type PoolDescription } from './pool-description.js';
import type { XapiDb } from './xapi-db.js';
import { NULL_REF } from './xapi-value.js';

const GiB = 2 ** 30;

const hostName = (db: XapiDb, ref: string): string => db.getRecord('host', ref)['name_label'] as string;

describe('buildPoolFromDescription(demo-pool.yaml)', async () => {
  const description = await readPoolDescriptionFile(demoPoolFile);
  const db = buildPoolFromDescription(description);

  it('has the three demo hosts at their addresses, xs-demo-1 master', () => {
    const hosts = db.refs('host').map((ref) => db.getRecord('host', ref));
    expect(hosts.map((h) => [h['name_label'], h['hostname'], h['address']])).toEqual([
      ['xs-demo-1', 'xs-demo-1', '127.0.0.11'],
      ['xs-demo-2', 'xs-demo-2', '127.0.0.12'],
      ['xs-demo-3', 'xs-demo-3', '127.0.0.13'],
    ]);
    expect(db.getRecord('pool', db.poolRef())['name_label']).toBe('demo');
    expect(hostName(db, db.masterRef())).toBe('xs-demo-1');
  });

  it('reports XenServer 7.1.0 with 32 GiB on every host', () => {
    for (const ref of db.refs('host')) {
      const host = db.getRecord('host', ref);
      const sv = host['software_version'] as Record<string, string>;
      expect([sv['product_brand'], sv['product_version']]).toEqual(['XenServer', '7.1.0']);
      expect([host['API_version_major'], host['API_version_minor']]).toEqual([2, 6]);
      const metrics = db.getRecord('host_metrics', host['metrics'] as string);
      expect(metrics['memory_total']).toBe(32 * GiB);
      expect(metrics['live']).toBe(true);
      expect(host['patches']).toHaveLength(2);
      expect(host['updates']).toHaveLength(2);
      expect(host['host_CPUs']).toHaveLength(16);
    }
  });

  it('gives each host a running control domain it points to', () => {
    for (const ref of db.refs('host')) {
      const dom0 = db.getRecord('VM', db.getRecord('host', ref)['control_domain'] as string);
      expect(dom0['is_control_domain']).toBe(true);
      expect(dom0['resident_on']).toBe(ref);
      expect(dom0['domid']).toBe(0);
    }
  });

  it('runs the described guests where the file puts them', () => {
    const guests = db.find('VM', (vm) => vm['is_control_domain'] === false);
    const placement = Object.fromEntries(guests.map(([, vm]) => [vm['name_label'], hostName(db, vm['resident_on'] as string)]));
    expect(placement).toEqual({
      'web-1': 'xs-demo-1', 'web-2': 'xs-demo-1', 'db-1': 'xs-demo-1',
      'app-1': 'xs-demo-2', 'app-2': 'xs-demo-2', 'cache-1': 'xs-demo-2',
      'build-1': 'xs-demo-3', 'mon-1': 'xs-demo-3', 'ci-scratch-1': 'xs-demo-3',
    });
    for (const [, vm] of guests) expect(vm['power_state']).toBe('Running');
    const db1 = db.getRecord('VM', db.refByName('VM', 'db-1'));
    expect(db1['memory_static_max']).toBe(8 * GiB);
    expect(db1['VBDs']).toHaveLength(2);
  });

  it('attaches the shared SR on every host and the local SR on its owner only', () => {
    const shared = db.getRecord('SR', db.refByName('SR', 'iscsi-shared'));
    expect([shared['shared'], shared['type']]).toEqual([true, 'lvmoiscsi']);
    expect((shared['PBDs'] as string[]).map((p) => hostName(db, db.getRecord('PBD', p)['host'] as string)).sort()).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
    const local = db.getRecord('SR', db.refByName('SR', 'Local storage xs-demo-3'));
    expect(local['shared']).toBe(false);
    expect((local['PBDs'] as string[]).map((p) => hostName(db, db.getRecord('PBD', p)['host'] as string))).toEqual(['xs-demo-3']);
    expect(db.getRecord('pool', db.poolRef())['default_SR']).toBe(db.refByName('SR', 'iscsi-shared'));
  });

  it('puts ci-scratch-1 on the local SR and the others on the shared one', () => {
    const srOfVm = (name: string): string[] =>
      (db.getRecord('VM', db.refByName('VM', name))['VBDs'] as string[]).map((vbd) => {
        const vdi = db.getRecord('VDI', db.getRecord('VBD', vbd)['VDI'] as string);
        return db.getRecord('SR', vdi['SR'] as string)['name_label'] as string;
      });
    expect(srOfVm('ci-scratch-1')).toEqual(['Local storage xs-demo-3']);
    expect(srOfVm('web-1')).toEqual(['iscsi-shared']);
  });

  it('keeps free memory consistent with what runs on each host', () => {
    for (const ref of db.refs('host')) {
      const host = db.getRecord('host', ref);
      const metrics = db.getRecord('host_metrics', host['metrics'] as string);
      const used = (host['resident_VMs'] as string[])
        .map((vm) => db.getRecord('VM', vm))
        .reduce((s, vm) => s + (vm['memory_target'] as number) + (vm['memory_overhead'] as number), 0);
      expect(metrics['memory_free']).toBe(32 * GiB - (host['memory_overhead'] as number) - used);
    }
  });

  it('derives the same refs from the same description', () => {
    const again = buildPoolFromDescription(description);
    expect(again.refs('VM')).toEqual(db.refs('VM'));
    expect(again.getRecord('host', again.masterRef())['uuid']).toBe(db.getRecord('host', db.masterRef())['uuid']);
  });
});

describe('buildPoolFromDescription validation', () => {
  const base: PoolDescription = { pool: { name: 'p', master: 'h1' }, hosts: [{ name: 'h1', address: '127.0.0.21' }] };

  it('builds a one-host pool from defaults', () => {
    const db = buildPoolFromDescription(base);
    expect(db.count('host')).toBe(1);
    expect(db.getRecord('pool', db.poolRef())['default_SR']).toBe(NULL_REF);
  });

  it('rejects a master that is not a host', () => {
    expect(() => buildPoolFromDescription({ ...base, pool: { name: 'p', master: 'nope' } })).toThrow(PoolDescriptionError);
  });

  it('rejects a running VM without a host and a disk on an unknown SR', () => {
    expect(() => buildPoolFromDescription({ ...base, vms: [{ name: 'v' }] })).toThrow(/needs its host/);
    expect(() => buildPoolFromDescription({ ...base, vms: [{ name: 'v', host: 'h1', disks: [{ sr: 'x', sizeGiB: 1 }] }] })).toThrow(/no SR named x/);
  });
});
