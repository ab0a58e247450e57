import { describe, expect, it } from 'vitest';
import { StorageSetupOptions, type StorageSetupSpec } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import { firewallPorts, pairHosts, splitSecrets, withSecrets } from './setup-spec.js';

const spec = (o: Partial<StorageSetupSpec> = {}): StorageSetupSpec =>
  StorageSetupOptions.fromJSON({
    pool: 'hc1',
    spec: {
      drbd: [
        { name: 'iscsi1', minor: 1, sharedSecret: 'drbd-s3cret', nodes: [{ hostname: 'XCP1', disk: '/dev/sdb', address: '10.10.10.1', port: 7789 }, { hostname: 'XCP2', disk: '/dev/sdc', address: '10.10.10.2', port: 7789 }] },
        { name: 'iscsi2', minor: 2, nodes: [{ hostname: 'XCP1', disk: '/dev/sdd', address: '10.10.10.1' }, { hostname: 'XCP2', disk: '/dev/sde', address: '10.10.10.2', port: 7790 }] },
      ],
      storage: { drbdResources: ['iscsi1'], target: { tid: 1, iqn: 'iqn.2013-05.com.example:ha', incomingUser: { user: 'xsinit', password: 'chap-s3cret' } } },
      ...o,
    },
  }).spec!;

// The how-to's pool: XCP1 is the pool master; the pool lists it second here.
const pool = [
  { name: 'xcp-2', hostname: 'xcp2', isMaster: false },
  { name: 'xcp-1', hostname: 'xcp1', isMaster: true },
];

describe('the setup spec', () => {
  it('pairs each pool host with its `on NAME` section (hostnames compare case-blind), master first, sync from the master by default', () => {
    const { hosts, syncFrom } = pairHosts(spec(), pool);
    expect(hosts).toEqual([
      { name: 'xcp-1', hostname: 'xcp1', isMaster: true, disks: ['/dev/sdb', '/dev/sdd'] },
      { name: 'xcp-2', hostname: 'xcp2', isMaster: false, disks: ['/dev/sdc', '/dev/sde'] },
    ]);
    expect(syncFrom).toBe('xcp-1');
    expect(pairHosts(spec({ syncFrom: 'xcp-2' }), pool).syncFrom).toBe('xcp-2');
  });

  it('refuses what the agents cannot see alone: a third host, a host that is no DRBD node, an unknown sync source', () => {
    expect(() => pairHosts(spec(), [...pool, { name: 'xcp-3', hostname: 'xcp3', isMaster: false }])).toThrow(/two-node pool.*3 hosts/);
    expect(() => pairHosts(spec(), [pool[1]!, { name: 'xcp-9', hostname: 'xcp9', isMaster: false }])).toThrow(/xcp-9 \(hostname xcp9\) is not a node of resource iscsi1/);
    expect(() => pairHosts(spec({ syncFrom: 'xcp-7' }), pool)).toThrow(/xcp-7 is not one of xcp-1, xcp-2/);
  });

  it('journals no secret: both are taken out and put back exactly', () => {
    const original: StorageSetupOptions = { pool: 'hc1', spec: spec(), createMd: true, wipeSignatures: false };
    const { options, secrets } = splitSecrets(original);
    const journaled = JSON.stringify(StorageSetupOptions.toJSON(options));
    expect(journaled).not.toContain('drbd-s3cret');
    expect(journaled).not.toContain('chap-s3cret');
    expect(secrets).toEqual({ drbd: { iscsi1: 'drbd-s3cret' }, chap: 'chap-s3cret' });
    // A resource without a secret stays without one.
    expect(options.spec?.drbd[1]?.sharedSecret).toBe('');
    expect(StorageSetupOptions.toJSON(withSecrets(StorageSetupOptions.fromJSON(JSON.parse(journaled)), secrets))).toEqual(StorageSetupOptions.toJSON(original));
    // The caller's options are not touched.
    expect(original.spec?.drbd[0]?.sharedSecret).toBe('drbd-s3cret');
  });

  it("opens every resource's port, 7789 where drbd.conf gets the default", () => {
    expect(firewallPorts(spec()).sort()).toEqual([7789, 7790]);
    expect(firewallPorts(spec({ firewall: { subnet: '10.10.10.0/24', drbdPorts: [7000], iscsiPort: 0, chain: '' } }))).toEqual([7000]);
  });
});
