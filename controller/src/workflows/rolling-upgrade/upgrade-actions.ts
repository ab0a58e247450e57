import type { ModelHost } from '../../pool-model/pool-model.js';
import { asRef, type Ref } from '../../xapi/ref.js';
import type { XapiClient } from '../../xapi/xapi-client.js';
import type { StepIo } from '../engine/workflow-engine.js';

/**
 * The upgrade itself, between evacuation and reboot. Pluggable: each action installs the new
 * software on one host and knows how to tell, after a controller crash, whether it already did.
 * An action whose effect XAPI cannot show (apply_updates, the simulated upgrade) is idempotent:
 * XAPI does nothing the second time, so running it again after a crash is safe, not blind.
 */
export type UpgradeActionName = 'xcp-ng-update' | 'apply-updates' | 'iso' | 'simulated';
export const upgradeActionNames: readonly UpgradeActionName[] = ['xcp-ng-update', 'apply-updates', 'iso', 'simulated'];

export interface ActionHost {
  ref: string;
  uuid: string;
  name: string;
}

export interface ActionContext {
  xapi: XapiClient;
  poolRef: Ref<'pool'>;
  io: StepIo;
  /** Options of the run (e.g. the simulated target version). */
  options: Record<string, string>;
  /** ISO upgrades: whether the admin resumed the workflow after being asked to boot the installer. */
  confirmedAfter(since: string): boolean;
  /** XenServer 8: the update set synced once for the whole run (pool.sync_updates' hash, journaled). */
  pinnedUpdates: string;
}

export interface UpgradeAction {
  readonly name: UpgradeActionName;
  readonly description: string;
  run(host: ActionHost, ctx: ActionContext): Promise<Record<string, unknown>>;
  /** After a crash: the outcome if the action already took effect, undefined to run it (again). */
  check(host: ActionHost, recorded: Record<string, unknown>, ctx: ActionContext): Promise<Record<string, unknown> | undefined>;
  /** Whether the workflow reboots the host after the action (the ISO installer reboots it itself). */
  readonly rebootAfter: boolean;
  /**
   * Whether the host must be empty first. Package updates install under running guests (they take
   * effect at the reboot), so the workflow runs them while the host is being evacuated.
   */
  readonly needsEmptyHost: boolean;
  /** What is still to install on a host (the final check); undefined when the action cannot tell. */
  pendingOn?(host: ModelHost, ctx: { xapi: XapiClient; signal: AbortSignal; options: Record<string, string> }): Promise<string[] | undefined>;
}

/** Asks the admin to act; the workflow pauses until `xsctl upgrade resume`. */
export class ConfirmationRequired extends Error {
  constructor(
    readonly host: string,
    readonly instructions: string,
  ) {
    super(instructions);
    this.name = 'ConfirmationRequired';
  }
}

/** A task noted by an earlier attempt: followed to its end when still running. */
async function followNoted(method: 'host.call_plugin' | 'host.apply_updates', recorded: Record<string, unknown>, ctx: ActionContext): Promise<{ status: 'none' | 'pending-done' | 'success' | 'other'; result?: unknown }> {
  const task = recorded['task'];
  if (typeof task !== 'string') {
    await awaitUnnoted(method, ctx);
    return { status: 'none' };
  }
  const status = await ctx.xapi.taskStatus(asRef<'task'>(task), { signal: ctx.io.signal });
  if (status?.status === 'pending') return { status: 'pending-done', result: await ctx.xapi.awaitTask(method, asRef<'task'>(task), { signal: ctx.io.signal }) };
  return { status: status?.status === 'success' ? 'success' : 'other' };
}

/**
 * The controller may have died after XAPI created the task but before the task was journaled: that
 * install is still running (a second one would meet it: OTHER_OPERATION_IN_PROGRESS for
 * apply_updates, yum's lock for updater.py). XAPI names a task after the call as it came on the
 * wire, "Async.host.call_plugin" (ocaml/idl/ocaml_backend/gen_server.ml: `__label = __call` before
 * the Async. prefix is stripped), but a task does not say which host it works on, so every pending
 * one of this call is waited for: at worst a wave peer's install, which costs time, never a second
 * install at once.
 */
async function awaitUnnoted(method: 'host.call_plugin' | 'host.apply_updates', ctx: ActionContext): Promise<void> {
  const tasks = await ctx.xapi.getAllRecords('task', { signal: ctx.io.signal });
  for (const [ref, t] of tasks) {
    if (t.name_label !== `Async.${method}` || (t.status !== 'pending' && t.status !== 'cancelling')) continue;
    ctx.io.progress({ phase: 'wait-unnoted-task', task: ref });
    await ctx.xapi.awaitTask(method, ref, { signal: ctx.io.signal }).catch(() => undefined);
  }
}

async function updaterCheck(xapi: XapiClient, host: string, signal: AbortSignal): Promise<string[]> {
  const pending = await xapi.call('host.call_plugin', [asRef<'host'>(host), 'updater.py', 'check_update', {}], { signal });
  const list = JSON.parse(String(pending)) as unknown;
  return Array.isArray(list) ? list.map((p) => (typeof p === 'object' && p !== null ? String((p as Record<string, unknown>)['name'] ?? JSON.stringify(p)) : String(p))) : [];
}

