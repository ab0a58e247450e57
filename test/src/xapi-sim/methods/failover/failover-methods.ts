import { formatXapiDate } from '../../clock.js';
import type { MethodRegistry } from '../../method-registry.js';
import type { XapiDb } from '../../xapi-db.js';
import { XapiFailure } from '../../xapi-failure.js';
import { xapiState } from '../../xapi-process.js';
import { isLiveRef, newRef, NULL_REF } from '../../xapi-value.js';
import { stringArg } from '../args.js';
import { checkCredentials } from '../session-methods.js';
import { hostIsLive, invalidateSessions, simLog } from '../upgrade/upgrade-sim-state.js';

/**
 * What a storage failover asks of XAPI when a host of a two-node pool is gone, with xapi's
 * semantics and error codes (xapi-project/xen-api, ocaml/xapi):
 *
 * - session.slave_local_login_with_password (xapi_session.ml): a session on a slave's own xapi,
 *   answered by the slave itself (no HOST_IS_SLAVE): the way in while the master is dead.
 * - pool.emergency_transition_to_master (xapi_pool.ml): HA_IS_ENABLED when HA is armed, else the
 *   host it is called on becomes the master (Xapi_pool_transition.become_master) and its xapi
 *   restarts (Xapi_fuse.light_fuse_and_run): every session ends.
 * - pool.recover_slaves (xapi_pool.ml recover_slaves, do_op_on_localsession_nolivecheck): on the
 *   master, tells every other host to follow it (emergency_reset_master), whatever its live flag;
 *   hosts that cannot be reached are skipped silently (`with _ -> ()`); returns the hosts it
 *   recovered.
 * - VM.power_state_reset (xapi_vm.ml, not forwarded per message_forwarding.ml "the whole point is
 *   that this can be performed when a host is down"): CANNOT_RESET_CONTROL_DOMAIN for dom0; for
 *   a Running or Paused VM, DOMAIN_EXISTS when it is resident on this host (the domain is there),
 *   HOST_IS_LIVE [host] when resident on another host that is alive (isHostAlive below);
 *   otherwise the VM is forced to Halted (force_state_reset).
 * - host.declare_dead (xapi_host.ml declare_dead, since clearwater = XenServer 6.2, API 2.0):
 *   precheck_destroy_declare_dead (HOST_IS_LIVE [host] when the host is alive, or is the master
 *   itself), then VM.power_state_reset of each regular VM resident on it, then host.enabled :=
 *   false. It does NOT set host_metrics.live: only the heartbeat timeout (host-heartbeat.ts) and a
 *   clean shutdown do.
 *
 * `simulator.set_host_live` is not XAPI: it lets a test mark a host dead (powered off) or back.
 */

const localSessions = new WeakMap<XapiDb, Set<string>>();

function localSessionsOf(db: XapiDb): Set<string> {
  let s = localSessions.get(db);
  if (s === undefined) {
    s = new Set();
    localSessions.set(db, s);
  }
  return s;
}

export function setHostLive(db: XapiDb, host: string, live: boolean): void {
  const metrics = db.getRecord('host', host)['metrics'];
  if (isLiveRef(metrics) && db.has('host_metrics', metrics)) db.update('host_metrics', metrics, { live });
  simLog(db, `${String(db.getRecord('host', host)['name_label'])} ${live ? 'live again' : 'dead'}`);
}

/**
 * xapi_host.ml is_host_alive (xen-api e2ee48d, ocaml/xapi/xapi_host.ml:1000-1028): a host whose
 * host_metrics.live is false is dead, "treating this as definitive"; one marked live is asked
 * (ask_host_if_it_is_a_slave, Pool.is_slave with a local session and no live check) and is dead
 * if the call fails. So a powered-off host is dead to these checks at once, while its live flag
 * stays true until the heartbeat timeout: here, asked = its xapi is not `down`.
 */
export function isHostAlive(db: XapiDb, host: string): boolean {
  return hostIsLive(db, host) && xapiState(db, host) !== 'down';
}

