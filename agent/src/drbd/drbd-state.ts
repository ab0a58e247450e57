import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { ProcDrbdResource } from './parse-proc-drbd.js';
import type { DrbdStatusResource } from './parse-drbd-status.js';
import type { Events2Resource } from './parse-drbd-events2.js';

/** Connection states that mean a resync is running (8.x cs / 9 replication). */
const syncStates = new Set(['SyncSource', 'SyncTarget', 'PausedSyncS', 'PausedSyncT', 'StartingSyncS', 'StartingSyncT', 'WFBitMapS', 'WFBitMapT', 'WFSyncUUID', 'VerifyS', 'VerifyT']);
/** 8.x connection states in which the peer is known and talking to us. */
const connected84 = new Set(['Connected', 'WFReportParams', 'Ahead', 'Behind', ...syncStates]);

function blank(name: string, minor: number): DrbdResourceState {
  return {
    name,
    minor,
    role: '',
    peerRole: '',
    disk: '',
    peerDisk: '',
    connection: '',
    replication: '',
    peer: '',
    splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE,
    splitBrainEvidence: '',
  };
}

/** A /proc/drbd record (8.x) as the common shape; `name` comes from the config (drbdadm sh-minor). */
export function stateFromProc(r: ProcDrbdResource, name: string): DrbdResourceState {
  const s = blank(name, r.minor);
  s.role = r.role || (r.cstate === 'Unconfigured' ? 'Unconfigured' : '');
  s.peerRole = r.peerRole;
  s.disk = r.disk;
  s.peerDisk = r.peerDisk;
  s.connection = r.cstate;
  s.replication = syncStates.has(r.cstate) ? r.cstate : connected84.has(r.cstate) ? 'Established' : '';
  if (r.sync !== null) s.syncPercent = r.sync.percent;
  if (r.oos !== null) s.oosKib = r.oos;
  return s;
}

/** True when the peer is connected (8.x cs or 9 connection state). */
export function isConnected(s: DrbdResourceState): boolean {
  return s.connection === 'Connected' || connected84.has(s.connection);
}

export function isSyncing(s: DrbdResourceState): boolean {
  return syncStates.has(s.replication) || syncStates.has(s.connection);
}

/** `drbdsetup events2 --now` (9) as the common shape: volume 0 and the first peer. */
export function stateFromEvents2(r: Events2Resource): DrbdResourceState {
  const device = r.devices.get(0) ?? [...r.devices.values()][0] ?? {};
  const s = blank(r.name, Number(device['minor'] ?? 0));
  s.role = r.fields['role'] ?? '';
  s.disk = device['disk'] ?? '';
  const [peerId, conn] = [...r.connections.entries()][0] ?? [undefined, undefined];
  if (conn === undefined) {
    s.connection = 'StandAlone';
    s.peerRole = 'Unknown';
    s.peerDisk = 'DUnknown';
    return s;
  }
  s.peer = conn['conn-name'] ?? '';
  s.connection = conn['connection'] ?? '';
  s.peerRole = conn['role'] ?? 'Unknown';
  const pd = r.peerDevices.get(`${peerId}/0`) ?? [...r.peerDevices.entries()].find(([k]) => k.startsWith(`${peerId}/`))?.[1];
  s.replication = pd?.['replication'] ?? '';
  s.peerDisk = pd?.['peer-disk'] ?? 'DUnknown';
  if (pd?.['done'] !== undefined) s.syncPercent = Number(pd['done']);
  if (pd?.['out-of-sync'] !== undefined) s.oosKib = Number(pd['out-of-sync']);
  if (r.helpers.includes('split-brain')) {
    s.splitBrain = SplitBrainState.SPLIT_BRAIN_STATE_DETECTED;
    s.splitBrainEvidence = 'events2: call helper split-brain';
  }
  return s;
}

