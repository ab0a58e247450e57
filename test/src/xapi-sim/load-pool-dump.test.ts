import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedDumpFile } from './fixture-paths.js';
import { loadPoolDump } from './load-pool-dump.js';
import type { XapiDb } from './xapi-db.js';
import { NULL_REF, type XapiRecord } from './xapi-value.js';

/** Rows per table counted straight from the XML text, independent of the loader. */
function rawRowCounts(xml: string): Map<string, number> {
  const counts = new Map<string, number>();
  const tableRe = /<table name="([^"]+)"(\/>|>([\s\S]*?)<\/table>)/g;
  for (const m of xml.matchAll(tableRe)) counts.set(m[1]!, (m[3] ?? '').match(/<row /g)?.length ?? 0);
  return counts;
}

const names = (db: XapiDb, cls: string, refs: readonly string[]): string[] =>
  refs.map((r) => db.getRecord(cls, r)['name_label'] as string).sort();

const byName = (db: XapiDb, cls: string, name: string): [string, XapiRecord] => {
  const hits = db.find(cls, (r) => r['name_label'] === name);
  expect(hits, `${cls} named ${name}`).toHaveLength(1);
  return hits[0]!;
};

interface DumpFacts {
  file: string;
  pool: string;
  guestsRunning: Record<string, string>;
}

const dumps: DumpFacts[] = [
  {
    file: 'state1.xml',
    pool: 'Hottub',
    guestsRunning: { 'Windows XP SP2 (1)': 'inflames', 'Windows Server 2003 x64 (1)': 'inflames', 'Iscsi Box': 'incubus' },
  },
  { file: 'boston-db.xml', pool: 'New Pool', guestsRunning: { 'Demo Linux': 'incubus', Demo: 'inflames' } },
];

