import { open } from 'node:fs/promises';
import { NotFoundError } from '@xsctl/common/errors/index';
import { DrbdSyntax, SplitBrainSide, SplitBrainState, type DrbdOperationResult, type DrbdResourceState, type DrbdVersion, type PeerSafety } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { CommandFailedError } from '../exec/command-errors.js';
import type { CommandResult } from '../exec/command-runner.js';
import type { AgentContext } from '../server/agent-context.js';
import { resourceName } from '../validate/validators.js';
import {
  DrbdDiskHasSignatureError,
  DrbdInitialSyncRefusedError,
  DrbdMetadataPresentError,
  DrbdPeerPrimaryError,
  DrbdSplitBrainRefusedError,
  DrbdStateChangeFailedError,
} from './drbd-errors.js';
import { checkPromotion, peerSafetyCheck, unverifiedPeer, witnessVerdict } from './promotion-guard.js';
import { applySplitBrain, isConnected, stateFromDrbdStatus, stateFromEvents2, stateFromProc } from './drbd-state.js';
import { detectDrbdVersion, readProcDrbd } from './drbd-version.js';
import { drbdadmArgs } from './drbdadm-args.js';
import { parseDrbdStatus } from './parse-drbd-status.js';
import { parseEvents2 } from './parse-drbd-events2.js';
import { parseProcDrbd } from './parse-proc-drbd.js';
import { redactDrbdSecrets } from './render-drbd-conf.js';

const logFiles = ['/var/log/kern.log', '/var/log/messages'];
const logTailBytes = 512 * 1024;

/** The last part of the kernel logs, where DRBD reports split brains. */
export async function readKernelLogTail(ctx: AgentContext): Promise<string> {
  const parts: string[] = [];
  for (const file of logFiles) {
    const fh = await open(ctx.root.resolve(file), 'r').catch(() => null);
    if (fh === null) continue;
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - logTailBytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      parts.push(buf.toString('utf8'));
    } finally {
      await fh.close();
    }
  }
  return parts.join('\n');
}

/** Runs drbdadm; a refused state change becomes a typed error with the kernel's code and words. */
export async function drbdadm(ctx: AgentContext, resource: string, args: readonly string[], signal?: AbortSignal, timeoutMs = 60_000): Promise<CommandResult> {
  try {
    return await ctx.runner.run('drbdadm', args, { signal, timeoutMs });
  } catch (err) {
    if (err instanceof CommandFailedError) {
      const m = /State change failed: \((-?\d+)\) ([^\n]*)/.exec(err.stderr);
      if (m !== null || err.exitCode === 11 || err.exitCode === 17) {
        const failure = /Failure: \((\d+)\) ([^\n]*)/.exec(err.stderr);
        throw new DrbdStateChangeFailedError(
          resource,
          err.exitCode ?? -1,
          m === null ? (failure === null ? null : Number(failure[1])) : Number(m[1]),
          redactDrbdSecrets((m?.[2] ?? failure?.[2] ?? err.stderr.trim().split('\n')[0] ?? '').trim()),
          { cause: new Error(redactDrbdSecrets(err.message)) },
        );
      }
      // Keep the shared secret (drbdadm echoes drbdsetup command lines) out of the error.
      throw new CommandFailedError(err.command, [], err.exitCode, redactDrbdSecrets(err.stderr));
    }
    throw err;
  }
}

/**
 * The answer of a `drbdadm sh-*` query: its first non-empty line after any confirmation prompt.
 * drbdadm registers the config file of every up minor (/var/lib/drbd/drbd-minor-N.conf); when
 * another file was registered last (an admin ran `drbdadm -c OTHER`), it asks "Do you want to
 * proceed and register the current config file?" on stdout and, without a tty, answers itself
 * ("*** confirmation forced via --force option ***"), both before the answer (drbd-utils
 * drbdadm_main.c, if_conf_differs_confirm_or_abort). The per-volume queries (sh-minor, sh-ll-dev)
 * print one line per volume: the first is volume 0, as everywhere else in the agent.
 */
export function shAnswer(stdout: string): string {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const prompt = lines.findLastIndex((l) => l.endsWith('?') || /^\*\*\*.*\*\*\*$/.test(l));
  return lines[prompt + 1] ?? '';
}