/** xapi_vm.ml power_state_reset (xen-api e2ee48d, ocaml/xapi/xapi_vm.ml:451-519), on the master. */
function powerStateReset(db: XapiDb, vm: string): void {
  const record = db.getRecord('VM', vm);
  if (record['is_control_domain'] === true) throw new XapiFailure('CANNOT_RESET_CONTROL_DOMAIN', [vm]);
  if (record['power_state'] === 'Running' || record['power_state'] === 'Paused') {
    const resident = String(record['resident_on']);
    if (resident === db.masterRef()) throw new XapiFailure('DOMAIN_EXISTS', [vm]);
    if (isLiveRef(resident) && db.has('host', resident) && isHostAlive(db, resident)) throw new XapiFailure('HOST_IS_LIVE', [resident]);
  }
  db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF, scheduled_to_be_resident_on: NULL_REF, current_operations: {} });
}

export function registerFailoverMethods(registry: MethodRegistry): void {
  registry.register('session.slave_local_login_with_password', {
    session: false,
    arity: 2,
    slaveLocal: true,
    handler: (ctx, args) => {
      const user = stringArg(args, 0);
      const password = stringArg(args, 1);
      if (!checkCredentials(ctx.server.credentials, user, password)) throw new XapiFailure('SESSION_AUTHENTICATION_FAILED', [user, 'Authentication failure']);
      ctx.db.addClass('session');
      const now = formatXapiDate(ctx.clock.now());
      const ref = newRef();
      const host = ctx.server.listenerHostRef ?? ctx.db.masterRef();
      ctx.db.create('session', { uuid: ref.slice('OpaqueRef:'.length), this_host: host, this_user: NULL_REF, last_active: now, pool: false, other_config: {}, is_local_superuser: true, subject: NULL_REF, validation_time: now, auth_user_sid: '', auth_user_name: user, rbac_permissions: [], tasks: [], parent: NULL_REF, originator: '' }, ref);
      localSessionsOf(ctx.db).add(ref);
      return ref;
    },
  });

  registry.register('session.local_logout', {
    arity: 0,
    slaveLocal: true,
    handler: (ctx) => {
      localSessionsOf(ctx.db).delete(ctx.sessionRef);
      if (ctx.db.has('session', ctx.sessionRef)) ctx.db.destroy('session', ctx.sessionRef);
    },
  });

  registry.register('pool.emergency_transition_to_master', {
    arity: 0,
    slaveLocal: true,
    handler: (ctx) => {
      if (ctx.db.getRecord('pool', ctx.db.poolRef())['ha_enabled'] === true) throw new XapiFailure('HA_IS_ENABLED', []);
      const me = ctx.server.listenerHostRef ?? String(ctx.db.getRecord('session', ctx.sessionRef)['this_host']);
      ctx.db.update('pool', ctx.db.poolRef(), { master: me });
      // become_master lights the fuse: xapi restarts as master, every session ends.
      invalidateSessions(ctx.db);
      simLog(ctx.db, `emergency transition: ${String(ctx.db.getRecord('host', me)['name_label'])} is master`);
    },
  });

  registry.register('pool.recover_slaves', {
    arity: 0,
    async: true,
    handler: (ctx) => {
      const master = ctx.db.masterRef();
      const recovered: string[] = [];
      for (const host of ctx.db.refs('host')) {
        if (host === master) continue;
        // Every other host is asked, whatever its live flag; unreachable ones are skipped (`with _ -> ()`).
        if (xapiState(ctx.db, host) === 'down') continue;
        recovered.push(host);
      }
      simLog(ctx.db, `recover_slaves: ${recovered.length} recovered`);
      return recovered;
    },
  });

  registry.register('VM.power_state_reset', {
    arity: 1,
    async: true,
    handler: (ctx, args) => powerStateReset(ctx.db, stringArg(args, 0)),
  });

  registry.register('host.declare_dead', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      // precheck_destroy_declare_dead (xapi_host.ml:1109-1125): alive first, then "self = me".
      if (isHostAlive(ctx.db, host) || host === ctx.db.masterRef()) throw new XapiFailure('HOST_IS_LIVE', [host]);
      // get_resident_vms: the host's resident VMs but its control domains, each reset as a client
      // call (Client.VM.power_state_reset), so with the same checks.
      const residents = ctx.db.find('VM', (v) => v['resident_on'] === host && v['is_control_domain'] !== true).map(([ref]) => ref);
      for (const vm of residents) powerStateReset(ctx.db, vm);
      ctx.db.update('host', host, { enabled: false });
      simLog(ctx.db, `${String(ctx.db.getRecord('host', host)['name_label'])} declared dead: ${residents.length} VMs reset`);
    },
  });

  registry.register('simulator.set_host_live', {
    arity: 2,
    handler: (ctx, args) => setHostLive(ctx.db, stringArg(args, 0), args[1] === true),
  });
}