describe.each(dumps)('loadPoolDump($file)', ({ file, pool, guestsRunning }) => {
  const xml = readFileSync(sharedDumpFile(file), 'utf8');
  const db = loadPoolDump(xml);

  it('keeps every row of every table', () => {
    for (const [table, count] of rawRowCounts(xml)) {
      // Metrics rows the dump's hosts and VMs point to but lacks are synthesised (see below).
      if (table === 'host_metrics' || table === 'VM_metrics') expect(db.count(table), table).toBeGreaterThanOrEqual(count);
      else expect(db.count(table), table).toBe(count);
    }
  });

  it('has two hosts and names the master in pool.master', () => {
    const [poolRef, poolRecord] = db.find('pool', () => true)[0]!;
    expect(poolRecord['name_label']).toBe(pool);
    expect(db.refs('host')).toHaveLength(2);
    expect(names(db, 'host', db.refs('host'))).toEqual(['incubus', 'inflames']);
    const master = db.getRecord('host', db.masterRef());
    expect(master['name_label']).toBe('inflames');
    expect(master['address']).toBe('10.80.224.75');
    expect(db.getRecord('pool', poolRef)['master']).toBe(db.masterRef());
  });

  it('finds the running guests on the hosts the dump says', () => {
    const running = db.find('VM', (vm) => vm['power_state'] === 'Running' && vm['is_control_domain'] === false);
    const where = Object.fromEntries(running.map(([, vm]) => [vm['name_label'], db.getRecord('host', vm['resident_on'] as string)['name_label']]));
    expect(where).toEqual(guestsRunning);
  });

  it('derives host.resident_VMs from VM.resident_on, control domain included', () => {
    for (const hostRef of db.refs('host')) {
      const host = db.getRecord('host', hostRef);
      const expected = db.find('VM', (vm) => vm['resident_on'] === hostRef).map(([ref]) => ref).sort();
      expect([...(host['resident_VMs'] as string[])].sort()).toEqual(expected);
      const dom0 = db.find('VM', (vm) => vm['resident_on'] === hostRef && vm['is_control_domain'] === true);
      expect(dom0.map(([, vm]) => vm['name_label'])).toEqual([`Control domain on host: ${host['name_label'] as string}`]);
    }
  });

  it('tells shared SRs from local ones through SR.shared and PBDs', () => {
    const [iscsiRef, iscsi] = byName(db, 'SR', 'iSCSI virtual disk storage');
    expect(iscsi['shared']).toBe(true);
    expect(iscsi['type']).toBe('lvmoiscsi');
    const iscsiHosts = (iscsi['PBDs'] as string[]).map((pbd) => db.getRecord('PBD', pbd)['host'] as string);
    expect(names(db, 'host', iscsiHosts)).toEqual(['incubus', 'inflames']);
    for (const pbd of iscsi['PBDs'] as string[]) expect(db.getRecord('PBD', pbd)['SR']).toBe(iscsiRef);

    const local = db.find('SR', (sr) => sr['name_label'] === 'Local storage');
    expect(local.length).toBeGreaterThanOrEqual(1);
    for (const [, sr] of local) {
      expect(sr['shared']).toBe(false);
      expect(sr['PBDs']).toHaveLength(1);
    }
    // Each host's PBDs are exactly the PBD rows naming it.
    for (const hostRef of db.refs('host')) {
      const expected = db.find('PBD', (p) => p['host'] === hostRef).map(([ref]) => ref).sort();
      expect([...(db.getRecord('host', hostRef)['PBDs'] as string[])].sort()).toEqual(expected);
    }
  });

  it('returns fields with API names and wire types', () => {
    const master = db.getRecord('host', db.masterRef());
    expect(master['API_version_major']).toBe(2);
    expect(master['name__label']).toBeUndefined();
    expect(typeof master['other_config']).toBe('object');
    expect(Array.isArray(master['tags'])).toBe(true);
    expect((master['software_version'] as Record<string, string>)['product_brand']).toBe('XenServer');
    expect(typeof (master['other_config'] as Record<string, string>)['iscsi_iqn']).toBe('string');

    const [, dom0] = db.find('VM', (vm) => vm['is_control_domain'] === true)[0]!;
    expect(typeof dom0['memory_static_max']).toBe('number');
    expect(dom0['domid']).toBe(0);
    expect(dom0['HVM_shadow_multiplier']).toBe(1);
    expect(dom0['metrics']).toMatch(/^OpaqueRef:/);

    const [, vbd] = db.find('VBD', () => true)[0]!;
    expect(typeof vbd['userdevice']).toBe('string');
    expect(typeof vbd['currently_attached']).toBe('boolean');

    expect(db.getRecord('pool', db.poolRef())['wlb_password']).toBeUndefined();
    expect(master['boot_free_mem']).toBeUndefined();
  });

  it('restores whitespace XAPI escaped in the dump', () => {
    const [, cpu] = db.find('host_cpu', () => true)[0]!;
    expect(cpu['modelname']).toBe('Intel(R) Core(TM)2 CPU          6420  @ 2.13GHz');
  });

  it('gives every host a live host_metrics row', () => {
    for (const hostRef of db.refs('host')) {
      const metrics = db.getRecord('host_metrics', db.getRecord('host', hostRef)['metrics'] as string);
      expect(metrics['live']).toBe(true);
      expect(metrics['memory_total'] as number).toBeGreaterThan(metrics['memory_free'] as number);
    }
  });

  it('turns empty refs into OpaqueRef:NULL', () => {
    // Old dumps write an empty CD drive's VDI as ''; the API reports the null ref.
    const emptyInDump = xml.match(/ VDI=""/g)?.length ?? 0;
    for (const [, vbd] of db.find('VBD', () => true)) expect(vbd['VDI']).not.toBe('');
    expect(db.find('VBD', (v) => v['VDI'] === NULL_REF)).toHaveLength(emptyInDump);
  });
});

describe('loadPoolDump(boston-db.xml) stored set fields', () => {
  it('computes the same host.resident_VMs the dump stored', () => {
    const xml = readFileSync(sharedDumpFile('boston-db.xml'), 'utf8');
    const db = loadPoolDump(xml);
    const stored = [...xml.matchAll(/<row ref="(OpaqueRef:[^"]+)"[^>]*?resident_VMs="([^"]*)"/g)];
    expect(stored).toHaveLength(2);
    for (const [, hostRef, set] of stored) {
      const fromDump = [...set!.matchAll(/'(OpaqueRef:[^']+)'/g)].map((m) => m[1]).sort();
      expect([...(db.getRecord('host', hostRef!)['resident_VMs'] as string[])].sort()).toEqual(fromDump);
    }
  });
});
