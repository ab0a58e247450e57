import type { Ref } from '../../xapi/ref.js';
import type { XapiClient } from '../../xapi/xapi-client.js';
import { MultipathPathsMissingError } from './rollout-errors.js';

/**
 * One host's multipath switch through XAPI, as XenCenter does it (xenserver/xenadmin
 * XenModel/Actions/Host/EditMultipathAction.cs): unplug the PBDs that are attached, switch
 * multipathing on (host.set_multipathing from Kolkata, platform 2.5.50 and later, as
 * Helpers.KolkataOrGreater decides; before it, other_config "multipathing" removed then added),
 * "multipathhandle" = "dmp" (removed then added: add_to_other_config on an existing key fails with
 * MAP_DUPLICATE_KEY), then plug the same PBDs back. The storage manager then reports each LUN's
 * paths in the PBD's other_config: mpath-<SCSIid> = "[active, total]".
 */

/** SR types whose PBDs carry multipath status (SM: iSCSI, HBA, GFS2). */
export const multipathSrTypes: ReadonlySet<string> = new Set(['lvmoiscsi', 'lvmohba', 'gfs2']);

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const v = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    const a = v[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** XenCenter's KolkataOrGreater: platform_version >= 2.5.50 has host.set_multipathing. */
export function hasSetMultipathing(platformVersion: string): boolean {
  return versionAtLeast(platformVersion, [2, 5, 50]);
}

export interface LunPaths {
  scsiId: string;
  active: number;
  total: number;
}

export interface SrPaths {
  pbd: string;
  sr: string;
  srName: string;
  type: string;
  shared: boolean;
  attached: boolean;
  multipathed: boolean;
  luns: LunPaths[];
}

/** The multipath status of every iSCSI/HBA SR of a host, from its PBDs. */
export async function hostSrPaths(xapi: XapiClient, hostRef: string, signal?: AbortSignal): Promise<SrPaths[]> {
  const opts = signal === undefined ? {} : { signal };
  const pbds = await xapi.getAllRecords('PBD', opts);
  const srs = await xapi.getAllRecords('SR', opts);
  const out: SrPaths[] = [];
  for (const [ref, p] of pbds) {
    if (p.host !== hostRef) continue;
    const sr = srs.get(p.SR);
    if (sr === undefined || !multipathSrTypes.has(sr.type)) continue;
    const luns: LunPaths[] = [];
    for (const [k, v] of Object.entries(p.other_config)) {
      const m = k.startsWith('mpath-') ? /^\[(\d+), (\d+)\]$/.exec(v) : null;
      if (m !== null) luns.push({ scsiId: k.slice('mpath-'.length), active: Number(m[1]), total: Number(m[2]) });
    }
    out.push({ pbd: ref, sr: p.SR, srName: sr.name_label, type: sr.type, shared: sr.shared, attached: p.currently_attached, multipathed: p.other_config['multipathed'] === 'true', luns });
  }
  return out.sort((a, b) => a.srName.localeCompare(b.srName));
}

export interface MultipathSwitch {
  /** The PBDs that were attached, unplugged for the switch and to be plugged back. */
  unplugged: string[];
  method: 'set_multipathing' | 'other_config';
  /** False when the host already had multipathing=true and multipathhandle=dmp. */
  changed: boolean;
}

/**
 * Unplug the host's attached PBDs and switch multipathing on. The PBDs come back with
 * `replugPbds`, also after a failure here (the caller's compensation), as XenCenter's finally does.
 */
export async function switchMultipathingOn(xapi: XapiClient, hostRef: Ref<'host'>, signal: AbortSignal, onUnplug?: (pbd: string) => void): Promise<MultipathSwitch> {
  const unplugged = await unplugPbds(xapi, hostRef, () => true, signal, onUnplug);
  return { unplugged, ...(await setMultipathingOn(xapi, hostRef, signal)) };
}

/**
 * Unplugs the host's attached PBDs of the SRs `which` selects (xapi refuses with VDI_IN_USE while
 * a running VM of the host has a disk there: the host is evacuated first). `onUnplug` hears of each
 * one before its call, so a caller can journal it before the side effect.
 */
export async function unplugPbds(xapi: XapiClient, hostRef: string, which: (sr: { shared: boolean; type: string }) => boolean, signal: AbortSignal, onUnplug?: (pbd: string) => void): Promise<string[]> {
  const pbds = await xapi.getAllRecords('PBD', { signal });
  const srs = await xapi.getAllRecords('SR', { signal });
  const unplugged: string[] = [];
  for (const [ref, p] of pbds) {
    const sr = srs.get(p.SR);
    if (p.host !== hostRef || !p.currently_attached || sr === undefined || !which(sr)) continue;
    onUnplug?.(ref);
    await xapi.call('PBD.unplug', [ref], { signal });
    unplugged.push(ref);
  }
  return unplugged;
}

/**
 * multipathing=true and multipathhandle=dmp on the host record, by XenCenter's call for its
 * platform: host.set_multipathing from Kolkata, else the other_config key removed then added.
 * Both keys are removed then added (add_to_other_config on an existing key fails MAP_DUPLICATE_KEY).
 */
export async function setMultipathingOn(xapi: XapiClient, hostRef: Ref<'host'>, signal: AbortSignal): Promise<Omit<MultipathSwitch, 'unplugged'>> {
  const host = await xapi.getRecord('host', hostRef, { signal });
  const method = hasSetMultipathing(host.software_version['platform_version'] ?? '') ? 'set_multipathing' : 'other_config';
  const changed = host.other_config['multipathing'] !== 'true' || host.other_config['multipathhandle'] !== 'dmp';
  if (method === 'set_multipathing') {
    await xapi.call('host.set_multipathing', [hostRef, true], { signal });
  } else {
    if ('multipathing' in host.other_config) await xapi.call('host.remove_from_other_config', [hostRef, 'multipathing'], { signal });
    await xapi.call('host.add_to_other_config', [hostRef, 'multipathing', 'true'], { signal });
  }
  if ('multipathhandle' in host.other_config) await xapi.call('host.remove_from_other_config', [hostRef, 'multipathhandle'], { signal });
  await xapi.call('host.add_to_other_config', [hostRef, 'multipathhandle', 'dmp'], { signal });
  return { method, changed };
}

/** Plugs the PBDs back (a plugged one is left alone by xapi); returns the ones that were detached. */
export async function replugPbds(xapi: XapiClient, pbds: readonly string[], signal: AbortSignal): Promise<string[]> {
  const plugged: string[] = [];
  for (const ref of pbds) {
    const p = await xapi.getRecord('PBD', ref as Ref<'PBD'>, { signal });
    if (p.currently_attached) continue;
    await xapi.call('PBD.plug', [ref as Ref<'PBD'>], { signal });
    plugged.push(ref);
  }
  return plugged;
}

export interface PathWait {
  expected: number;
  timeoutMs: number;
  pollMs: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Hears what is still short before each sleep (progress). */
  onShort?: (short: readonly string[], waitedMs: number) => void;
}

/** LUNs short of the expected active paths (or SRs not multipathed / detached at all). */
export function shortOfPaths(srs: readonly SrPaths[], expected: number): string[] {
  const short: string[] = [];
  for (const s of srs) {
    if (!s.attached) short.push(`${s.srName}: not attached`);
    else if (!s.multipathed || s.luns.length === 0) short.push(`${s.srName}: not multipathed`);
    else for (const l of s.luns) if (l.active < expected) short.push(`${s.srName}: mpath-${l.scsiId} [${l.active}, ${l.total}]`);
  }
  return short;
}

/**
 * Waits until every shared iSCSI/HBA SR of the host (the ones the rollout re-plugs) shows
 * `expected` active paths per LUN; throws MultipathPathsMissingError when it does not in time.
 */
export async function waitForPaths(xapi: XapiClient, host: { ref: string; name: string }, w: PathWait, signal: AbortSignal): Promise<SrPaths[]> {
  const start = Date.now();
  for (;;) {
    const srs = (await hostSrPaths(xapi, host.ref, signal)).filter((s) => s.shared);
    const short = shortOfPaths(srs, w.expected);
    if (short.length === 0) return srs;
    if (Date.now() - start >= w.timeoutMs) throw new MultipathPathsMissingError(host.name, w.expected, short, Date.now() - start);
    w.onShort?.(short, Date.now() - start);
    await w.sleep(w.pollMs, signal);
  }
}
