import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { applySplitBrain, findSplitBrainEvidence, isConnected, stateFromDrbdStatus, stateFromEvents2, stateFromProc } from './drbd-state.js';
import { parseDrbdStatus } from './parse-drbd-status.js';
import { parseEvents2 } from './parse-drbd-events2.js';
import { parseProcDrbd } from './parse-proc-drbd.js';

const fixture = (name: string) => readFile(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

describe('drbdadm status (DRBD 9)', () => {
  it('reads a resync from the SyncSource side', async () => {
    const [r] = parseDrbdStatus(await fixture('drbdadm-status-syncing.txt'));
    expect(r?.name).toBe('single');
    const s = stateFromDrbdStatus(r!);
    expect(s).toMatchObject({ name: 'single', role: 'Primary', disk: 'UpToDate', peer: 'opensuse-node2', peerRole: 'Secondary', connection: 'Connected', replication: 'SyncSource', peerDisk: 'Inconsistent', syncPercent: 96.47 });
  });

  it('reads two resources with two volumes and three nodes; the shape takes volume 0 and the first peer', async () => {
    const parsed = parseDrbdStatus(await fixture('drbdadm-status-multivolume.txt'));
    expect(parsed.map((r) => r.name)).toEqual(['res', 'test']);
    expect(parsed[0]?.volumes.map((v) => [v.volume, v.fields['disk']])).toEqual([
      [0, 'UpToDate'],
      [1, 'UpToDate'],
    ]);
    expect(parsed[0]?.peers.map((p) => [p.name, p.fields['role'], p.volumes.length])).toEqual([
      ['node2', 'Secondary', 2],
      ['node3', 'Secondary', 2],
    ]);
    expect(stateFromDrbdStatus(parsed[1]!)).toMatchObject({ name: 'test', role: 'Primary', disk: 'UpToDate', peer: 'node2', peerDisk: 'UpToDate', connection: 'Connected', replication: 'Established' });
  });

  it('reads a StandAlone peer (and disk: on the resource line)', async () => {
    const s = stateFromDrbdStatus(parseDrbdStatus(await fixture('drbdadm-status-standalone.txt'))[0]!);
    expect(s).toMatchObject({ role: 'Primary', disk: 'UpToDate', peer: 'node-02', connection: 'StandAlone', peerRole: 'Unknown', peerDisk: 'DUnknown' });
    expect(isConnected(s)).toBe(false);
  });

  it('keeps --verbose --statistics lines with their objects and ignores colour', () => {
    const text = [
      '\x1b[1miscsi1\x1b[0m node-id:0 role:\x1b[1;36mPrimary\x1b[0m suspended:no',
      '    write-ordering:flush',
      '  volume:0 minor:1 disk:UpToDate quorum:yes',
      '      size:1048576 read:0 written:512 al-writes:0 bm-writes:0 upper-pending:0 lower-pending:0',
      '  xcp2 node-id:1 connection:Connected role:Secondary congested:no',
      '    volume:0 replication:SyncSource peer-disk:Inconsistent done:12.50 resync-suspended:no',
      '        received:0 sent:131072 out-of-sync:917504 pending:0 unacked:0',
      '',
    ].join('\n');
    const [r] = parseDrbdStatus(text);
    expect(r?.fields).toMatchObject({ 'node-id': '0', role: 'Primary', 'write-ordering': 'flush' });
    expect(stateFromDrbdStatus(r!)).toMatchObject({ minor: 1, role: 'Primary', peer: 'xcp2', replication: 'SyncSource', syncPercent: 12.5, oosKib: 917504 });
  });
});

describe('drbdsetup events2 --now (DRBD 9)', () => {
  it('reads a three-node capture with statistics', async () => {
    const [r] = parseEvents2(await fixture('events2-now-statistics.txt'));
    expect(r?.connections.size).toBe(2);
    const s = stateFromEvents2(r!);
    expect(s).toMatchObject({ name: 'drbd1', minor: 1, role: 'Secondary', disk: 'UpToDate', peer: 'central-2004', peerRole: 'Primary', connection: 'Connected', replication: 'Established', peerDisk: 'UpToDate', oosKib: 0 });
  });

  it('reads timestamped lines and a running resync', async () => {
    const s = stateFromEvents2(parseEvents2(await fixture('events2-timestamps-syncsource.txt'))[0]!);
    expect(s).toMatchObject({ name: 'test0', minor: 0, role: 'Primary', peer: 'peer', replication: 'SyncSource', peerDisk: 'Inconsistent', oosKib: 205655500 });
  });

  it('applies change/destroy lines in order and notices the split-brain helper', () => {
    const text = [
      'exists resource name:r0 role:Primary suspended:no',
      'exists connection name:r0 peer-node-id:1 conn-name:xs2 connection:Connected role:Secondary',
      'exists device name:r0 volume:0 minor:7 disk:UpToDate client:no',
      'exists peer-device name:r0 peer-node-id:1 conn-name:xs2 volume:0 replication:Established peer-disk:UpToDate',
      'exists -',
      'change connection name:r0 peer-node-id:1 conn-name:xs2 connection:Connecting role:Unknown',
      'destroy peer-device name:r0 peer-node-id:1 conn-name:xs2 volume:0',
      'call helper name:r0 peer-node-id:1 conn-name:xs2 volume:0 helper:split-brain',
      'change connection name:r0 peer-node-id:1 conn-name:xs2 connection:StandAlone',
    ].join('\n');
    const s = stateFromEvents2(parseEvents2(text)[0]!);
    expect(s).toMatchObject({ minor: 7, connection: 'StandAlone', peerRole: 'Unknown', peerDisk: 'DUnknown', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED });
  });

  it('treats a resource without connections as StandAlone', () => {
    const s = stateFromEvents2(parseEvents2('exists resource name:solo role:Secondary\nexists device name:solo volume:0 minor:3 disk:Inconsistent\n')[0]!);
    expect(s).toMatchObject({ connection: 'StandAlone', peerDisk: 'DUnknown', disk: 'Inconsistent' });
  });
});

describe('split-brain detection', () => {
  it('flags the StandAlone node whose kernel reported the split brain (8.4 captures)', async () => {
    const proc = parseProcDrbd(await fixture('proc-drbd-84-split-brain-node1.txt'));
    const s = applySplitBrain(stateFromProc(proc.resources[0]!, 'r0'), await fixture('kern-log-84-split-brain.txt'));
    expect(s.splitBrain).toBe(SplitBrainState.SPLIT_BRAIN_STATE_DETECTED);
    expect(s.splitBrainEvidence).toBe('Mar  7 15:38:05 node1 kernel: block drbd0: Split-Brain detected but unresolved, dropping connection!');
  });

  it('matches by minor or by resource name, not other devices', async () => {
    const log = await fixture('messages-84-split-brain.txt');
    expect(findSplitBrainEvidence(log, 'drbd', 0)).toMatch(/block drbd0: Split-Brain detected but unresolved/);
    expect(findSplitBrainEvidence(log, 'iscsi1', 1)).toBeNull();
    expect(findSplitBrainEvidence('kernel: drbd iscsi1/0 drbd1 xcp2: Split-Brain detected but unresolved, dropping connection!', 'iscsi1', 1)).not.toBeNull();
  });

  it('forgets a split brain after a later handshake, and ignores auto-resolved ones', () => {
    const log = ['kernel: block drbd1: Split-Brain detected but unresolved, dropping connection!', 'kernel: block drbd1: conn( WFReportParams -> Connected ) pdsk( DUnknown -> UpToDate )'].join('\n');
    expect(findSplitBrainEvidence(log, 'iscsi1', 1)).toBeNull();
    expect(findSplitBrainEvidence('kernel: block drbd1: Split-Brain detected, 1 primaries, automatically solved. Sync from peer node', 'iscsi1', 1)).toBeNull();
  });

  it('takes only lines the kernel tagged: the same words from another program are no evidence', () => {
    const words = 'block drbd1: Split-Brain detected but unresolved, dropping connection!';
    for (const forged of [
      // anyone on the network: sshd logs the user name it was offered
      `Mar  7 15:38:05 node1 sshd[811]: Invalid user ${words} from 10.0.0.9 port 4242`,
      // any local user: logger's default tag is the user name
      `Mar  7 15:38:05 node1 alice: ${words}`,
      // the words later in a kernel line, not as its message
      `Mar  7 15:38:05 node1 kernel: usb 1-1: product: ${words}`,
      // no tag at all
      words,
    ]) {
      expect({ forged, evidence: findSplitBrainEvidence(forged, 'iscsi1', 1) }).toEqual({ forged, evidence: null });
    }
    // The kernel's own lines, with and without printk's uptime stamp, traditional or ISO time.
    for (const real of [
      `Mar  7 15:38:05 node1 kernel: ${words}`,
      `Mar  7 15:38:05 node1 kernel: [ 5021.443123] ${words}`,
      `2026-12-04T10:11:12.123456+00:00 node1 kernel: ${words}`,
      'kernel: drbd iscsi1/0 drbd1 xcp2: Split-Brain detected but unresolved, dropping connection!',
    ]) {
      expect(findSplitBrainEvidence(real, 'iscsi1', 1)).toBe(real);
    }
    // 8.4 logs the connection under d-con: a later handshake there ends the split brain.
    expect(findSplitBrainEvidence([`kernel: ${words}`, 'kernel: d-con iscsi1: conn( WFReportParams -> Connected ) '].join('\n'), 'iscsi1', 1)).toBeNull();
  });

  it('does not call a connected resource split', async () => {
    const proc = parseProcDrbd(await fixture('proc-drbd-84.txt'));
    const s = applySplitBrain(stateFromProc(proc.resources[0]!, 'r0'), 'block drbd0: Split-Brain detected but unresolved, dropping connection!');
    expect(s.splitBrain).toBe(SplitBrainState.SPLIT_BRAIN_STATE_NONE);
  });
});
