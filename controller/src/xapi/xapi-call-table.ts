/**
 * How long each XAPI call may take and whether it may be retried or sent on a read-only
 * connection. This is the one place those numbers live.
 *
 * - `readOnly`: allowed when the client was opened read-only (prechecks). Only methods that do
 *   not change the pool.
 * - `idempotent`: safe to send again after a connection error or HOST_IS_SLAVE, because running
 *   it twice cannot do anything running it once would not. Only reads.
 * - `retries`: extra attempts for idempotent calls; ignored for the others.
 * - `timeoutMs`: for Async calls, the budget for the whole task.
 */
export interface CallPolicy {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly idempotent: boolean;
  readonly readOnly: boolean;
}

export type CallTable = Readonly<Record<string, Partial<CallPolicy>>>;

const second = 1000;
const minute = 60 * second;

const readDefaults: CallPolicy = { timeoutMs: 30 * second, retries: 3, idempotent: true, readOnly: true };
const writeDefaults: CallPolicy = { timeoutMs: 2 * minute, retries: 0, idempotent: false, readOnly: false };

export const callTable: CallTable = {
  'session.login_with_password': { timeoutMs: 30 * second, retries: 0, idempotent: false, readOnly: true },
  // event.from waits server-side for its own `timeout` argument; see callPolicy.
  'event.from': { retries: 0, idempotent: true, readOnly: true },
  // Bumps an event generation but changes no object: used to start event watching.
  'event.inject': { timeoutMs: 30 * second, retries: 2, idempotent: true, readOnly: true },
  'host.get_vms_which_prevent_evacuation': { timeoutMs: 2 * minute, retries: 2, idempotent: true, readOnly: true },
  'host.assert_can_evacuate': { timeoutMs: 2 * minute, retries: 2, idempotent: true, readOnly: true },
  // A check: changes nothing, so a precheck's read-only session may ask it.
  'VM.assert_can_boot_here': { timeoutMs: 30 * second, retries: 2, idempotent: true, readOnly: true },
  'VM.clean_shutdown': { timeoutMs: 10 * minute },
  'VM.hard_shutdown': { timeoutMs: 5 * minute },
  'VM.start_on': { timeoutMs: 10 * minute },
  'PBD.plug': { timeoutMs: 5 * minute },
  'host.disable': { timeoutMs: 2 * minute },
  'host.enable': { timeoutMs: 2 * minute },
  // Evacuation migrates every VM on the host one after another.
  'host.evacuate': { timeoutMs: 120 * minute },
  'host.reboot': { timeoutMs: 20 * minute },
  'host.restart_agent': { timeoutMs: 2 * minute },
  // Plugins can change dom0 state, so never read-only; some (updates) run for minutes.
  'host.call_plugin': { timeoutMs: 10 * minute },
  'host.apply_updates': { timeoutMs: 60 * minute },
  'VM.pool_migrate': { timeoutMs: 30 * minute },
  'pool.disable_ha': { timeoutMs: 10 * minute },
  'pool.enable_ha': { timeoutMs: 15 * minute },
  'pool.set_wlb_enabled': { timeoutMs: 2 * minute },
  'pool.designate_new_master': { timeoutMs: 10 * minute },
  // Tries every slave in turn; an unreachable one costs a connection timeout.
  'pool.recover_slaves': { timeoutMs: 10 * minute },
  'VM.power_state_reset': { timeoutMs: 2 * minute },
  // Asks the host (a connection attempt to a dead address), runs the pre-declare-dead hooks, then
  // one VM.power_state_reset per resident VM, each asking the host again while it is marked live.
  'host.declare_dead': { timeoutMs: 10 * minute },
  // A detach flushes and logs out of every iSCSI path (SM's detach), as long as PBD.plug's attach.
  'PBD.unplug': { timeoutMs: 5 * minute },
  'task.cancel': { timeoutMs: 30 * second },
  'task.destroy': { timeoutMs: 30 * second },
};

const isGetter = (method: string): boolean => /^[^.]+\.get_/.test(method);

/**
 * The policy for one call. `args` matters only for event.from, whose server-side wait is its
 * third argument (seconds); the client allows that plus a margin.
 */
export function callPolicy(method: string, args: readonly unknown[] = [], overrides: CallTable = {}): CallPolicy {
  const base = isGetter(method) ? readDefaults : writeDefaults;
  const policy: CallPolicy = { ...base, ...callTable[method], ...overrides[method] };
  if (method === 'event.from' && callTable[method]?.timeoutMs === undefined && overrides[method]?.timeoutMs === undefined) {
    const waitSeconds = typeof args[2] === 'number' ? args[2] : 60;
    return { ...policy, timeoutMs: Math.ceil(waitSeconds * 1000) + 30 * second };
  }
  return policy;
}
