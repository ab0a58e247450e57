import type { MethodRegistry } from '../../method-registry.js';
import type { XapiDb } from '../../xapi-db.js';
import { XapiFailure } from '../../xapi-failure.js';
import { stringArg } from '../args.js';
import { assertHostLive, simLog } from '../upgrade/upgrade-sim-state.js';

/**
 * What a multipath rollout asks of XAPI, with xapi's semantics and error codes
 * (xapi-project/xen-api, ocaml/xapi):
 *
 * - PBD.plug / PBD.unplug (xapi_pbd.ml; message_forwarding.ml forwards them to the PBD's host,
 *   check_live: HOST_OFFLINE [host]). plug: nothing when attached; an unshared SR attached on
 *   another host is SR_NOT_SHARABLE [sr, that host] (check_sharing_constraint). unplug: nothing when
 *   detached; HA armed with a statefile on the SR: HA_IS_ENABLED []; VDIs the host's running VMs
 *   have attached (VBD currently_attached or reserved, not empty; metadata VDIs excepted):
 *   VDI_IN_USE [vdi, ...] (get_active_vdis_by_pbd).
 * - host.set_multipathing (xapi_host.ml, from Kolkata): remove_from_other_config "multipathing",
 *   the `multipathing` field, add_to_other_config "multipathing" = string_of_bool. Earlier releases
 *   (and XenCenter for them, EditMultipathAction.cs) use host.remove_from/add_to_other_config, which
 *   the implicit methods serve (MAP_DUPLICATE_KEY on an existing key, as db_cache_impl.ml).
 *
 * The multipath status is the storage manager's, not xapi's: on attach of an iSCSI or HBA SR, SM
 * (mpathcount.py) writes `multipathed` and `mpath-<SCSIid>` = "[active, total]" into the PBD's
 * other_config when the host runs with multipathing (otherwise the PBD keeps the status it had);
 * the simulated fabric gives every LUN
 * `pathsPerLun` paths, minus the ones a test breaks with `setFailedPaths`.
 */

export interface StorageFabric {
  pathsPerLun: number;
  /** Per host ref: paths down (from each LUN of that host). */
  failedPaths: Map<string, number>;
}

const fabrics = new WeakMap<XapiDb, StorageFabric>();

export function storageFabric(db: XapiDb): StorageFabric {
  let f = fabrics.get(db);
  if (f === undefined) {
    f = { pathsPerLun: 2, failedPaths: new Map() };
    fabrics.set(db, f);
  }
  return f;
}

/**
 * A test breaks (or repairs) paths from a host. SM's mpathcount.py runs on every path event of
 * multipathd and rewrites the counts of the host's attached PBDs, so attached multipathed PBDs
 * show the new count now; the others at their next attach.
 */
export function setFailedPaths(db: XapiDb, hostRef: string, failed: number): void {
  storageFabric(db).failedPaths.set(hostRef, failed);
  for (const [ref, pbd] of db.find('PBD', (p) => p['host'] === hostRef && p['currently_attached'] === true)) {
    db.update('PBD', ref, { other_config: attachedOtherConfig(db, pbd, hostRef) });
  }
}

const multipathTypes = new Set(['lvmoiscsi', 'lvmohba', 'gfs2']);
const strMap = (v: unknown): Record<string, string> => (typeof v === 'object' && v !== null ? { ...(v as Record<string, string>) } : {});

export function hostMultipathing(db: XapiDb, hostRef: string): boolean {
  const host = db.getRecord('host', hostRef);
  // The field (Kolkata+) and other_config agree after set_multipathing; older releases only have the key.
  return host['multipathing'] === true || strMap(host['other_config'])['multipathing'] === 'true';
}

/** SM's view after an attach: multipathed, and one mpath key per LUN (SCSIid) when multipathing is on. */
function attachedOtherConfig(db: XapiDb, pbd: Record<string, unknown>, hostRef: string): Record<string, string> {
  const other = strMap(pbd['other_config']);
  const sr = db.getRecord('SR', String(pbd['SR']));
  if (!multipathTypes.has(String(sr['type']))) return other;
  // Without multipathing the status the pool came with (a dump's, the description's) is kept.
  if (!hostMultipathing(db, hostRef)) return other;
  const fabric = storageFabric(db);
  const failed = fabric.failedPaths.get(hostRef) ?? 0;
  const known = Object.keys(other).filter((k) => /^mpath-/.test(k) && /^\[\d+, \d+\]$/.test(other[k] ?? ''));
  other['multipathed'] = 'true';
  if (known.length > 0) {
    // A LUN the pool already reports keeps its path count (a dump's fabric): all up, minus the broken ones.
    for (const k of known) {
      const total = Number(/, (\d+)\]$/.exec(other[k] ?? '')?.[1] ?? 0);
      other[k] = `[${Math.max(0, total - failed)}, ${total}]`;
    }
    return other;
  }
  const scsiId = strMap(pbd['device_config'])['SCSIid'] ?? String(sr['uuid']);
  other[`mpath-${scsiId}`] = `[${Math.max(0, fabric.pathsPerLun - failed)}, ${fabric.pathsPerLun}]`;
  return other;
}

