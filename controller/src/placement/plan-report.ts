import type { CapacityProof, EndState, PlanTotals, PlanWave, RollingPlan } from './plan-types.js';

/** The JSON `xsctl upgrade --rolling --plan --json` prints (and `--from-dump`); field names are a contract. */
export interface PlanReport {
  pool: string;
  runnable: boolean;
  hosts: Array<{ name: string; uuid: string; role: string; order: number; wave: number; action: string; version: string }>;
  blockers: Array<{ vm: string; code: string; host: string; overridden: boolean; message: string }>;
  migrations: Array<{ step: number; wave: number; vm: string; from: string; to: string; memoryBytes: number; final: boolean; room: boolean }>;
  pinned: Array<{ step: number; vm: string; host: string; code: string }>;
  totals: PlanTotals;
  waves: Array<Omit<PlanWave, 'hostRefs'>>;
  capacity: CapacityProof;
  endState: EndState;
  warnings: string[];
}

export function planReport(plan: RollingPlan): PlanReport {
  return {
    pool: plan.pool,
    runnable: plan.runnable,
    hosts: plan.hosts.map((h) => ({ name: h.name, uuid: h.uuid, role: h.role, order: h.order, wave: h.wave, action: h.action, version: h.version })),
    blockers: plan.blockers.map((b) => ({ vm: b.vm, code: b.code, host: b.host, overridden: b.overridden, message: b.message })),
    migrations: plan.migrations.map((m) => ({ step: m.step, wave: m.wave, vm: m.vm, from: m.from, to: m.to, memoryBytes: m.memoryBytes, final: m.final, room: m.room })),
    pinned: plan.steps.flatMap((s) => s.pinned.map((p) => ({ step: s.step, vm: p.vm, host: p.host, code: p.code }))),
    totals: plan.totals,
    waves: plan.waves.map(({ hostRefs: _hostRefs, ...w }) => w),
    capacity: plan.capacity,
    endState: plan.endState,
    warnings: plan.warnings,
  };
}
