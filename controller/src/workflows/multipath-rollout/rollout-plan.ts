import type { MultipathRolloutHostPlan, MultipathRolloutSr } from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import type { RollingPlan } from '../../placement/index.js';
import { hasSetMultipathing, shortOfPaths, type SrPaths } from './rollout-host-ops.js';

/**
 * What the rollout decides per host, from facts gathered elsewhere (XAPI, the agent's dry run):
 * which host-level multipath settings change, whether a host has nothing left to do, and what
 * each host gets in the plan an admin reads before `--yes`.
 */

/** XenCenter's values (EditMultipathAction.cs): other_config multipathing "true", multipathhandle "dmp". */
export const MULTIPATH_HANDLE = 'dmp';

export interface MultipathSetting {
  /** What changes on the host record, one line per key; empty when both are set. */
  changes: string[];
  method: 'set_multipathing' | 'other_config';
}

export function multipathSetting(otherConfig: Readonly<Record<string, string>>, platformVersion: string): MultipathSetting {
  const changes: string[] = [];
  const now = otherConfig['multipathing'];
  if (now !== 'true') changes.push(`multipathing ${now ?? '(unset)'} -> true`);
  const handle = otherConfig['multipathhandle'];
  if (handle !== MULTIPATH_HANDLE) changes.push(`multipathhandle ${handle ?? '(unset)'} -> ${MULTIPATH_HANDLE}`);
  return { changes, method: hasSetMultipathing(platformVersion) ? 'set_multipathing' : 'other_config' };
}

/** What the probe of one host found (XAPI and its agent's dry run of the apply). */
export interface HostProbe {
  ref: string;
  uuid: string;
  name: string;
  setting: MultipathSetting;
  /** The shared iSCSI/HBA SRs of the host (hostSrPaths, shared only). */
  srs: SrPaths[];
  /** The agent's dry run; undefined with `agentError` when it did not answer. */
  apply?: { changed: boolean; diff: string; targetPath: string };
  agentError?: string;
}

/**
 * Nothing left to do on the host: the stanza in place, both settings set, and every LUN of its
 * shared SRs already at the expected active paths. Such a host is not taken out of service.
 */
export function hostIsDone(p: HostProbe, expectedPaths: number): boolean {
  return p.apply !== undefined && !p.apply.changed && p.setting.changes.length === 0 && shortOfPaths(p.srs, expectedPaths).length === 0;
}

function srLine(s: SrPaths, type: string): MultipathRolloutSr {
  return { sr: s.srName, type, attached: s.attached, multipathed: s.multipathed, luns: s.luns.map((l) => `mpath-${l.scsiId} [${l.active}, ${l.total}]`) };
}

/**
 * One entry per host in the rolling plan's order (the master first), with the evacuation moves
 * and pinned VMs the placement engine gave its turn, the stanza diff and the SRs re-plugged.
 */
export function rolloutHostPlans(plan: Pick<RollingPlan, 'hosts' | 'steps' | 'migrations'>, probes: ReadonlyMap<string, HostProbe>, srTypes: ReadonlyMap<string, string>): MultipathRolloutHostPlan[] {
  const hosts = [...plan.hosts].sort((a, b) => (a.order || Number.MAX_SAFE_INTEGER) - (b.order || Number.MAX_SAFE_INTEGER) || a.name.localeCompare(b.name));
  return hosts.map((h): MultipathRolloutHostPlan => {
    const probe = probes.get(h.ref);
    const step = plan.steps.find((s) => s.hostRef === h.ref);
    const rollout = h.action === 'upgrade';
    const wave = plan.migrations.filter((m) => m.wave === h.wave && rollout);
    const moves = [
      ...wave.filter((m) => m.room).map((m) => ({ vm: m.vm, to: m.to, memoryBytes: m.memoryBytes, room: true })),
      ...(rollout ? plan.migrations.filter((m) => m.fromRef === h.ref && !m.room).map((m) => ({ vm: m.vm, to: m.to, memoryBytes: m.memoryBytes, room: false })) : []),
    ];
    const notes: string[] = [];
    if (probe?.agentError !== undefined) notes.push(`its agent did not answer: ${probe.agentError}`);
    if (h.action === 'done') notes.push('nothing to change: the stanza is in place, multipathing is on and every LUN has its paths');
    if (h.action === 'excluded') notes.push('excluded: not changed, not evacuated; it may receive VMs');
    if (rollout) {
      notes.push('maintenance mode: disabled and evacuated, enabled again at the end; the VMs that left stay where they went');
      if (probe !== undefined && probe.srs.length === 0) notes.push('no shared iSCSI/HBA SR: nothing to re-plug, no paths to wait for');
    }
    return {
      host: h.name,
      uuid: h.uuid,
      order: h.order,
      role: h.role,
      action: rollout ? 'rollout' : h.action,
      targetPath: probe?.apply?.targetPath ?? '',
      stanzaChanges: probe?.apply?.changed ?? false,
      stanzaDiff: probe?.apply?.diff ?? '',
      multipathingChanges: probe?.setting.changes ?? [],
      xapiMethod: probe?.setting.method ?? '',
      moves,
      pinned: (step?.pinned ?? []).map((p) => ({ vm: p.vm, code: p.code })),
      srs: (probe?.srs ?? []).map((s) => srLine(s, srTypes.get(s.sr) ?? '')),
      notes,
    };
  });
}