/** Resource names defined for this host in drbd.conf. */
export async function configuredResources(ctx: AgentContext, signal?: AbortSignal): Promise<string[]> {
  const r = await ctx.runner.run('drbdadm', ['sh-resources'], { signal, timeoutMs: 15_000 });
  return shAnswer(r.stdout).split(/\s+/).filter((t) => t !== '');
}

async function minorOf(ctx: AgentContext, resource: string, signal?: AbortSignal): Promise<number> {
  const r = await ctx.runner.run('drbdadm', ['sh-minor', resource], { signal, timeoutMs: 15_000 }).catch((err: unknown) => {
    if (err instanceof CommandFailedError) throw new NotFoundError('DRBD resource', resource);
    throw err;
  });
  const answer = shAnswer(r.stdout);
  const minor = answer === '' ? Number.NaN : Number(answer.split(/\s+/)[0]);
  if (!Number.isInteger(minor)) throw new NotFoundError('DRBD resource', resource);
  return minor;
}

/** The lower-level (backing) device of a resource on this host, from drbd.conf. */
export async function backingDiskOf(ctx: AgentContext, resource: string, signal?: AbortSignal): Promise<string> {
  const r = await ctx.runner.run('drbdadm', ['sh-ll-dev', resource], { signal, timeoutMs: 15_000 });
  const disk = shAnswer(r.stdout).split(/\s+/)[0] ?? '';
  if (disk === '') throw new NotFoundError('backing disk of DRBD resource', resource);
  return disk;
}

export interface StatusSnapshot {
  version: DrbdVersion;
  resources: DrbdResourceState[];
  source: 'proc-drbd' | 'events2' | 'drbdadm-status';
}

/**
 * Every resource's state. 8.x: /proc/drbd, minors named through drbd.conf; 9: `drbdsetup events2
 * --now`, falling back to `drbdadm status`. Resources in drbd.conf that the kernel does not know
 * are reported Unconfigured. Split brains come from StandAlone plus the kernel log.
 */
export async function readStatus(ctx: AgentContext, only: string | null, signal?: AbortSignal, known?: DrbdVersion): Promise<StatusSnapshot> {
  const version = known ?? (await detectDrbdVersion(ctx, signal));
  const names = only === null ? await configuredResources(ctx, signal).catch(() => [] as string[]) : [resourceName('resource', only)];
  const log = await readKernelLogTail(ctx);
  const states: DrbdResourceState[] = [];
  let source: StatusSnapshot['source'];
  if (version.syntax === DrbdSyntax.DRBD_SYNTAX_V9) {
    let parsed: DrbdResourceState[];
    try {
      const r = await ctx.runner.run('drbdsetup', ['events2', '--now', only ?? 'all'], { signal, timeoutMs: 15_000 });
      parsed = parseEvents2(r.stdout).map(stateFromEvents2);
      source = 'events2';
    } catch {
      const r = await ctx.runner.run('drbdadm', ['status', only ?? 'all'], { signal, timeoutMs: 15_000, okExitCodes: [10] });
      parsed = parseDrbdStatus(r.stdout).map(stateFromDrbdStatus);
      source = 'drbdadm-status';
    }
    for (const name of names.length > 0 ? names : parsed.map((p) => p.name)) {
      const hit = parsed.find((p) => p.name === name);
      states.push(hit ?? unconfigured(name, await minorOf(ctx, name, signal).catch(() => 0)));
    }
  } else {
    const proc = parseProcDrbd((await readProcDrbd(ctx)) ?? '');
    source = 'proc-drbd';
    for (const name of names) {
      const minor = await minorOf(ctx, name, signal);
      const rec = proc.resources.find((r) => r.minor === minor);
      states.push(rec === undefined ? unconfigured(name, minor) : stateFromProc(rec, name));
    }
  }
  return { version, resources: states.map((s) => applySplitBrain(s, log)), source };
}

