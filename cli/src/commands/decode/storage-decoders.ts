import { stateFromDrbdStatus, stateFromEvents2 } from '@xsctl/agent/drbd/drbd-state';
import { parseDrbdStatus } from '@xsctl/agent/drbd/parse-drbd-status';
import { parseEvents2 } from '@xsctl/agent/drbd/parse-drbd-events2';
import { parseProcDrbd } from '@xsctl/agent/drbd/parse-proc-drbd';
import { parseTgtadmShow, type TgtTarget } from '@xsctl/agent/target/parse-tgtadm-show';
import { SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { CliError } from '../../output/cli-error.js';
import { formatTable } from '../../output/output.js';
import { registerDecoder } from './decoder-table.js';

/** `xsctl decode proc-drbd --json`: these names are a contract (scripts read them). */
export interface ProcDrbdJson {
  version: string | null;
  resources: {
    minor: number;
    cstate: string;
    role: string;
    peerRole: string;
    disk: string;
    peerDisk: string;
    protocol: string;
    oos: number | null;
    sync: { percent: number; finishSeconds: number | null; speedKiBs: number | null } | null;
  }[];
}

export function decodeProcDrbd(input: string): ProcDrbdJson {
  const p = parseProcDrbd(input);
  if (p.version === null && p.resources.length === 0) throw new CliError('DECODE_FAILED', 'no /proc/drbd content found', 'paste the output of `cat /proc/drbd`');
  return {
    version: p.version,
    resources: p.resources.map((r) => ({
      minor: r.minor,
      cstate: r.cstate,
      role: r.role,
      peerRole: r.peerRole,
      disk: r.disk,
      peerDisk: r.peerDisk,
      protocol: r.protocol,
      oos: r.oos,
      sync: r.sync === null ? null : { percent: r.sync.percent, finishSeconds: r.sync.finishSeconds, speedKiBs: r.sync.speedKiBs },
    })),
  };
}

/** The common DRBD shape (what the agent reports), with the split-brain state as a word. */
export interface DrbdStateJson {
  name: string;
  minor: number;
  role: string;
  peerRole: string;
  disk: string;
  peerDisk: string;
  connection: string;
  replication: string;
  peer: string;
  syncPercent: number | null;
  oosKib: number | null;
  splitBrain: 'none' | 'detected';
}

export function stateJson(s: DrbdResourceState): DrbdStateJson {
  return {
    name: s.name,
    minor: s.minor,
    role: s.role,
    peerRole: s.peerRole,
    disk: s.disk,
    peerDisk: s.peerDisk,
    connection: s.connection,
    replication: s.replication,
    peer: s.peer,
    syncPercent: s.syncPercent ?? null,
    oosKib: s.oosKib ?? null,
    splitBrain: s.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED ? 'detected' : 'none',
  };
}

const pair = (a: string, b: string) => `${a || '?'}/${b || '?'}`;

const renderStates = (d: unknown) =>
  formatTable(
    ['RESOURCE', 'MINOR', 'ROLE', 'DISK', 'PEER', 'CONNECTION', 'REPLICATION', 'SYNC %', 'OOS KiB', 'SPLIT BRAIN'],
    (d as { resources: DrbdStateJson[] }).resources.map((r) => [r.name, r.minor, pair(r.role, r.peerRole), pair(r.disk, r.peerDisk), r.peer || '-', r.connection, r.replication || '-', r.syncPercent ?? '-', r.oosKib ?? '-', r.splitBrain]),
  );

registerDecoder('proc-drbd', {
  description: '/proc/drbd of DRBD 8.0-8.4 (resync progress, Unconfigured minors)',
  decode: decodeProcDrbd,
  render: (d) => {
    const p = d as ProcDrbdJson;
    const table = formatTable(
      ['MINOR', 'CS', 'ROLE', 'DISK', 'PROTO', 'OOS KiB', 'SYNC %', 'FINISH s', 'SPEED KiB/s'],
      p.resources.map((r) => [r.minor, r.cstate, r.role ? pair(r.role, r.peerRole) : '-', r.disk ? pair(r.disk, r.peerDisk) : '-', r.protocol || '-', r.oos ?? '-', r.sync?.percent ?? '-', r.sync?.finishSeconds ?? '-', r.sync?.speedKiBs ?? '-']),
    );
    return `DRBD ${p.version ?? '(version line missing)'}\n${table}`;
  },
});

registerDecoder('drbd-status', {
  description: '`drbdadm status` / `drbdsetup status` of DRBD 9',
  decode: (input) => {
    const parsed = parseDrbdStatus(input);
    if (parsed.length === 0) throw new CliError('DECODE_FAILED', 'no resource found', 'paste the output of `drbdadm status`');
    return { resources: parsed.map((r) => stateJson(stateFromDrbdStatus(r))) };
  },
  render: renderStates,
});

registerDecoder('drbd-events2', {
  description: '`drbdsetup events2 --now [--statistics]` of DRBD 9',
  decode: (input) => {
    const parsed = parseEvents2(input);
    if (parsed.length === 0) throw new CliError('DECODE_FAILED', 'no resource found', 'paste the output of `drbdsetup events2 --now all`');
    return { resources: parsed.map((r) => stateJson(stateFromEvents2(r))) };
  },
  render: renderStates,
});

registerDecoder('tgtadm-show', {
  description: '`tgtadm --lld iscsi --op show --mode target` (targets, sessions, LUN identity, ACLs)',
  decode: (input) => {
    const targets = parseTgtadmShow(input);
    if (targets.length === 0) throw new CliError('DECODE_FAILED', 'no target found', 'paste the output of `tgtadm --lld iscsi --op show --mode target`');
    return { targets };
  },
  render: (d) => {
    const targets = (d as { targets: TgtTarget[] }).targets;
    const luns = formatTable(
      ['TID', 'TARGET', 'STATE', 'LUN', 'TYPE', 'SCSI ID', 'SCSI SN', 'SIZE MB', 'BACKING STORE'],
      targets.flatMap((t) => t.luns.map((l) => [t.tid, t.iqn, t.state, l.lun, l.type, l.scsiId, l.scsiSn, l.sizeMb, l.backingStorePath || '-'])),
    );
    const sessions = targets.flatMap((t) => t.nexuses.flatMap((n) => n.connections.map((c) => [t.tid, n.nexusId, n.initiator, c.cid, c.ipAddress])));
    const acl = targets.map((t) => `target ${t.tid}: ACL ${t.acls.join(', ') || '(none)'}; CHAP users ${t.accounts.join(', ') || '(none)'}`);
    return `${luns}${sessions.length > 0 ? `\n${formatTable(['TID', 'I_T NEXUS', 'INITIATOR', 'CID', 'FROM'], sessions)}` : '\nno sessions\n'}${acl.join('\n')}\n`;
  },
});
