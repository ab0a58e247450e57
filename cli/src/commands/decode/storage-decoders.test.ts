import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../output/cli-error.js';
import { getDecoder } from './decoder-table.js';
import './decoders.js';

const drbdFixture = (name: string) => readFileSync(new URL(`../../../../agent/src/drbd/__fixtures__/${name}`, import.meta.url), 'utf8');
const tgtFixture = (name: string) => readFileSync(new URL(`../../../../agent/src/target/__fixtures__/${name}`, import.meta.url), 'utf8');
const decoder = (format: string) => {
  const d = getDecoder(format);
  if (d === undefined) throw new Error(`no decoder ${format}`);
  return d;
};

describe('xsctl decode proc-drbd / drbd-status / drbd-events2 / tgtadm-show', () => {
  it('proc-drbd --json keeps exactly the documented names', () => {
    expect(decoder('proc-drbd').decode(drbdFixture('proc-drbd-83-syncing.txt'))).toEqual({
      version: '8.3.8',
      resources: [
        {
          minor: 0,
          cstate: 'SyncSource',
          role: 'Primary',
          peerRole: 'Secondary',
          disk: 'UpToDate',
          peerDisk: 'Inconsistent',
          protocol: 'C',
          oos: 301729988,
          sync: { percent: 42.4, finishSeconds: 5008, speedKiBs: 60172 },
        },
      ],
    });
    expect(decoder('proc-drbd').decode(drbdFixture('proc-drbd-84.txt'))).toEqual({
      version: '8.4.0',
      resources: [{ minor: 0, cstate: 'Connected', role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate', protocol: 'C', oos: 0, sync: null }],
    });
  });

  it('proc-drbd renders a table and refuses input that is not /proc/drbd', () => {
    const d = decoder('proc-drbd');
    expect(d.render?.(d.decode(drbdFixture('proc-drbd-84-split-brain-node1.txt')))).toMatch(/^DRBD 8\.4\.0\nMINOR +CS +ROLE.*\n0 +StandAlone +Secondary\/Unknown +UpToDate\/DUnknown +- +76/);
    expect(() => d.decode('hello\n')).toThrow(CliError);
  });

  it('drbd-status and drbd-events2 give the common DRBD shape', () => {
    expect(decoder('drbd-status').decode(drbdFixture('drbdadm-status-syncing.txt'))).toEqual({
      resources: [{ name: 'single', minor: 0, role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'Inconsistent', connection: 'Connected', replication: 'SyncSource', peer: 'opensuse-node2', syncPercent: 96.47, oosKib: null, splitBrain: 'none' }],
    });
    const ev = decoder('drbd-events2').decode(drbdFixture('events2-now-statistics.txt')) as { resources: { name: string; peerRole: string; oosKib: number }[] };
    expect(ev.resources).toEqual([expect.objectContaining({ name: 'drbd1', peerRole: 'Primary', oosKib: 0 })]);
    expect(decoder('drbd-events2').render?.(ev)).toMatch(/drbd1 +1 +Secondary\/Primary +UpToDate\/UpToDate +central-2004 +Connected +Established/);
  });

  it('tgtadm-show lists LUN identity, sessions and ACLs', () => {
    const d = decoder('tgtadm-show');
    const decoded = d.decode(tgtFixture('tgtadm-show-session-1.0.85.txt')) as { targets: { luns: { scsiSn: string }[] }[] };
    expect(decoded.targets[0]?.luns.map((l) => l.scsiSn)).toEqual(['beaf10', 'XS0000000001']);
    const text = d.render?.(decoded) ?? '';
    expect(text).toMatch(/1 +1 +iqn\.2008-11\.org\.linux-kvm:xcp1 +0 +10\.98\.0\.2/);
    expect(text).toContain('target 1: ACL 10.98.0.0/24, iqn.2008-11.org.linux-kvm:xcp1; CHAP users xsinit');
  });
});
