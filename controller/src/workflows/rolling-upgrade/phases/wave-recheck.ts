import { CapacityState } from '../../../placement/capacity-state.js';
import { placeWave } from '../../../placement/place-wave.js';
import type { PlannedHost } from '../../../placement/plan-types.js';
import type { WaveRoles } from '../../../placement/roles.js';
import { buildPoolModel } from '../../../pool-model/pool-model.js';
import { readPoolInput } from '../../../pool-model/read-pool-input.js';
import { displayVersion } from '../../../pool-model/versions.js';
import type { PlannedRun } from '../run-context.js';
import { CannotEvacuateError } from '../upgrade-errors.js';

export interface RecheckedMove {
  vmRef: string;
  vmUuid: string;
  vm: string;
  fromRef: string;
  from: string;
  toRef: string;
  to: string;
  bytes: number;
  final: boolean;
  room: boolean;
}

export interface RecheckedPinned {
  hostRef: string;
  vmRef: string;
  vmUuid: string;
  vm: string;
  code: string;
  powerState: string;
}

export interface PbdBaseline {
  ref: string;
  sr: string;
  attached: boolean;
  /** mpath-<scsiid> -> active path count before the reboot. */
  paths: Record<string, number>;
}

export interface HostBaseline {
  bootTime: string;
  agentStartTime: string;
  software: Record<string, string>;
  version: string;
  hotfixes: string[];
  pbds: PbdBaseline[];
}

export interface WaveRecheck {
  migrations: RecheckedMove[];
  pinned: RecheckedPinned[];
  baselines: Record<string, HostBaseline>;
  /** XAPI's reasons for VMs the plan did not expect, per VM name. */
  surprises: string[];
}

/** `[active, total]` path counts XAPI keeps per multipathed LUN in PBD.other_config. */
export function parsePaths(other: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(other)) {
    const m = k.startsWith('mpath-') ? /^\[(\d+),\s*(\d+)\]$/.exec(v) : null;
    if (m !== null) out[k] = Number(m[1]);
  }
  return out;
}

/**
 * Right before a wave: the pool as XAPI sees it now (the same reader and model as the plan, with
 * XAPI's evacuation answers for the wave's hosts) and where each VM goes now, keeping the plan's
 * destinations while they are still valid. A VM XAPI now says cannot move stops the run here,
 * before any host is disabled, unless its code is overridden (then it is shut down and started
 * again after the reboot).
 */
export async function recheckWave(run: PlannedRun, wave: number, hosts: readonly PlannedHost[]): Promise<WaveRecheck> {
  const { plan, params, xapi, signal } = run;
  const refs = hosts.map((h) => h.ref);
  const input = await run.read(() => readPoolInput(xapi, { signal, evacuationOf: refs }));
  const model = buildPoolModel(input, { memoryPolicy: params.memoryPolicy });
  for (const h of hosts) {
    const now = model.hosts.find((x) => x.ref === h.ref);
    if (now === undefined) throw new CannotEvacuateError(h.name, ['the host is no longer in the pool']);
    if (!now.live) throw new CannotEvacuateError(h.name, ['the host is not live']);
  }
  const sequence = plan.hosts.filter((h) => h.action === 'upgrade');
  const upgraded = new Set([...plan.hosts.filter((h) => h.action === 'done').map((h) => h.ref), ...sequence.filter((h) => h.wave < wave).map((h) => h.ref)]);
  const later = new Map(sequence.filter((h) => h.wave > wave).map((h) => [h.ref, h.order] as const));
  const excluded = new Set(plan.hosts.filter((h) => h.action === 'excluded').map((h) => h.ref));
  const roles: WaveRoles = { upgraded, down: new Set(refs), later, excluded };

  const stay = new Map<string, string>();
  for (const s of plan.steps) if (refs.includes(s.hostRef)) for (const p of s.pinned) stay.set(p.vmRef, p.code);
  const refused: string[] = [];
  const surprises: string[] = [];
  for (const vm of model.vms) {
    if (!refs.includes(vm.residentOn) || vm.immobile === undefined || stay.has(vm.ref)) continue;
    const code = vm.immobile[0] ?? '';
    if (params.overrides.includes(code)) {
      stay.set(vm.ref, code);
      surprises.push(`${vm.name}: ${vm.immobile.join(',')}`);
    } else {
      refused.push(`${vm.name}: ${vm.immobile.join(',')}`);
    }
  }
  if (refused.length > 0) throw new CannotEvacuateError(hosts.map((h) => h.name).join(', '), refused);

  const preferred = new Map(plan.migrations.filter((m) => m.wave === wave).map((m) => [m.vmRef, m.toRef] as const));
  const state = CapacityState.of(model);
  const placed = placeWave(state, refs, roles, { stay: new Set(stay.keys()), preferred });
  const unplaced = placed.unplaced.filter((u) => !params.overrides.includes(u.code));
  if (unplaced.length > 0) throw new CannotEvacuateError(hosts.map((h) => h.name).join(', '), unplaced.map((u) => `${u.vm.name}: ${u.code}`));
  for (const u of placed.unplaced) stay.set(u.vm.ref, u.code);

  const nameOf = (ref: string): string => model.hosts.find((h) => h.ref === ref)?.name ?? ref;
  const baselines: Record<string, HostBaseline> = {};
  for (const h of hosts) {
    const me = model.hosts.find((x) => x.ref === h.ref)!;
    const pbds = [...input.records.PBD.entries()]
      .filter(([, p]) => p.host === h.ref)
      .map(([ref, p]): PbdBaseline => ({ ref, sr: p.SR, attached: p.currently_attached, paths: parsePaths(p.other_config) }));
    baselines[h.ref] = { bootTime: me.otherConfig['boot_time'] ?? '', agentStartTime: me.otherConfig['agent_start_time'] ?? '', software: { ...me.software }, version: displayVersion(me.software), hotfixes: me.hotfixes, pbds };
  }
  return {
    migrations: placed.moves.map((m) => ({ vmRef: m.vm.ref, vmUuid: m.vm.uuid, vm: m.vm.name, fromRef: m.from, from: nameOf(m.from), toRef: m.to, to: nameOf(m.to), bytes: m.vm.migrateBytes, final: m.final, room: m.room })),
    pinned: [...stay].flatMap(([vmRef, code]) => {
      const vm = model.vms.find((v) => v.ref === vmRef);
      return vm === undefined || !refs.includes(vm.residentOn) ? [] : [{ hostRef: vm.residentOn, vmRef, vmUuid: vm.uuid, vm: vm.name, code, powerState: vm.powerState }];
    }),
    baselines,
    surprises,
  };
}
