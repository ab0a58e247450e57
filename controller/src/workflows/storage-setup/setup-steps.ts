import { DrbdServiceDefinition, DrbdSyntax, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { FloatingIpServiceDefinition, type StorageFirewallSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { MultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import { StepOutcome, StorageRole, StorageServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import type { StorageSetupOptions, StorageSetupSpec } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import type { AgentConnection } from '../../agents/agent-connection.js';
import { realSleep } from '../sleep.js';
import { StorageRoleFailedError } from '../storage/storage-workflow-errors.js';
import { CreateMdNotConfirmedError, SetupRefusedError, SetupStepTimeoutError } from './setup-errors.js';
import { firewallPorts, type PerHostStep, type SetupHost } from './setup-spec.js';

/** One host as a step sees it: the spec with its secrets, and the host's agent. */
export interface HostStepContext {
  host: SetupHost;
  agent: AgentConnection;
  spec: StorageSetupSpec;
  options: StorageSetupOptions;
  signal: AbortSignal;
  progress(data: Record<string, unknown>): void;
}

/** What a dry run says of one step on one host. */
export interface StepPreview {
  changes: boolean;
  detail: string;
  diff?: string;
  /** Why the step would stop the setup as asked (a missing --create-md). */
  problem?: string;
}

export interface HostStep {
  readonly name: PerHostStep;
  plan(h: HostStepContext): Promise<StepPreview>;
  /** Idempotent: each agent call first compares with what the host has, so a re-run continues. */
  run(h: HostStepContext): Promise<Record<string, unknown>>;
}

export function firewallSpec(spec: StorageSetupSpec): StorageFirewallSpec {
  const f = spec.firewall;
  return { subnet: f?.subnet ?? '', drbdPorts: firewallPorts(spec), iscsiPort: f?.iscsiPort ?? 0, chain: f?.chain ?? '' };
}

const drbd = (h: HostStepContext) => h.agent.client(DrbdServiceDefinition);

/** lvm.conf: drbd devices and this host's backing disks filtered out, write_cache_state = 0 (rule 8). */
const lvm: HostStep = {
  name: 'lvm',
  async plan(h) {
    const r = await drbd(h).configureLvmForDrbd({ backingDisks: h.host.disks, confirm: false }, { signal: h.signal });
    return { changes: r.changed, detail: r.changed ? `${r.path}: ${r.filter}` : `${r.path} already filters drbd and ${h.host.disks.join(', ')}` };
  },
  async run(h) {
    const r = await drbd(h).configureLvmForDrbd({ backingDisks: h.host.disks, confirm: true }, { signal: h.signal });
    return { changed: r.changed, path: r.path, filter: r.filter, backup: r.backup };
  },
};

/** The drbd devices blacklisted in multipath (rule 8): multipathd must never claim /dev/drbdN. */
const multipathBlacklist: HostStep = {
  name: 'multipath-blacklist',
  async plan(h) {
    const r = await h.agent.client(MultipathServiceDefinition).applyDrbdBlacklist({ confirm: false }, { signal: h.signal });
    return { changes: r.changed, detail: r.changed ? `blacklist drbd devices in ${r.targetPath}` : `already blacklisted in ${r.alreadyIn || r.targetPath}`, ...(r.diff === '' ? {} : { diff: r.diff }) };
  },
  async run(h) {
    const r = await h.agent.client(MultipathServiceDefinition).applyDrbdBlacklist({ confirm: true }, { signal: h.signal });
    return { changed: r.changed, path: r.targetPath, alreadyIn: r.alreadyIn, backup: r.backupPath };
  },
};

/** The replication/iSCSI subnet accepted, at runtime and in /etc/sysconfig/iptables (the how-to's step 2). */
const firewall: HostStep = {
  name: 'firewall',
  async plan(h) {
    const r = await h.agent.client(FloatingIpServiceDefinition).applyStorageFirewall({ firewall: firewallSpec(h.spec), confirm: false }, { signal: h.signal });
    const changes = r.added.length > 0 || r.persistedAdded.length > 0;
    return { changes, detail: changes ? `add ${[...new Set([...r.added, ...r.persistedAdded])].join('; ')}` : `rules present: ${r.present.join('; ')}` };
  },
  async run(h) {
    const r = await h.agent.client(FloatingIpServiceDefinition).applyStorageFirewall({ firewall: firewallSpec(h.spec), confirm: true }, { signal: h.signal });
    return { added: r.added, present: r.present.length, persisted: r.persistedPath, persistedAdded: r.persistedAdded };
  },
};

/** drbd.conf in the dialect of the DRBD this host runs (detected by the agent), checked by drbdadm. */
const drbdConf: HostStep = {
  name: 'drbd-conf',
  async plan(h) {
    const r = await drbd(h).writeDrbdConfig({ resources: h.spec.drbd, syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: false }, { signal: h.signal });
    // An up resource gets `drbdadm adjust` after the write: show what it would load into the kernel.
    const adjusts = r.adjusts.map((a) => `\n${a.resource} is up: drbdadm adjust ${a.resource}${a.commands.length === 0 ? ' (nothing to load)' : `: ${a.commands.join('; ')}`}`);
    return { changes: r.changed, detail: `${r.path} for DRBD ${syntaxName(r.syntax)}${r.changed ? '' : ' (unchanged)'}${adjusts.join('')}` };
  },
  async run(h) {
    const r = await drbd(h).writeDrbdConfig({ resources: h.spec.drbd, syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true }, { signal: h.signal });
    return { changed: r.changed, syntax: syntaxName(r.syntax), path: r.path, backup: r.backup, adjusted: r.adjusts.map((a) => ({ resource: a.resource, commands: a.commands, applied: a.applied })) };
  },
};

/**
 * DRBD metadata on each backing disk. Destroys what the disk holds, so it needs --create-md on top
 * of --yes; a disk that already holds DRBD metadata is kept as it is (create-md would reset its data
 * generations), which is also what makes a re-run continue after this step.
 */
const createMd: HostStep = {
  name: 'create-md',
  async plan(h) {
    const lines: string[] = [];
    let changes = false;
    const problems: string[] = [];
    const states = await resourceStates(h).catch(() => new Map<string, DrbdResourceState>());
    for (const r of h.spec.drbd) {
      if (attached(states.get(r.name))) {
        lines.push(`${r.name}: attached (${states.get(r.name)?.disk}): its metadata is in use (kept)`);
        continue;
      }
      const p = await drbd(h).createDrbdMetadata({ resource: r.name, confirm: false, wipe: h.options.wipeSignatures }, { signal: h.signal });
      if (p.metadataPresent) {
        lines.push(`${r.name}: ${p.backingDisk} already holds DRBD metadata (kept)`);
        continue;
      }
      changes = true;
      lines.push(`${r.name}: ${p.result?.commands.join('; ')} -- DESTROYS the data on ${p.backingDisk}${p.signatures.length > 0 ? ` (it holds ${p.signatures.join(', ')})` : ''}`);
      if (!h.options.createMd) problems.push(`create-md of ${r.name} on ${h.host.name} destroys ${p.backingDisk}: add --create-md`);
      else if (p.signatures.length > 0 && !h.options.wipeSignatures) problems.push(`${p.backingDisk} on ${h.host.name} holds ${p.signatures.join(', ')}: add --wipe-signatures to erase them (the how-to's dd)`);
    }
    return { changes, detail: lines.join('\n'), ...(problems.length === 0 ? {} : { problem: problems.join('; ') }) };
  },
  async run(h) {
    const done: Record<string, string> = {};
    const states = await resourceStates(h);
    for (const r of h.spec.drbd) {
      // An attached resource has metadata in use: the agent refuses create-md on it, and a re-run must go on.
      if (attached(states.get(r.name))) {
        done[r.name] = `attached (${states.get(r.name)?.disk}): kept`;
        continue;
      }
      const p = await drbd(h).createDrbdMetadata({ resource: r.name, confirm: false, wipe: h.options.wipeSignatures }, { signal: h.signal });
      if (p.metadataPresent) {
        done[r.name] = 'metadata present: kept';
        continue;
      }
      if (!h.options.createMd) throw new CreateMdNotConfirmedError(h.host.name, r.name, p.backingDisk);
      await drbd(h).createDrbdMetadata({ resource: r.name, confirm: true, wipe: h.options.wipeSignatures }, { signal: h.signal });
      done[r.name] = `created on ${p.backingDisk}`;
    }
    return done;
  },
};

/** Each resource up as Secondary (8.3: attach, syncer, connect; 8.4/9: up). */
const drbdUp: HostStep = {
  name: 'drbd-up',
  async plan(h) {
    const states = await resourceStates(h);
    const down = h.spec.drbd.filter((r) => !isUp(states.get(r.name)));
    return { changes: down.length > 0, detail: down.length > 0 ? `bring up ${down.map((r) => r.name).join(', ')}` : 'every resource is up' };
  },
  async run(h) {
    const out: Record<string, unknown> = {};
    for (const r of h.spec.drbd) {
      const res = await drbd(h).upDrbd({ resource: r.name }, { signal: h.signal });
      out[r.name] = { commands: res.result?.commands ?? [], connection: res.result?.state?.connection ?? '' };
    }
    return out;
  },
};

/** targets.conf with the fixed tid/scsi_id/scsi_sn, the same on both hosts (rule 7). */
const targetsConf: HostStep = {
  name: 'targets-conf',
  async plan(h) {
    const target = h.spec.storage?.target;
    if (target === undefined) return { changes: false, detail: 'no target in the spec', problem: 'spec.storage.target: the target both hosts export' };
    const r = await h.agent.client(TargetServiceDefinition).writeTargetsConf({ targets: [target], confirm: false }, { signal: h.signal });
    return { changes: r.changed, detail: `${r.path}: tid ${target.tid} ${target.iqn}, ${target.luns.map((l) => `lun ${l.lun} scsi_id ${l.scsiId} scsi_sn ${l.scsiSn}`).join(', ')}${r.changed ? '' : ' (unchanged)'}` };
  },
  async run(h) {
    const target = h.spec.storage?.target;
    if (target === undefined) throw new SetupRefusedError(h.host.name, 'targets-conf', 'the spec has no target');
    const r = await h.agent.client(TargetServiceDefinition).writeTargetsConf({ targets: [target], confirm: true }, { signal: h.signal });
    return { changed: r.changed, path: r.path, backup: r.backup };
  },
};

/** /etc/xsctl/storage.yaml: what the agent re-asserts at every start (rules 8, 9 and 11). */
const roleConfig: HostStep = {
  name: 'role-config',
  async plan(h) {
    const r = await h.agent.client(StorageServiceDefinition).writeStorageRoleConfig({ spec: h.spec.storage, firewall: firewallSpec(h.spec), timing: h.spec.timing, confirm: false }, { signal: h.signal });
    return { changes: r.changed, detail: `${r.path}${r.changed ? '' : ' (unchanged)'}` };
  },
  async run(h) {
    const r = await h.agent.client(StorageServiceDefinition).writeStorageRoleConfig({ spec: h.spec.storage, firewall: firewallSpec(h.spec), timing: h.spec.timing, confirm: true }, { signal: h.signal });
    return { changed: r.changed, path: r.path, backup: r.backup };
  },
};

export const hostSteps: Readonly<Record<PerHostStep, HostStep>> = {
  lvm,
  'multipath-blacklist': multipathBlacklist,
  firewall,
  'drbd-conf': drbdConf,
  'create-md': createMd,
  'drbd-up': drbdUp,
  'targets-conf': targetsConf,
  'role-config': roleConfig,
};

function syntaxName(s: DrbdSyntax): string {
  return s === DrbdSyntax.DRBD_SYNTAX_V83 ? '8.3' : s === DrbdSyntax.DRBD_SYNTAX_V84 ? '8.4' : s === DrbdSyntax.DRBD_SYNTAX_V9 ? '9' : 'unknown';
}

export async function resourceStates(h: Pick<HostStepContext, 'agent' | 'signal'>): Promise<Map<string, DrbdResourceState>> {
  const r = await h.agent.client(DrbdServiceDefinition).getDrbdStatus({ resource: '' }, { signal: h.signal });
  return new Map(r.resources.map((s) => [s.name, s]));
}

function attached(s: DrbdResourceState | undefined): boolean {
  return s !== undefined && s.role !== 'Unconfigured' && s.disk !== 'Diskless';
}

function isUp(s: DrbdResourceState | undefined): boolean {
  return s !== undefined && s.role !== 'Unconfigured' && s.disk !== 'Diskless' && s.connection !== 'StandAlone';
}

const connected = (s: DrbdResourceState | undefined): boolean => s !== undefined && s.connection !== 'StandAlone' && !/^(WFConnection|Connecting|Unconnected|Disconnecting|NetworkFailure|BrokenPipe|Timeout)$/.test(s.connection);
const synced = (s: DrbdResourceState | undefined): boolean => s?.disk === 'UpToDate' && s.peerDisk === 'UpToDate';
const stateLine = (s: DrbdResourceState | undefined): string => (s === undefined ? 'not configured' : `${s.role}/${s.peerRole} ${s.disk}/${s.peerDisk} ${s.connection}${s.syncPercent === undefined ? '' : ` ${s.syncPercent}%`}`);

export interface SyncTiming {
  pollMs: number;
  /** How long the peer may take to connect before the sync starts. */
  connectTimeoutMs: number;
  /** How long the sync may go without progress. */
  stallTimeoutMs: number;
}

export const defaultSyncTiming: SyncTiming = { pollMs: 1_000, connectTimeoutMs: 120_000, stallTimeoutMs: 600_000 };

/**
 * The how-to's initial sync, from the chosen host: wait for the peer to connect, then the one
 * forced promotion (both sides Inconsistent, fresh metadata; the agent refuses anything else), then
 * wait for the resync with progress events. A pair that is already in sync is left as it is; a
 * pair where the chosen source is Inconsistent but the peer holds data is refused (it would sync
 * the wrong way).
 */
export async function initialSync(h: HostStepContext, timing: SyncTiming): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const r of h.spec.drbd) {
    let s = (await resourceStates(h)).get(r.name);
    if (synced(s)) {
      out[r.name] = 'already in sync';
      continue;
    }
    const connectBy = Date.now() + timing.connectTimeoutMs;
    while (!connected(s)) {
      if (Date.now() > connectBy) throw new SetupStepTimeoutError(h.host.name, `initial sync of ${r.name} (waiting for the peer to connect)`, timing.connectTimeoutMs, stateLine(s));
      h.progress({ resource: r.name, message: `${r.name}: waiting for the peer to connect (${s?.connection ?? 'not up'})` });
      await realSleep(timing.pollMs, h.signal);
      s = (await resourceStates(h)).get(r.name);
    }
    if (s?.disk === 'Inconsistent' && s.peerDisk === 'Inconsistent') {
      await drbd(h).startDrbdInitialSync({ resource: r.name, confirm: true }, { signal: h.signal });
    } else if (s?.disk !== 'UpToDate') {
      throw new SetupRefusedError(h.host.name, 'initial-sync', `${r.name} is ${stateLine(s)}: the chosen source has no UpToDate data while its peer is ${s?.peerDisk}; choose the other host with syncFrom, or resolve it by hand`);
    }
    let lastPercent = -1;
    let lastMove = Date.now();
    for (;;) {
      s = (await resourceStates(h)).get(r.name);
      if (synced(s)) break;
      const percent = s?.syncPercent ?? 0;
      if (percent !== lastPercent) {
        lastPercent = percent;
        lastMove = Date.now();
        h.progress({ resource: r.name, percent, message: `${r.name}: ${percent.toFixed(1)}% synced (${stateLine(s)})` });
      } else if (Date.now() - lastMove > timing.stallTimeoutMs) {
        throw new SetupStepTimeoutError(h.host.name, `initial sync of ${r.name}`, timing.stallTimeoutMs, stateLine(s));
      }
      await realSleep(timing.pollMs, h.signal);
    }
    h.progress({ resource: r.name, percent: 100, message: `${r.name}: in sync (${stateLine(s)})` });
    out[r.name] = stateLine(s);
  }
  return out;
}

/** Dry run of the initial sync: what each resource would do. */
export async function planInitialSync(h: HostStepContext): Promise<StepPreview> {
  const states = await resourceStates(h).catch(() => new Map<string, DrbdResourceState>());
  const lines = h.spec.drbd.map((r) => {
    const s = states.get(r.name);
    if (synced(s)) return `${r.name}: in sync already`;
    if (s === undefined || s.role === 'Unconfigured') return `${r.name}: after drbd-up, ${h.host.name} becomes the sync source (primary --force once, both sides Inconsistent)`;
    return `${r.name}: now ${stateLine(s)}; sync from ${h.host.name}`;
  });
  return { changes: h.spec.drbd.some((r) => !synced(states.get(r.name))), detail: lines.join('\n') };
}

/** The storage role on one host (rule 5's order for the master); the floating IP goes with the master. */
export async function assertRole(h: HostStepContext, role: 'master' | 'slave', dryRun: boolean): Promise<{ steps: string[]; unchanged: boolean }> {
  const r = await h.agent
    .client(StorageServiceDefinition)
    .assertStorageRole({ role: role === 'master' ? StorageRole.STORAGE_ROLE_MASTER : StorageRole.STORAGE_ROLE_SLAVE, spec: h.spec.storage, dryRun }, { signal: h.signal });
  if (!r.ok && !dryRun) {
    const failed = r.steps.find((s) => s.name === r.failedStep);
    throw new StorageRoleFailedError(h.host.name, role, r.failedStep, `${failed?.errorCode ?? ''}: ${failed?.detail ?? ''}`);
  }
  return { steps: r.steps.map((s) => `${s.name}:${StepOutcome[s.outcome].replace('STEP_OUTCOME_', '').toLowerCase()}`), unchanged: r.unchanged };
}
