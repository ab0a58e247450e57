import { StorageServiceDefinition, type StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { StorageSetupOptions, type StorageSetupServicePlanResponse, type StorageSetupStepPlan } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import { ValidationError } from '@xsctl/common/errors/index';
import type { AgentConnection } from '../../agents/agent-connection.js';
import type { PoolConfig } from '../../config/inventory.js';
import type { ControllerContext, ResolvedHost } from '../../server/controller-context.js';
import { describe, isHalted, type StepIo, type WorkflowContext, type WorkflowKind } from '../engine/workflow-engine.js';
import { SetupSecretsMissingError } from './setup-errors.js';
import { afterSyncSteps, beforeSyncSteps, finalSteps, pairHosts, stepName, withSecrets, type SetupHost, type SetupParams, type SetupSecrets } from './setup-spec.js';
import { assertRole, defaultSyncTiming, hostSteps, initialSync, planInitialSync, type HostStepContext, type StepPreview, type SyncTiming } from './setup-steps.js';

export const STORAGE_SETUP = 'storage-setup';

/**
 * The secrets of a setup (DRBD shared secrets, CHAP password), by pool: in memory only, never in
 * the journal. A controller that restarts mid-setup asks for them again (the admin re-runs the
 * command, which continues the journaled setup).
 */
export class SetupSecretVault {
  readonly #byPool = new Map<string, SetupSecrets>();

  set(pool: string, secrets: SetupSecrets): void {
    this.#byPool.set(pool, secrets);
  }

  get(pool: string): SetupSecrets | undefined {
    return this.#byPool.get(pool);
  }
}

const vaults = new WeakMap<ControllerContext, SetupSecretVault>();

/** The one vault of a controller (the workflow reads it, the service fills it). */
export function setupVaultFor(ctx: ControllerContext): SetupSecretVault {
  let v = vaults.get(ctx);
  if (v === undefined) {
    v = new SetupSecretVault();
    vaults.set(ctx, v);
  }
  return v;
}

export interface StorageSetupDeps {
  vault: SetupSecretVault;
  syncTiming?: SyncTiming;
}

interface Paired {
  hosts: SetupHost[];
  syncFrom: string;
}

function needsSecrets(o: StorageSetupOptions): boolean {
  return (o.spec?.drbd ?? []).some((r) => r.sharedSecret === '[secret]') || o.spec?.storage?.target?.incomingUser?.password === '[secret]';
}

/** The live hosts of the pool, matched to the recorded ones by name label. */
function agentsOf(live: readonly ResolvedHost[], hosts: readonly SetupHost[]): Map<string, AgentConnection> {
  return new Map(
    hosts.map((h) => {
      const r = live.find((x) => x.nameLabel === h.name);
      if (r === undefined) throw new ValidationError('pool', `host ${h.name} is no longer in the pool`);
      return [h.name, r.agent];
    }),
  );
}

/**
 * The guided two-node setup as a journaled workflow. Every step is one agent call (or a few) that
 * first compares with what the host has, so a step that may have run is simply run again, and a
 * re-run after a failure continues: steps done are skipped from the journal, the failed one runs
 * again. Nothing is compensated: create-md and the initial sync cannot be undone, and the files
 * keep their backups. On a failure the exact state of each host goes into the events.
 */
export function storageSetupKind(ctx: ControllerContext, deps: StorageSetupDeps): WorkflowKind {
  return {
    kind: STORAGE_SETUP,
    run: (w) => runSetup(ctx, deps, w),
    compensate: async (name) => {
      throw new Error(`the storage setup registers no compensation (${name})`);
    },
  };
}

async function runSetup(ctx: ControllerContext, deps: StorageSetupDeps, w: WorkflowContext): Promise<unknown> {
  const safe = StorageSetupOptions.fromJSON((w.params as SetupParams).options);
  const secrets = deps.vault.get(w.pool);
  if (needsSecrets(safe) && secrets === undefined) throw new SetupSecretsMissingError(w.pool);
  const options = secrets === undefined ? safe : withSecrets(safe, secrets);
  const spec = options.spec;
  if (spec === undefined) throw new ValidationError('options.spec', 'the setup spec');
  const pool = ctx.pool(w.pool);
  const live = await ctx.poolHosts(pool, w.signal);
  const paired = await w.step<Paired>('hosts', {
    run: async () => pairHosts(spec, live.map((h) => ({ name: h.nameLabel, hostname: h.hostname, isMaster: h.isMaster }))),
  });
  const agents = agentsOf(live, paired.hosts);
  const hctx = (h: SetupHost, io?: StepIo): HostStepContext => ({
    host: h,
    agent: agents.get(h.name) as AgentConnection,
    spec,
    options,
    signal: w.signal,
    progress: (data) => io?.progress(data),
  });
  const perHost = async (steps: readonly (keyof typeof hostSteps)[]): Promise<void> => {
    for (const step of steps) {
      for (const h of paired.hosts) {
        await w.step(stepName(step, h.name), { host: h.name, intent: { step }, run: (io) => hostSteps[step].run(hctx(h, io)) });
      }
    }
  };
  const master = paired.hosts.find((h) => h.isMaster) ?? (paired.hosts[0] as SetupHost);
  const other = paired.hosts.find((h) => h !== master) as SetupHost;
  const source = paired.hosts.find((h) => h.name === paired.syncFrom) as SetupHost;
  try {
    await perHost(beforeSyncSteps);
    await w.step('initial-sync', { host: source.name, intent: { from: source.name }, run: (io) => initialSync(hctx(source, io), deps.syncTiming ?? defaultSyncTiming) });
    await perHost(afterSyncSteps);
    // The slave first: the sync source may be the other host, left Primary by the sync, and
    // nothing is promoted while its peer is Primary (rule 4).
    await w.step(stepName('role-slave', other.name), { host: other.name, run: (io) => assertRole(hctx(other, io), 'slave', false) });
    await w.step(stepName('role-master', master.name), { host: master.name, run: (io) => assertRole(hctx(master, io), 'master', false) });
    await perHost(finalSteps);
  } catch (err) {
    if (!isHalted(err)) await reportHostStates(w, paired.hosts, agents, options);
    throw err;
  }
  return { pool: pool.name, hosts: paired.hosts.map((h) => h.name), syncFrom: paired.syncFrom, master: master.name };
}

/** One line per host: what an admin checks by hand after a failure. */
export function hostStateLine(s: StorageStatus): string {
  const drbd = s.drbd.map((d) => `drbd ${d.name} ${d.role}/${d.peerRole} ${d.disk}/${d.peerDisk} ${d.connection}${d.syncPercent === undefined ? '' : ` ${d.syncPercent}%`}`);
  return [
    ...(drbd.length === 0 ? ['drbd: no resource up'] : drbd),
    `tgtd ${s.tgtdRunning ? 'running' : 'stopped'}`,
    `targets ${s.targets.length === 0 ? 'none' : s.targets.map((t) => `tid ${t.tid}`).join(',')}`,
    `floating IP ${s.floatingIpPresent ? `${s.floatingIp} here` : 'not here'}`,
    `role ${s.apparentRole}`,
  ].join('; ');
}

async function reportHostStates(w: WorkflowContext, hosts: readonly SetupHost[], agents: Map<string, AgentConnection>, options: StorageSetupOptions): Promise<void> {
  const signal = AbortSignal.timeout(20_000);
  for (const h of hosts) {
    try {
      const r = await (agents.get(h.name) as AgentConnection).client(StorageServiceDefinition).getStorageStatus({ spec: options.spec?.storage }, { signal });
      w.emit('host-state', { host: h.name, message: `${h.name}: ${r.status === undefined ? 'no status' : hostStateLine(r.status)}` });
    } catch (err) {
      w.emit('host-state', { host: h.name, message: `${h.name}: its agent did not answer (${describe(err)})` });
    }
  }
}

/**
 * The dry run: each step on each host as the agents see it now. Steps that depend on an earlier
 * one (create-md before drbd.conf exists) say so instead of failing.
 */
export async function planSetup(ctx: ControllerContext, pool: PoolConfig, options: StorageSetupOptions, signal: AbortSignal): Promise<StorageSetupServicePlanResponse> {
  const spec = options.spec;
  const problems: string[] = [];
  const steps: StorageSetupStepPlan[] = [];
  if (spec === undefined) return { pool: pool.name, steps, problems: ['the spec is empty'] };
  const live = await ctx.poolHosts(pool, signal);
  let paired: Paired;
  try {
    paired = pairHosts(spec, live.map((h) => ({ name: h.nameLabel, hostname: h.hostname, isMaster: h.isMaster })));
  } catch (err) {
    return { pool: pool.name, steps, problems: [describe(err)] };
  }
  if ((spec.firewall?.subnet ?? '') === '') problems.push('spec.firewall.subnet: the replication/iSCSI subnet both hosts accept (the how-to adds -A RH-Firewall-1-INPUT -s SUBNET -j ACCEPT)');
  const agents = agentsOf(live, paired.hosts);
  const hctx = (h: SetupHost): HostStepContext => ({ host: h, agent: agents.get(h.name) as AgentConnection, spec, options, signal, progress: () => undefined });
  const add = (step: string, host: string, p: StepPreview): void => {
    steps.push({ step, host, changes: p.changes, detail: p.detail, diff: p.diff ?? '' });
    if (p.problem !== undefined) problems.push(p.problem);
  };
  const preview = async (step: string, h: SetupHost, fn: () => Promise<StepPreview>): Promise<void> => {
    try {
      add(step, h.name, await fn());
    } catch (err) {
      // Typically: drbdadm does not know a resource before drbd.conf is written.
      const p: StepPreview = { changes: true, detail: `cannot tell before the earlier steps run (${describe(err)})` };
      if (step === 'create-md' && !options.createMd) p.problem = `create-md will run on ${h.disks.join(', ')} of ${h.name} unless they already hold DRBD metadata; it destroys what they hold: add --create-md`;
      add(step, h.name, p);
    }
  };
  const perHost = async (list: readonly (keyof typeof hostSteps)[]): Promise<void> => {
    for (const step of list) for (const h of paired.hosts) await preview(step, h, () => hostSteps[step].plan(hctx(h)));
  };
  await perHost(beforeSyncSteps);
  const source = paired.hosts.find((h) => h.name === paired.syncFrom) as SetupHost;
  await preview('initial-sync', source, () => planInitialSync(hctx(source)));
  await perHost(afterSyncSteps);
  const master = paired.hosts.find((h) => h.isMaster) ?? (paired.hosts[0] as SetupHost);
  const other = paired.hosts.find((h) => h !== master) as SetupHost;
  for (const [h, role] of [[other, 'slave'], [master, 'master']] as const) {
    await preview(`role-${role}`, h, async () => {
      const r = await assertRole(hctx(h), role, true);
      return { changes: !r.unchanged, detail: r.steps.join(', ') };
    });
  }
  await perHost(finalSteps);
  return { pool: pool.name, steps, problems };
}