const xcpNgUpdate: UpgradeAction = {
  name: 'xcp-ng-update',
  description: 'XCP-ng: yum update through the updater.py XAPI plugin (host.call_plugin updater.py update)',
  rebootAfter: true,
  needsEmptyHost: false,
  async run(host, ctx) {
    const out = await ctx.xapi.callAsync('host.call_plugin', [asRef<'host'>(host.ref), 'updater.py', 'update', {}], {
      signal: ctx.io.signal,
      onTask: (task) => ctx.io.note({ task }),
      onProgress: (p) => ctx.io.progress({ phase: 'update', fraction: p }),
    });
    // XCP-ng < 8.2.1 reports failures in the result instead of failing the call.
    const text = typeof out === 'string' ? out : JSON.stringify(out);
    try {
      const parsed = JSON.parse(text) as { exit?: number; stderr?: string };
      if (typeof parsed.exit === 'number' && parsed.exit !== 0) throw new Error(`updater.py update failed on ${host.name}: ${parsed.stderr ?? ''}`);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    return { output: text.slice(-2000) };
  },
  async check(host, recorded, ctx) {
    const noted = await followNoted('host.call_plugin', recorded, ctx);
    if (noted.status === 'pending-done') return { output: String(noted.result) };
    // Nothing left to install means the update went through.
    return (await updaterCheck(ctx.xapi, host.ref, ctx.io.signal)).length === 0 ? { output: 'already installed' } : undefined;
  },
  pendingOn: (host, ctx) => updaterCheck(ctx.xapi, host.ref, ctx.signal),
};

const applyUpdates: UpgradeAction = {
  name: 'apply-updates',
  description: 'XenServer 8 / XCP-ng 8.3: host.apply_updates with the update set synced once for the run (pool.sync_updates)',
  rebootAfter: true,
  needsEmptyHost: false,
  async run(host, ctx) {
    const hash = ctx.pinnedUpdates !== '' ? ctx.pinnedUpdates : String(await ctx.xapi.callAsync('pool.sync_updates', [ctx.poolRef, false, '', ''], { signal: ctx.io.signal }));
    const guidance = await ctx.xapi.callAsync('host.apply_updates', [asRef<'host'>(host.ref), hash], {
      signal: ctx.io.signal,
      onTask: (task) => ctx.io.note({ task }),
      onProgress: (p) => ctx.io.progress({ phase: 'apply_updates', fraction: p }),
    });
    return { hash, guidance: guidance as unknown[] };
  },
  async check(_host, recorded, ctx) {
    const noted = await followNoted('host.apply_updates', recorded, ctx);
    if (noted.status === 'pending-done') return { guidance: noted.result as unknown[] };
    if (noted.status === 'success') return { guidance: [] };
    return undefined;
  },
};

const iso: UpgradeAction = {
  name: 'iso',
  description: 'Manual: the admin boots the installer ISO on the host (it reboots by itself), then resumes',
  rebootAfter: false,
  needsEmptyHost: true,
  async run(host, ctx) {
    const since = new Date().toISOString();
    ctx.io.note({ awaitingSince: since });
    throw new ConfirmationRequired(
      host.name,
      `boot ${host.name} from the installer ISO and run the upgrade (it is disabled and empty now); when it is back on the new version, run \`xsctl upgrade resume\``,
    );
  },
  async check(_host, recorded, ctx) {
    const since = recorded['awaitingSince'];
    return typeof since === 'string' && ctx.confirmedAfter(since) ? { confirmed: true } : undefined;
  },
};

const simulated: UpgradeAction = {
  name: 'simulated',
  description: "Simulator only: installs the simulator's next release (changes software_version and the hotfix list)",
  rebootAfter: true,
  needsEmptyHost: false,
  async run(host, ctx) {
    const args = { product_version: ctx.options['version'] ?? '', platform_version: ctx.options['platform_version'] ?? '' };
    const out = await ctx.xapi.callAsync('host.call_plugin', [asRef<'host'>(host.ref), 'xsctl_simulated_upgrade.py', 'upgrade', args], {
      signal: ctx.io.signal,
      onTask: (task) => ctx.io.note({ task }),
      onProgress: (p) => ctx.io.progress({ phase: 'upgrade', fraction: p }),
    });
    return { output: String(out) };
  },
  async check(_host, recorded, ctx) {
    const noted = await followNoted('host.call_plugin', recorded, ctx);
    if (noted.status === 'pending-done') return { output: String(noted.result) };
    if (noted.status === 'success') return { output: 'staged' };
    return undefined;
  },
};

export const upgradeActions: Readonly<Record<UpgradeActionName, UpgradeAction>> = {
  'xcp-ng-update': xcpNgUpdate,
  'apply-updates': applyUpdates,
  iso,
  simulated,
};
