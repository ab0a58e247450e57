import { dirname, isAbsolute, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { ConfigError, ValidationError, XsctlError } from '@xsctl/common/errors/index';
import { FailoverReason, SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StorageFirewallSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StepOutcome, StorageRole, StorageSpec, type AssertStorageRoleResponse } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { DrbdSplitBrainRefusedError } from '../drbd/drbd-errors.js';
import { isConnected } from '../drbd/drbd-state.js';
import { bringUp, resourceState } from '../drbd/drbd-ops.js';
import { readOptionalFile } from '../fs/read-optional-file.js';
import { applyFirewall, normalizeFirewall, type FirewallConfig } from '../network/firewall.js';
import { parsePoolConf } from '../host/parse-pool-conf.js';
import type { AgentContext } from '../server/agent-context.js';
import { integerInRange } from '../validate/validators.js';
import { assertRole, normalizeStorageSpec } from './assert-role.js';
import { bootPromotion, type BootPromotion } from './boot-promotion.js';
import { witnessWordOf } from './witness-word.js';

/**
 * Rules 9 and 11: roles do not survive a reboot, so the agent re-asserts them when it starts,
 * after a hysteresis wait. The role comes from /etc/xensource/pool.conf (the pool master serves
 * the storage), except that a master whose DRBD peer is not Connected asserts it only when the
 * witness names it the storage master (boot-promotion.ts), and comes back a slave when the
 * witness names the peer; what to serve comes from this file, the same keys as the CLI's storage spec
 * (`xsctl storage assert-role --spec`), plus the timing below:
 *
 *   hysteresisMs: 60000        # rule 11: wait this long after start before acting
 *   connectWaitMs: 60000       # master: wait up to this long for the DRBD peer before promoting
 *   retryInitialMs: 5000       # a failed assertion is retried, doubling up to retryMaxMs
 *   retryMaxMs: 300000
 *   drbdResources: [iscsi1]
 *   target: { tid: 1, iqn: ..., luns: [...], initiatorAddresses: [...], incomingUser: { user: xsinit, passwordFile: chap-secret } }
 *   floatingIp: { address: 10.10.10.3, prefixLength: 24, interface: xapi1 }
 *   peerSafety: { witnessAddress: 192.168.1.253, witnessInterface: xenbr0 }
 *   firewall: { subnet: 10.10.10.0/24, drbdPorts: [7789] }   # optional: re-applied before DRBD
 *
 * A relative passwordFile is relative to this file's directory. `peerSafety.peerFenced` and a
 * failover reason are refused here: they are claims about one moment, stale at the next boot.
 */
export { storageRoleConfigPath } from './storage-role-config-path.js';
import { storageRoleConfigPath } from './storage-role-config-path.js';

export interface StorageRoleConfig {
  spec: StorageSpec;
  /**
   * The storage firewall rules, re-inserted at every start before DRBD comes up (its peer must get
   * through). /etc/sysconfig/iptables keeps them too (ApplyStorageFirewall writes both), but an
   * update or an admin's `service iptables restart` with an older file would drop them silently.
   */
  firewall: FirewallConfig | null;
  hysteresisMs: number;
  connectWaitMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export const storageRoleDefaults = { hysteresisMs: 60_000, connectWaitMs: 60_000, retryInitialMs: 5_000, retryMaxMs: 300_000 } as const;

const timingKeys = ['hysteresisMs', 'connectWaitMs', 'retryInitialMs', 'retryMaxMs'] as const;
const specKeys = ['drbdResources', 'target', 'floatingIp', 'tgtd', 'peerSafety', 'stopGraceMs'] as const;
/** `drbd:` (resource definitions for `xsctl drbd config`) may sit in the same file; only its names are used. */
const allowedKeys = new Set<string>([...timingKeys, ...specKeys, 'drbd', 'firewall']);

/** The storage role config under the agent's root, validated; null when the file does not exist. */
export async function loadStorageRoleConfig(ctx: AgentContext, signal?: AbortSignal): Promise<StorageRoleConfig | null> {
  const file = storageRoleConfigPath;
  const text = await readOptionalFile(ctx.root.resolve(file), signal);
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(file, 'not valid YAML', { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, 'expected a mapping');
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!allowedKeys.has(key)) throw new ConfigError(file, `unknown key "${key}"`);
  const user = (o['target'] as Record<string, unknown> | undefined)?.['incomingUser'] as Record<string, unknown> | undefined;
  if (user !== undefined && 'password' in user) throw new ConfigError(file, 'target.incomingUser.password: put the CHAP secret in a file and name it with passwordFile');
  if (user?.['passwordFile'] !== undefined) {
    const name = user['passwordFile'];
    if (typeof name !== 'string' || name === '') throw new ConfigError(file, 'target.incomingUser.passwordFile: expected a file name');
    const path = isAbsolute(name) ? name : posix.join(dirname(file), name);
    const secret = await readOptionalFile(ctx.root.resolve(path), signal);
    if (secret === null) throw new ConfigError(file, `target.incomingUser.passwordFile: ${path} does not exist`);
    user['password'] = secret.replace(/\r?\n$/, '');
  }
  const safety = o['peerSafety'] as Record<string, unknown> | undefined;
  if (safety?.['peerFenced'] === true) throw new ConfigError(file, 'peerSafety.peerFenced: a fence claim written in a file is stale at the next boot; use a witness (witnessAddress, witnessInterface)');
  if (safety?.['peerFencedByPower'] === true) throw new ConfigError(file, 'peerSafety.peerFencedByPower: a power-off read back once is stale at the next boot (the peer may be on again); only a failover that fenced the peer sends it');
  const spec = StorageSpec.fromJSON(o);
  if (spec.peerSafety !== undefined && spec.peerSafety.failoverReason !== FailoverReason.FAILOVER_REASON_UNSPECIFIED) {
    throw new ConfigError(file, 'peerSafety.failoverReason: a boot-time assertion is no failover');
  }
  if (spec.drbdResources.length === 0 && Array.isArray(o['drbd'])) {
    spec.drbdResources = (o['drbd'] as unknown[]).map((r) => String((r as Record<string, unknown> | null)?.['name'] ?? ''));
  }
  try {
    normalizeStorageSpec(spec, ctx);
    const ms = (key: (typeof timingKeys)[number], min: number, max: number) => {
      const v = o[key] ?? storageRoleDefaults[key];
      return integerInRange(key, typeof v === 'number' ? v : Number.NaN, min, max);
    };
    const fw = o['firewall'];
    return {
      spec,
      firewall: fw === undefined ? null : normalizeFirewall(StorageFirewallSpec.fromJSON(fw)),
      hysteresisMs: ms('hysteresisMs', 0, 3_600_000),
      connectWaitMs: ms('connectWaitMs', 0, 3_600_000),
      retryInitialMs: ms('retryInitialMs', 10, 3_600_000),
      retryMaxMs: ms('retryMaxMs', 10, 3_600_000),
    };
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(file, err.message, { cause: err });
    throw err;
  }
}

export type BootRoleOutcome =
  | { status: 'no-config' }
  | { status: 'invalid-config'; error: string }
  | { status: 'asserted'; role: 'master' | 'slave'; attempts: number; result: AssertStorageRoleResponse }
  | { status: 'aborted'; attempts: number };

export interface BootRoleOptions {
  /** The agent's shutdown: aborts the waits and the commands in flight. */
  signal: AbortSignal;
  /** The role assertion; StorageService.AssertStorageRole's code path unless a test replaces it. */
  assert?: typeof assertRole;
}

const message = (err: unknown) => (err instanceof XsctlError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err));

/** Sleeps; false when the agent shuts down first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms === 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * DRBD does not start at boot (rule 8): bring each resource up as Secondary (8.3: attach, syncer,
 * connect, the how-to's order), the state both roles start from. Never promotes; a split brain refuses the connect (rule 10).
 */
async function bringDrbdUp(ctx: AgentContext, resources: readonly string[], signal: AbortSignal): Promise<string[]> {
  const failed: string[] = [];
  for (const r of resources) {
    try {
      const up = await bringUp(ctx, r, signal);
      const { commands, state } = up;
      ctx.logger.info({ resource: r, commands, role: state?.role, disk: state?.disk, connection: state?.connection }, commands.length > 0 ? 'boot storage role: drbd resource brought up (Secondary)' : 'boot storage role: drbd resource already up');
    } catch (err) {
      signal.throwIfAborted();
      if (err instanceof DrbdSplitBrainRefusedError) {
        // Attached, not connected: the role assertion still runs (the how-to keeps the pool master
        // serving through a split brain); the resync waits for an admin naming the victim (rule 10).
        ctx.logger.error({ resource: r, err: message(err) }, 'boot storage role: DRBD SPLIT BRAIN, resource attached but not connected; resolve it naming the victim');
        continue;
      }
      failed.push(r);
      ctx.logger.error({ resource: r, err: message(err) }, 'boot storage role: DRBD RESOURCE NOT UP');
    }
  }
  return failed;
}

/** The storage firewall rules (iptables -C, then -I for the missing ones); a failure fails the attempt. */
async function reapplyFirewall(ctx: AgentContext, fw: FirewallConfig, signal: AbortSignal): Promise<void> {
  const r = await applyFirewall(ctx, fw, true, signal);
  ctx.logger.info({ chain: fw.chain, added: r.added, present: r.present.length }, r.added.length > 0 ? 'boot storage role: firewall rules re-applied' : 'boot storage role: firewall rules in place');
}

/**
 * Before a promotion: give the replication link time to connect, so a Primary peer is seen (rule 4).
 * Returns each resource's state as last read (null: not read).
 */
async function waitForPeer(ctx: AgentContext, resources: readonly string[], waitMs: number, signal: AbortSignal): Promise<(DrbdResourceState | null)[]> {
  const deadline = performance.now() + waitMs;
  let logged = false;
  for (;;) {
    const apart: string[] = [];
    const states: (DrbdResourceState | null)[] = [];
    for (const r of resources) {
      const { state } = await resourceState(ctx, r, signal).catch(() => ({ state: null }));
      states.push(state);
      // A split brain never connects on its own: waiting for it only delays the master.
      if (state?.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED) continue;
      if (state === null || !isConnected(state)) apart.push(`${r} (${state?.connection ?? 'unknown'})`);
    }
    if (apart.length === 0) return states;
    const left = Math.round(deadline - performance.now());
    if (left <= 0) {
      ctx.logger.warn({ resources: apart, waitedMs: waitMs }, 'boot storage role: DRBD peer not connected; promotion now needs the witness to name this host the storage master, then the peer fenced or the witness answering (rules 2, 9)');
      return states;
    }
    if (!logged) ctx.logger.info({ resources: apart, waitMs: left }, 'boot storage role: waiting for the DRBD peer before promoting');
    logged = true;
    if (!(await pause(Math.min(500, left), signal))) return states;
  }
}

/** How long a master's boot-time assertion waits for the witness's word before it gives up this attempt (the witness polls every 0.5 s by default). */
export const witnessWaitMs = 3_000;

/**
 * pool.conf says master: may this host assert it (boot-promotion.ts)? Waits up to witnessWaitMs
 * for a fresh word from the witness when a promotion would rest on quorum.
 */
async function masterAtBoot(ctx: AgentContext, states: readonly (DrbdResourceState | null)[], signal: AbortSignal): Promise<BootPromotion> {
  const word = witnessWordOf(ctx);
  const deadline = performance.now() + witnessWaitMs;
  for (;;) {
    const d = bootPromotion({ resources: states, witness: word.latest(), now: performance.now() });
    if (d.act !== 'wait' || performance.now() >= deadline) return d;
    if (!(await pause(100, signal))) return d;
  }
}

function logSteps(ctx: AgentContext, r: AssertStorageRoleResponse): void {
  for (const s of r.steps) {
    const fields = { step: s.name, outcome: StepOutcome[s.outcome].replace('STEP_OUTCOME_', '').toLowerCase(), detail: s.detail, durationMs: s.durationMs, ...(s.errorCode === '' ? {} : { errorCode: s.errorCode }) };
    if (s.outcome === StepOutcome.STEP_OUTCOME_FAILED) ctx.logger.error(fields, 'boot storage role: step FAILED');
    else ctx.logger.info(fields, 'boot storage role: step');
  }
}

/**
 * The boot-time storage role: if the role config exists, wait the hysteresis delay, read the pool
 * role from pool.conf (re-read on every attempt), bring DRBD up as Secondary, and assert the role
 * through the same code as StorageService.AssertStorageRole (its checks: UpToDate data, no
 * Primary peer, rule 2 for a disconnected peer; never --force). A failure is logged loudly and
 * retried with backoff until it succeeds or the agent shuts down. Never rejects.
 */
export async function assertStorageRoleOnBoot(ctx: AgentContext, options: BootRoleOptions): Promise<BootRoleOutcome> {
  const { signal } = options;
  const progress = { attempts: 0, done: false };
  // Logged from the abort itself: the agent may exit right after its shutdown aborts us.
  const onAbort = () => {
    if (!progress.done) ctx.logger.warn({ attempts: progress.attempts }, 'boot storage role: aborted (agent shutting down)');
  };
  if (signal.aborted) {
    onAbort();
    return { status: 'aborted', attempts: 0 };
  }
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await bootRole(ctx, options.assert ?? assertRole, signal, progress);
  } finally {
    progress.done = true;
    signal.removeEventListener('abort', onAbort);
  }
}