function unconfigured(name: string, minor: number): DrbdResourceState {
  return {
    name,
    minor,
    role: 'Unconfigured',
    peerRole: 'Unknown',
    disk: 'Diskless',
    peerDisk: 'DUnknown',
    connection: 'StandAlone',
    replication: '',
    peer: '',
    splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE,
    splitBrainEvidence: '',
  };
}

export async function resourceState(ctx: AgentContext, resource: string, signal?: AbortSignal, known?: DrbdVersion): Promise<{ version: DrbdVersion; state: DrbdResourceState }> {
  const snap = await readStatus(ctx, resource, signal, known);
  const state = snap.resources[0];
  if (state === undefined) throw new NotFoundError('DRBD resource', resource);
  return { version: snap.version, state };
}

/** Runs (or, in a dry run, lists) drbdadm calls and returns the state afterwards. */
async function perform(ctx: AgentContext, resource: string, version: DrbdVersion, calls: readonly string[][], dryRun: boolean, signal?: AbortSignal): Promise<DrbdOperationResult> {
  const commands = calls.map((a) => `drbdadm ${a.join(' ')}`);
  if (!dryRun) for (const a of calls) await drbdadm(ctx, resource, a, signal);
  const { state } = await resourceState(ctx, resource, signal, version);
  return { commands, state, changed: calls.length > 0 && !dryRun, dryRun };
}

const unchanged = (state: DrbdResourceState): DrbdOperationResult => ({ commands: [], state, changed: false, dryRun: false });

const is83 = (version: DrbdVersion) => version.syntax === DrbdSyntax.DRBD_SYNTAX_V83;

function attachCalls(resource: string, version: DrbdVersion, state: DrbdResourceState): string[][] {
  if (state.role !== 'Unconfigured' && state.disk !== 'Diskless') return [];
  // 8.4/9 have no minor until `up` creates it (and connects); 8.3's attach creates the device.
  if (!is83(version)) return [state.role === 'Unconfigured' ? drbdadmArgs.up(resource) : drbdadmArgs.attach(resource)];
  // 8.3: the how-to's order is attach, syncer, connect. Without `syncer` the `syncer {}` section
  // (the resync rate) never reaches the kernel, which then resyncs at its 250 KB/s default.
  return [drbdadmArgs.attach(resource), drbdadmArgs.syncer(resource)];
}

function connectCalls(resource: string, version: DrbdVersion, state: DrbdResourceState, syncerLoaded: boolean): string[][] {
  if (state.connection !== 'StandAlone') return [];
  // `syncer` is idempotent; repeating it makes a connect after any attach (ours or by hand) safe.
  return is83(version) && !syncerLoaded ? [drbdadmArgs.syncer(resource), drbdadmArgs.connect(resource)] : [drbdadmArgs.connect(resource)];
}

function refuseSplitBrain(resource: string, state: DrbdResourceState): void {
  if (state.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED) {
    throw new DrbdSplitBrainRefusedError(resource, 'split brain detected: a plain connect would split again; run resolve-split-brain naming the victim');
  }
}

export async function attach(ctx: AgentContext, resource: string, signal?: AbortSignal): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  const calls = attachCalls(resource, version, state);
  return calls.length === 0 ? unchanged(state) : perform(ctx, resource, version, calls, false, signal);
}

export async function connect(ctx: AgentContext, resource: string, signal?: AbortSignal): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  refuseSplitBrain(resource, state);
  const calls = connectCalls(resource, version, state, false);
  return calls.length === 0 ? unchanged(state) : perform(ctx, resource, version, calls, false, signal);
}

/**
 * Brings a resource up as Secondary: attach (8.3: attach, syncer, connect, the how-to's order;
 * 8.4/9: `up`, which attaches, loads the options and connects). Never promotes. A split brain
 * refuses the connect (rule 10) after the disk is attached.
 */
export async function bringUp(ctx: AgentContext, resource: string, signal?: AbortSignal): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  const attaching = attachCalls(resource, version, state);
  const first = attaching.length === 0 ? unchanged(state) : await perform(ctx, resource, version, attaching, false, signal);
  const now = first.state ?? state;
  refuseSplitBrain(resource, now);
  const connecting = connectCalls(resource, version, now, attaching.some((a) => a[0] === 'syncer'));
  if (connecting.length === 0) return first;
  const second = await perform(ctx, resource, version, connecting, false, signal);
  return { ...second, commands: [...first.commands, ...second.commands] };
}