/** `drbdadm status` (9) as the common shape: volume 0 and the first peer. */
export function stateFromDrbdStatus(r: DrbdStatusResource): DrbdResourceState {
  const vol = r.volumes.find((v) => v.volume === 0) ?? r.volumes[0];
  const s = blank(r.name, Number(vol?.fields['minor'] ?? 0));
  s.role = r.fields['role'] ?? '';
  // Some captures put `disk:` on the resource line itself.
  s.disk = vol?.fields['disk'] ?? r.fields['disk'] ?? '';
  const peer = r.peers[0];
  if (peer === undefined) {
    s.connection = 'StandAlone';
    s.peerRole = 'Unknown';
    s.peerDisk = 'DUnknown';
    return s;
  }
  s.peer = peer.name;
  s.connection = peer.fields['connection'] ?? 'Connected';
  s.peerRole = peer.fields['role'] ?? 'Unknown';
  const pv = peer.volumes.find((v) => v.volume === 0) ?? peer.volumes[0];
  s.replication = pv?.fields['replication'] ?? (s.connection === 'Connected' ? 'Established' : '');
  s.peerDisk = pv?.fields['peer-disk'] ?? (s.connection === 'Connected' ? '' : 'DUnknown');
  if (pv?.fields['done'] !== undefined) s.syncPercent = Number(pv.fields['done']);
  if (pv?.fields['out-of-sync'] !== undefined) s.oosKib = Number(pv.fields['out-of-sync']);
  return s;
}

/**
 * A syslog line the kernel wrote: `[timestamp host ]kernel: [[ uptime] ]MESSAGE`. The program tag
 * must be `kernel` and DRBD's device prefix must open the message: a line from any other program
 * (sshd logging a user name, `logger` without -t kernel) that merely contains DRBD's words is not
 * evidence. (A local root process can still forge `logger -t kernel`; the agent's logs are
 * root-only on a dom0, which is the boundary this relies on.)
 */
const kernelLine = /^(?:(?:[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*)\s+\S+\s+)?kernel:\s+(?:\[\s*\d+\.\d+\]\s+)?(.*)$/;

const escapeRe = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The kernel's own words for a split brain, e.g.
 * `block drbd1: Split-Brain detected but unresolved, dropping connection!` (8.x) or
 * `drbd iscsi1/0 drbd1 xcp2: Split-Brain detected but unresolved, dropping connection!` (9),
 * in a line tagged `kernel` (kernelLine). Returns the last matching line for this resource/minor,
 * unless a handshake (`conn( ... -> Connected )`) for it came later.
 */
export function findSplitBrainEvidence(log: string, name: string, minor: number): string | null {
  let hit: string | null = null;
  // 8.x: `block drbdN: ` (8.4 connection lines: `d-con NAME: `); 9: `drbd NAME[/VOL][ drbdN][ PEER]: ` (the message opens with the device).
  const ours = new RegExp(`^(?:block drbd${minor}:|d-con ${escapeRe(name)}:|drbd ${escapeRe(name)}(?:/\\d+)?(?: drbd${minor})?(?: [^\\s:]+)?:)\\s`);
  for (const line of log.split('\n')) {
    const message = kernelLine.exec(line.trim())?.[1];
    if (message === undefined || !ours.test(message)) continue;
    // A later successful handshake means that split brain is over.
    if (/->\s*Connected\s*\)/.test(message)) hit = null;
    if (!/Split-Brain detected/i.test(message)) continue;
    // Resolved at the handshake (drbd_receiver.c): `Split-Brain detected, N primaries, automatically
    // solved. Sync from ... node` (after-sb-*pri) or `..., manually solved. Sync from ... node`
    // (--discard-my-data). 8.3 says `Split-Brain detected, dropping connection!`, 8.4/9 `... but
    // unresolved, dropping connection!`: both are evidence.
    if (/automatically solved|manually solved|resolved by/i.test(message) && !/unresolved/i.test(message)) continue;
    hit = line.trim();
  }
  return hit;
}

/** A split brain is current when the resource is StandAlone and the kernel reported one. */
export function applySplitBrain(s: DrbdResourceState, log: string): DrbdResourceState {
  if (s.connection !== 'StandAlone') {
    s.splitBrain = SplitBrainState.SPLIT_BRAIN_STATE_NONE;
    s.splitBrainEvidence = '';
    return s;
  }
  if (s.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED) return s;
  const evidence = findSplitBrainEvidence(log, s.name, s.minor);
  if (evidence !== null) {
    s.splitBrain = SplitBrainState.SPLIT_BRAIN_STATE_DETECTED;
    s.splitBrainEvidence = evidence;
  }
  return s;
}