async function bootRole(ctx: AgentContext, assert: typeof assertRole, signal: AbortSignal, progress: { attempts: number }): Promise<BootRoleOutcome> {
  const aborted = () => ({ status: 'aborted' as const, attempts: progress.attempts });
  let cfg: StorageRoleConfig | null;
  try {
    cfg = await loadStorageRoleConfig(ctx, signal);
  } catch (err) {
    if (signal.aborted) return aborted();
    ctx.logger.error({ file: storageRoleConfigPath, err: message(err) }, 'boot storage role: CONFIG INVALID, no storage role asserted; fix it and restart the agent');
    return { status: 'invalid-config', error: message(err) };
  }
  if (cfg === null) {
    ctx.logger.debug({ file: storageRoleConfigPath }, 'boot storage role: no storage role config');
    return { status: 'no-config' };
  }
  ctx.logger.info({ file: storageRoleConfigPath, resources: cfg.spec.drbdResources, floatingIp: cfg.spec.floatingIp?.address, hysteresisMs: cfg.hysteresisMs }, 'boot storage role: waiting (hysteresis, rule 11) before asserting the storage role');
  if (!(await pause(cfg.hysteresisMs, signal))) return aborted();
  let backoff = cfg.retryInitialMs;
  for (;;) {
    const attempts = ++progress.attempts;
    let failure: Record<string, unknown>;
    try {
      const text = await readOptionalFile(ctx.root.resolve('/etc/xensource/pool.conf'), signal);
      const pool = parsePoolConf(text ?? '');
      if (pool.role === 'unknown') {
        failure = { reason: text === null ? '/etc/xensource/pool.conf does not exist' : `/etc/xensource/pool.conf holds "${pool.raw}"`, failedStep: 'pool-role' };
      } else {
        ctx.logger.info({ attempt: attempts, poolConf: pool.role, role: pool.role }, `boot storage role: pool.conf says ${pool.role}; asserting the ${pool.role} storage role`);
        if (cfg.firewall !== null) await reapplyFirewall(ctx, cfg.firewall, signal);
        const notUp = await bringDrbdUp(ctx, cfg.spec.drbdResources, signal);
        let asserting: 'master' | 'slave' = pool.role;
        let decision: BootPromotion | null = null;
        if (pool.role === 'master') {
          // pool.conf is no proof after a failover (rules 1, 2, 9): boot-promotion.ts.
          decision = await masterAtBoot(ctx, await waitForPeer(ctx, cfg.spec.drbdResources, cfg.connectWaitMs, signal), signal);
          if (decision.act === 'slave') asserting = 'slave';
          if (decision.act === 'slave') ctx.logger.warn({ attempt: attempts, poolConf: pool.role, why: decision.why }, 'boot storage role: the witness names the peer the storage master; asserting the slave storage role, not the master role pool.conf names');
          else if (decision.act === 'master') ctx.logger.info({ attempt: attempts, why: decision.why }, 'boot storage role: the master role may be asserted');
        }
        signal.throwIfAborted();
        if (decision?.act === 'wait') {
          failure = { role: pool.role, failedStep: 'witness', errorCode: 'STORAGE_MASTER_UNCONFIRMED', reason: decision.why };
        } else {
          const role = asserting === 'master' ? StorageRole.STORAGE_ROLE_MASTER : StorageRole.STORAGE_ROLE_SLAVE;
          const result = await assert(ctx, role, cfg.spec, false, signal);
          logSteps(ctx, result);
          if (result.ok && notUp.length === 0) {
            ctx.logger.info({ role: asserting, attempts, unchanged: result.unchanged }, `boot storage role: ${asserting} storage role asserted`);
            return { status: 'asserted', role: asserting, attempts, result };
          }
          const failed = result.steps.find((s) => s.outcome === StepOutcome.STEP_OUTCOME_FAILED);
          failure = result.ok
            ? { role: asserting, failedStep: `drbd-up:${notUp.join(',')}` }
            : { role: asserting, failedStep: result.failedStep, errorCode: failed?.errorCode, reason: failed?.detail };
        }
      }
    } catch (err) {
      if (signal.aborted) return aborted();
      failure = { reason: message(err) };
    }
    ctx.logger.error({ attempt: attempts, retryInMs: backoff, ...failure }, 'boot storage role: STORAGE ROLE NOT ASSERTED; retrying (never forced)');
    if (!(await pause(backoff, signal))) return aborted();
    backoff = Math.min(backoff * 2, cfg.retryMaxMs);
  }
}