function activeVdisOf(db: XapiDb, hostRef: string, srRef: string): string[] {
  const out: string[] = [];
  for (const [, vm] of db.find('VM', (v) => v['resident_on'] === hostRef)) {
    for (const vbd of (vm['VBDs'] ?? []) as string[]) {
      if (!db.has('VBD', vbd)) continue;
      const r = db.getRecord('VBD', vbd);
      if ((r['currently_attached'] !== true && r['reserved'] !== true) || r['empty'] === true) continue;
      const vdi = String(r['VDI']);
      if (!db.has('VDI', vdi)) continue;
      const v = db.getRecord('VDI', vdi);
      if (v['SR'] === srRef && v['type'] !== 'metadata' && !out.includes(vdi)) out.push(vdi);
    }
  }
  return out;
}

export function registerPbdMethods(registry: MethodRegistry): void {
  registry.register('PBD.plug', {
    handler: (ctx, args) => {
      const self = stringArg(args, 0);
      const pbd = ctx.db.getRecord('PBD', self);
      const host = String(pbd['host']);
      assertHostLive(ctx.db, host);
      if (pbd['currently_attached'] === true) return;
      const srRef = String(pbd['SR']);
      const sr = ctx.db.getRecord('SR', srRef);
      if (sr['shared'] !== true) {
        const other = ctx.db.find('PBD', (p) => p['SR'] === srRef && p['currently_attached'] === true && p['host'] !== host)[0];
        if (other !== undefined) throw new XapiFailure('SR_NOT_SHARABLE', [srRef, String(other[1]['host'])]);
      }
      ctx.db.update('PBD', self, { currently_attached: true, other_config: attachedOtherConfig(ctx.db, pbd, host) });
      simLog(ctx.db, `PBD ${self} plugged (SR ${String(sr['name_label'])})`);
    },
  });

  registry.register('PBD.unplug', {
    handler: (ctx, args) => {
      const self = stringArg(args, 0);
      const pbd = ctx.db.getRecord('PBD', self);
      const host = String(pbd['host']);
      assertHostLive(ctx.db, host);
      if (pbd['currently_attached'] !== true) return;
      const srRef = String(pbd['SR']);
      const pool = ctx.db.find('pool', () => true)[0]?.[1];
      if (pool?.['ha_enabled'] === true) {
        const statefileSrs = ((pool['ha_statefiles'] ?? []) as string[]).map((vdi) => (ctx.db.has('VDI', vdi) ? String(ctx.db.getRecord('VDI', vdi)['SR']) : ''));
        if (statefileSrs.includes(srRef)) throw new XapiFailure('HA_IS_ENABLED', []);
      }
      const inUse = activeVdisOf(ctx.db, host, srRef);
      if (inUse.length > 0) throw new XapiFailure('VDI_IN_USE', inUse);
      const other = strMap(pbd['other_config']);
      for (const k of Object.keys(other)) {
        const m = k.startsWith('mpath-') ? /^\[(\d+), (\d+)\]$/.exec(other[k] ?? '') : null;
        if (m !== null) other[k] = `[0, ${m[2]}]`;
      }
      ctx.db.update('PBD', self, { currently_attached: false, other_config: other });
      simLog(ctx.db, `PBD ${self} unplugged`);
    },
  });

  registry.register('host.set_multipathing', {
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      const value = args[1] === true;
      assertHostLive(ctx.db, host);
      const other = strMap(ctx.db.getRecord('host', host)['other_config']);
      delete other['multipathing'];
      other['multipathing'] = String(value);
      ctx.db.update('host', host, { multipathing: value, other_config: other });
    },
  });

  // The simulator's own knob (not XAPI), for tests that run it as a process: paths down from a
  // host's LUNs (setFailedPaths).
  registry.register('simulator.set_failed_paths', {
    arity: 2,
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      ctx.db.getRecord('host', host);
      const failed = Number(args[1]);
      if (!Number.isInteger(failed) || failed < 0) throw new XapiFailure('INVALID_VALUE', ['failed', String(args[1])]);
      setFailedPaths(ctx.db, host, failed);
    },
  });
}