export async function disconnect(ctx: AgentContext, resource: string, signal?: AbortSignal): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  if (state.connection === 'StandAlone' || state.role === 'Unconfigured') return unchanged(state);
  return perform(ctx, resource, version, [drbdadmArgs.disconnect(resource)], false, signal);
}

/** Rule 2 for a peer we cannot see: fenced by the caller, or a witness answers (quorum); throws the refusal. */
async function provePeerSafe(ctx: AgentContext, resource: string, state: DrbdResourceState, safety: PeerSafety | undefined, signal?: AbortSignal): Promise<void> {
  const check = peerSafetyCheck(safety);
  if (check.kind === 'fenced') return;
  if (check.kind === 'unverifiable') throw unverifiedPeer(resource, state, check.reason);
  const r = await ctx.runner.run('arping', ['-q', '-c', '2', '-w', '3', '-I', check.iface, check.address], { signal, timeoutMs: 10_000, okExitCodes: [1, 2] });
  witnessVerdict(resource, state, check, r.exitCode);
}

/**
 * Rules 1, 2, 3 and 4 (promotion-guard.ts): UpToDate local data, a peer that is not Primary, a
 * peer that is either connected (so we see its role) or fenced/outvoted, and no failover while the
 * replication link is Connected. Never --force.
 */
/**
 * `readBack: false` (a switchover's TAKE, inside the I/O gap) skips the status read after
 * `drbdadm primary`, whose exit code already says it took: the result carries the state read
 * before, with the role set to Primary.
 */
export async function promote(ctx: AgentContext, resource: string, safety: PeerSafety | undefined, signal?: AbortSignal, dryRun = false, readBack = true): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  const next = checkPromotion(resource, state, safety);
  if (next === 'already-primary') return unchanged(state);
  if (next === 'verify-peer') await provePeerSafe(ctx, resource, state, safety, signal);
  if (readBack || dryRun) return perform(ctx, resource, version, [drbdadmArgs.primary(resource)], dryRun, signal);
  await drbdadm(ctx, resource, drbdadmArgs.primary(resource), signal);
  return { commands: [`drbdadm ${drbdadmArgs.primary(resource).join(' ')}`], state: { ...state, role: 'Primary' }, changed: true, dryRun: false };
}

export async function demote(ctx: AgentContext, resource: string, signal?: AbortSignal, dryRun = false): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  if (state.role !== 'Primary') return unchanged(state);
  return perform(ctx, resource, version, [drbdadmArgs.secondary(resource)], dryRun, signal);
}

/** Signatures blkid finds on a device (TYPE values); empty when it finds none (exit 2). */
export async function probeSignatures(ctx: AgentContext, disk: string, signal?: AbortSignal): Promise<string[]> {
  const r = await ctx.runner.run('blkid', ['-p', '-o', 'export', ctx.root.resolve(disk)], { signal, timeoutMs: 15_000, okExitCodes: [2] });
  if (r.exitCode === 2) return [];
  return r.stdout
    .split('\n')
    .map((l) => /^(?:PT)?TYPE=(.*)$/.exec(l.trim())?.[1])
    .filter((t): t is string => t !== undefined && t !== '');
}

export interface CreateMdResult {
  result: DrbdOperationResult;
  signatures: string[];
  backingDisk: string;
  metadataPresent: boolean;
}

/**
 * Whether the backing disk already holds DRBD metadata: an attached resource does, otherwise
 * `drbdadm dump-md` (drbdmeta, read-only) succeeds only on a disk that has it. blkid's "drbd"
 * signature is not enough: old blkid does not know DRBD 8.4/9 metadata.
 */
export async function metadataPresent(ctx: AgentContext, resource: string, state: DrbdResourceState, signal?: AbortSignal): Promise<boolean> {
  if (state.role !== 'Unconfigured' && state.disk !== 'Diskless') return true;
  const r = await ctx.runner.run('drbdadm', ['dump-md', resource], { signal, timeoutMs: 60_000, okExitCodes: [1, 10, 20, 255] });
  return r.exitCode === 0;
}

