import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { applySplitBrain, findSplitBrainEvidence, isConnected, isSyncing, stateFromDrbdStatus, stateFromEvents2, stateFromProc } from './drbd-state.js';
import { parseDrbdStatus } from './parse-drbd-status.js';
import { parseEvents2 } from './parse-drbd-events2.js';
import { parseProcDrbd } from './parse-proc-drbd.js';

/**
 * The whole common shape each reader builds, field by field: every expected value below is read
 * off the capture (or the hand-written input) by eye, not computed by the code under test. Sources
 * of the captures: __fixtures__/SOURCES.md.
 */
const fixture = (name: string) => readFile(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
const NONE = SplitBrainState.SPLIT_BRAIN_STATE_NONE;
const DETECTED = SplitBrainState.SPLIT_BRAIN_STATE_DETECTED;
const proc = async (name: string) => {
  const r = parseProcDrbd(await fixture(name)).resources[0];
  if (r === undefined) throw new Error(`${name}: no resource`);
  return r;
};

describe('stateFromProc (DRBD 8.x /proc/drbd)', () => {
  it('8.4.0 Connected: Established, no peer name (8.x does not give one), oos 0', async () => {
    // ` 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----` ... `oos:0`
    expect(stateFromProc(await proc('proc-drbd-84.txt'), 'r0')).toEqual({
      name: 'r0', minor: 0, role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate',
      connection: 'Connected', replication: 'Established', peer: '', splitBrain: NONE, splitBrainEvidence: '', oosKib: 0,
    });
  });

  it('8.4.0 StandAlone after a split brain: no replication state', async () => {
    // ` 0: cs:StandAlone ro:Secondary/Unknown ds:UpToDate/DUnknown   r-----` ... `oos:76`
    const s = stateFromProc(await proc('proc-drbd-84-split-brain-node1.txt'), 'r0');
    expect(s).toEqual({
      name: 'r0', minor: 0, role: 'Secondary', peerRole: 'Unknown', disk: 'UpToDate', peerDisk: 'DUnknown',
      connection: 'StandAlone', replication: '', peer: '', splitBrain: NONE, splitBrainEvidence: '', oosKib: 76,
    });
    expect([isConnected(s), isSyncing(s)]).toEqual([false, false]);
  });

  it('8.3.8 SyncSource: the connection state is the replication state, with the sync percentage', async () => {
    // `cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent` ... `oos:301729988`, `sync'ed: 42.4%`
    const s = stateFromProc(await proc('proc-drbd-83-syncing.txt'), 'r0');
    expect(s).toEqual({
      name: 'r0', minor: 0, role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'Inconsistent',
      connection: 'SyncSource', replication: 'SyncSource', peer: '', splitBrain: NONE, splitBrainEvidence: '', syncPercent: 42.4, oosKib: 301729988,
    });
    expect([isConnected(s), isSyncing(s)]).toEqual([true, true]);
  });

  it('8.3.7 WFConnection (waiting for the peer): neither connected nor replicating', async () => {
    const s = stateFromProc(await proc('proc-drbd-837-wfconnection.txt'), 'r0');
    expect(s).toEqual({
      name: 'r0', minor: 0, role: 'Primary', peerRole: 'Unknown', disk: 'UpToDate', peerDisk: 'DUnknown',
      connection: 'WFConnection', replication: '', peer: '', splitBrain: NONE, splitBrainEvidence: '', oosKib: 239648,
    });
    expect([isConnected(s), isSyncing(s)]).toEqual([false, false]);
  });

  it('8.3.7 `cs:Unconfigured` alone: the role reads Unconfigured, also from a record without a role', async () => {
    const rec = await proc('proc-drbd-837-unconfigured.txt');
    const want = { name: 'r0', minor: 0, role: 'Unconfigured', peerRole: '', disk: '', peerDisk: '', connection: 'Unconfigured', replication: '', peer: '', splitBrain: NONE, splitBrainEvidence: '' };
    expect(stateFromProc(rec, 'r0')).toEqual(want);
    expect(stateFromProc({ ...rec, role: '' }, 'r0')).toEqual(want);
    // Any other connection state keeps an empty role empty.
    const standAlone = await proc('proc-drbd-84-split-brain-node1.txt');
    expect(stateFromProc({ ...standAlone, role: '' }, 'r0').role).toBe('');
  });
});

describe('isSyncing', () => {
  it('DRBD 9 says it in the replication state while the connection reads Connected', async () => {
    const s = stateFromDrbdStatus(parseDrbdStatus(await fixture('drbdadm-status-syncing.txt'))[0]!);
    expect([s.connection, s.replication, isSyncing(s)]).toEqual(['Connected', 'SyncSource', true]);
  });
  it('an 8.4 Connected resource is not syncing', async () => {
    expect(isSyncing(stateFromProc(await proc('proc-drbd-84.txt'), 'r0'))).toBe(false);
  });
});

describe('stateFromEvents2: volume 0 and the first peer', () => {
  it('takes volume 0 and its peer device wherever they are listed', () => {
    const text = [
      'exists resource name:r0 role:Secondary suspended:no',
      'exists connection name:r0 peer-node-id:1 conn-name:xs2 connection:Connected role:Primary',
      'exists device name:r0 volume:1 minor:8 disk:Inconsistent client:no',
      'exists device name:r0 volume:0 minor:7 disk:UpToDate client:no',
      'exists peer-device name:r0 peer-node-id:1 conn-name:xs2 volume:1 replication:SyncTarget peer-disk:UpToDate done:10.00',
      'exists peer-device name:r0 peer-node-id:1 conn-name:xs2 volume:0 replication:Established peer-disk:UpToDate',
    ].join('\n');
    expect(stateFromEvents2(parseEvents2(text)[0]!)).toEqual({
      name: 'r0', minor: 7, role: 'Secondary', peerRole: 'Primary', disk: 'UpToDate', peerDisk: 'UpToDate',
      connection: 'Connected', replication: 'Established', peer: 'xs2', splitBrain: NONE, splitBrainEvidence: '',
    });
  });

  it('without a volume 0, the first device and the first peer\'s own peer device (not another peer\'s)', () => {
    const text = [
      'exists resource name:r1 role:Primary suspended:no',
      'exists connection name:r1 peer-node-id:2 conn-name:xs3 connection:Connected role:Secondary',
      'exists connection name:r1 peer-node-id:3 conn-name:xs4 connection:Connected role:Secondary',
      'exists device name:r1 volume:1 minor:9 disk:UpToDate client:no',
      'exists peer-device name:r1 peer-node-id:3 conn-name:xs4 volume:1 replication:Established peer-disk:Outdated',
      'exists peer-device name:r1 peer-node-id:2 conn-name:xs3 volume:1 replication:SyncSource peer-disk:Inconsistent done:33.30 out-of-sync:1024',
    ].join('\n');
    expect(stateFromEvents2(parseEvents2(text)[0]!)).toEqual({
      name: 'r1', minor: 9, role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'Inconsistent',
      connection: 'Connected', replication: 'SyncSource', peer: 'xs3', splitBrain: NONE, splitBrainEvidence: '', syncPercent: 33.3, oosKib: 1024,
    });
  });

  it('a resource without connections is StandAlone with an unknown peer', () => {
    const s = stateFromEvents2(parseEvents2('exists resource name:solo role:Secondary\nexists device name:solo volume:0 minor:3 disk:Inconsistent\n')[0]!);
    expect(s).toEqual({
      name: 'solo', minor: 3, role: 'Secondary', peerRole: 'Unknown', disk: 'Inconsistent', peerDisk: 'DUnknown',
      connection: 'StandAlone', replication: '', peer: '', splitBrain: NONE, splitBrainEvidence: '',
    });
  });

  it('a stream joined late (a change line alone): what it has not said reads empty or unknown', () => {
    expect(stateFromEvents2(parseEvents2('change connection name:r3 peer-node-id:1\n')[0]!)).toEqual({
      name: 'r3', minor: 0, role: '', peerRole: 'Unknown', disk: '', peerDisk: 'DUnknown',
      connection: '', replication: '', peer: '', splitBrain: NONE, splitBrainEvidence: '',
    });
  });

  it('the split-brain helper call is the evidence, and applySplitBrain keeps it over a kernel line', () => {
    const text = [
      'exists resource name:r0 role:Primary suspended:no',
      'exists connection name:r0 peer-node-id:1 conn-name:xs2 connection:Connected role:Secondary',
      'exists device name:r0 volume:0 minor:7 disk:UpToDate client:no',
      'call helper name:r0 peer-node-id:1 conn-name:xs2 volume:0 helper:split-brain',
      'change connection name:r0 peer-node-id:1 conn-name:xs2 connection:StandAlone role:Unknown',
    ].join('\n');
    const s = stateFromEvents2(parseEvents2(text)[0]!);
    expect([s.connection, s.splitBrain, s.splitBrainEvidence]).toEqual(['StandAlone', DETECTED, 'events2: call helper split-brain']);
    applySplitBrain(s, 'kernel: drbd r0/0 drbd7 xs2: Split-Brain detected but unresolved, dropping connection!');
    expect([s.splitBrain, s.splitBrainEvidence]).toEqual([DETECTED, 'events2: call helper split-brain']);
  });
});

describe('stateFromDrbdStatus: volume 0 and the first peer', () => {
  it('a StandAlone peer without volume lines: no replication, peer disk unknown (LINSTOR capture)', async () => {
    expect(stateFromDrbdStatus(parseDrbdStatus(await fixture('drbdadm-status-standalone.txt'))[0]!)).toEqual({
      name: 'mydata', minor: 0, role: 'Primary', peerRole: 'Unknown', disk: 'UpToDate', peerDisk: 'DUnknown',
      connection: 'StandAlone', replication: '', peer: 'node-02', splitBrain: NONE, splitBrainEvidence: '',
    });
  });

  it('a resource with no peer at all is StandAlone; one with nothing known reads empty', () => {
    expect(stateFromDrbdStatus(parseDrbdStatus('r0 role:Secondary\n  disk:UpToDate\n')[0]!)).toEqual({
      name: 'r0', minor: 0, role: 'Secondary', peerRole: 'Unknown', disk: 'UpToDate', peerDisk: 'DUnknown',
      connection: 'StandAlone', replication: '', peer: '', splitBrain: NONE, splitBrainEvidence: '',
    });
    expect(stateFromDrbdStatus(parseDrbdStatus('r9\n')[0]!)).toMatchObject({ name: 'r9', role: '', disk: '', connection: 'StandAlone' });
  });

  it('volume 0 wherever listed; a connected peer volume without a replication state is Established', () => {
    const text = [
      'r0 role:Primary',
      '  volume:1 minor:2 disk:Inconsistent',
      '  volume:0 minor:1 disk:UpToDate',
      '  xs2 role:Secondary',
      '    volume:1 replication:SyncSource peer-disk:Inconsistent done:5.00',
      '    volume:0 peer-disk:UpToDate',
      '  xs3 role:Secondary',
      '',
    ].join('\n');
    expect(stateFromDrbdStatus(parseDrbdStatus(text)[0]!)).toEqual({
      name: 'r0', minor: 1, role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate',
      connection: 'Connected', replication: 'Established', peer: 'xs2', splitBrain: NONE, splitBrainEvidence: '',
    });
  });

  it('a connected peer with no volume lines: Established, peer disk not given', () => {
    expect(stateFromDrbdStatus(parseDrbdStatus('r0 role:Primary\n  disk:UpToDate\n  xs2 role:Secondary\n')[0]!)).toEqual({
      name: 'r0', minor: 0, role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: '',
      connection: 'Connected', replication: 'Established', peer: 'xs2', splitBrain: NONE, splitBrainEvidence: '',
    });
  });
});

describe('split-brain evidence in the kernel log', () => {
  const words = 'block drbd1: Split-Brain detected but unresolved, dropping connection!';

  it('DRBD 8.3 (forum capture): `Split-Brain detected, dropping connection!`, 7-digit printk stamp, no later handshake', async () => {
    const log = await fixture('kern-log-83-split-brain-forum.txt');
    const hit = 'Apr  6 00:09:32 node1 kernel: [7705431.772769] block drbd0: Split-Brain detected, dropping connection!';
    expect(findSplitBrainEvidence(log, 'r0', 0)).toBe(hit);
    expect(findSplitBrainEvidence(log, 'r1', 1)).toBeNull();
    // The node's /proc/drbd at that moment is StandAlone: the split brain is current.
    const s = applySplitBrain(stateFromProc(await proc('proc-drbd-84-split-brain-node1.txt'), 'r0'), log);
    expect([s.splitBrain, s.splitBrainEvidence]).toEqual([DETECTED, hit]);
  });

  it('a split brain solved at the handshake (--discard-my-data, after-sb policies) is no evidence', () => {
    // From the "DRBD split-brain in Pacemaker" post (DRBD 8.3.7), after the manual recovery.
    expect(findSplitBrainEvidence('kernel: [546691.539227] block drbd0: Split-Brain detected, manually solved. Sync from this node', 'r0', 0)).toBeNull();
    expect(findSplitBrainEvidence('kernel: block drbd0: Split-Brain detected, 1 primaries, automatically solved. Sync from peer node', 'r0', 0)).toBeNull();
  });

  it('printk pads the uptime to five digits: `[   42.731204]`, `[7705431.772769]`', () => {
    for (const line of [`Dec  5 06:14:07 xs1 kernel: [   42.731204] ${words}`, `Dec  5 06:14:07 xs1 kernel: [123456.000001] ${words}`]) {
      expect(findSplitBrainEvidence(line, 'iscsi1', 1)).toBe(line);
    }
  });

  it('whitespace runs between the syslog fields are still the kernel\'s line', () => {
    const line = `Dec  5  06:14:07  xs1  kernel:  [ 5021.443123]  ${words}`;
    expect(findSplitBrainEvidence(line, 'iscsi1', 1)).toBe(line);
  });

  it('`kernel:` later in another program\'s line is no evidence (logger -t alice "kernel: ...")', () => {
    expect(findSplitBrainEvidence(`Dec  5 06:14:07 xs1 alice: kernel: ${words}`, 'iscsi1', 1)).toBeNull();
  });

  it('a log with CRLF line ends: the evidence is the line without its CR', () => {
    expect(findSplitBrainEvidence(`kernel: ${words}\r\nkernel: block drbd1: receiver terminated\r\n`, 'iscsi1', 1)).toBe(`kernel: ${words}`);
  });

  it('the resource name is matched literally, not as a pattern', () => {
    const line = 'kernel: drbd r.0/0 drbd1 xs2: Split-Brain detected but unresolved, dropping connection!';
    expect(findSplitBrainEvidence(line, 'r.0', 1)).toBe(line);
    expect(findSplitBrainEvidence(line.replace('r.0', 'rx0'), 'r.0', 1)).toBeNull();
  });
});

describe('applySplitBrain', () => {
  it('a connected resource is not split, whatever the log or the events said before', async () => {
    const s = { ...stateFromProc(await proc('proc-drbd-84.txt'), 'r0'), splitBrain: DETECTED, splitBrainEvidence: 'events2: call helper split-brain' };
    applySplitBrain(s, 'kernel: block drbd0: Split-Brain detected but unresolved, dropping connection!');
    expect([s.splitBrain, s.splitBrainEvidence]).toEqual([NONE, '']);
  });

  it('a StandAlone resource without the kernel\'s words stays not split', async () => {
    const s = applySplitBrain(stateFromProc(await proc('proc-drbd-84-split-brain-node1.txt'), 'r0'), 'kernel: block drbd0: conn( Disconnecting -> StandAlone )');
    expect([s.splitBrain, s.splitBrainEvidence]).toEqual([NONE, '']);
  });
});