/** create-md: confirmed, never over a filesystem/LVM/DRBD signature unless `wipe`. */
export async function createMetadata(ctx: AgentContext, resource: string, confirm: boolean, wipe: boolean, signal?: AbortSignal): Promise<CreateMdResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  const backingDisk = await backingDiskOf(ctx, resource, signal);
  const signatures = await probeSignatures(ctx, backingDisk, signal);
  if (state.role !== 'Unconfigured' && state.disk !== 'Diskless') {
    throw new DrbdInitialSyncRefusedError(resource, `the backing disk is attached (${state.disk}); detach or down the resource first`);
  }
  const present = await metadataPresent(ctx, resource, state, signal);
  const plan = present ? [] : [...(wipe && signatures.length > 0 ? [`wipefs -a ${backingDisk}`] : []), `drbdadm ${drbdadmArgs.createMd(resource).join(' ')}`];
  if (!confirm) return { result: { commands: plan, state, changed: false, dryRun: true }, signatures, backingDisk, metadataPresent: present };
  if (present) throw new DrbdMetadataPresentError(resource, backingDisk);
  if (signatures.length > 0 && !wipe) throw new DrbdDiskHasSignatureError(backingDisk, signatures);
  if (signatures.length > 0) await ctx.runner.run('wipefs', ['-a', ctx.root.resolve(backingDisk)], { signal, timeoutMs: 60_000 });
  await drbdadm(ctx, resource, drbdadmArgs.createMd(resource), signal, 300_000);
  const after = await resourceState(ctx, resource, signal, version);
  return { result: { commands: plan, state: after.state, changed: true, dryRun: false }, signatures, backingDisk, metadataPresent: false };
}

/** The one --force: first promotion of a fresh pair, both sides Inconsistent and connected. */
export async function initialSync(ctx: AgentContext, resource: string, confirm: boolean, signal?: AbortSignal): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  if (state.disk !== 'Inconsistent') throw new DrbdInitialSyncRefusedError(resource, `local disk is ${state.disk}; initial sync is only for a fresh, Inconsistent pair`);
  if (!isConnected(state)) throw new DrbdInitialSyncRefusedError(resource, `peer not connected (${state.connection}); its data is unknown`);
  if (state.peerDisk !== 'Inconsistent') throw new DrbdInitialSyncRefusedError(resource, `peer disk is ${state.peerDisk}; the peer may hold data`);
  if (state.peerRole === 'Primary') throw new DrbdPeerPrimaryError(resource);
  return perform(ctx, resource, version, [drbdadmArgs.initialSyncPrimary(version.syntax, resource)], !confirm, signal);
}

/**
 * Guided split-brain recovery, one side per call. Victim: Secondary, StandAlone, then
 * `connect --discard-my-data` (8.3: `-- --discard-my-data connect`). Survivor: `connect`.
 * A Primary victim is refused: move the storage role away from it first.
 */
export async function resolveSplitBrain(ctx: AgentContext, resource: string, side: SplitBrainSide, confirm: boolean, signal?: AbortSignal): Promise<DrbdOperationResult> {
  const { version, state } = await resourceState(ctx, resource, signal);
  if (side === SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM) {
    if (state.role === 'Primary') throw new DrbdSplitBrainRefusedError(resource, 'the victim is Primary: assert the slave role on it (or demote) before discarding its data');
    if (isConnected(state)) throw new DrbdSplitBrainRefusedError(resource, `the resource is ${state.connection}: there is no split brain to resolve`);
    const calls = [...(state.connection === 'StandAlone' ? [] : [drbdadmArgs.disconnect(resource)]), drbdadmArgs.connectDiscardMyData(version.syntax, resource)];
    return perform(ctx, resource, version, calls, !confirm, signal);
  }
  if (side === SplitBrainSide.SPLIT_BRAIN_SIDE_SURVIVOR) {
    if (state.connection !== 'StandAlone') return unchanged(state);
    return perform(ctx, resource, version, [drbdadmArgs.connect(resource)], !confirm, signal);
  }
  throw new DrbdSplitBrainRefusedError(resource, 'name the side: victim or survivor');
}
