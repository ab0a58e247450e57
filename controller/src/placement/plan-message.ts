import type { UpgradePlan } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import type { PlanReport } from './plan-report.js';

/** The plan report as the controller's UpgradeService sends it (the CLI renders this one shape). */
export function planMessage(r: PlanReport): UpgradePlan {
  return {
    pool: r.pool,
    runnable: r.runnable,
    hosts: r.hosts,
    blockers: r.blockers,
    migrations: r.migrations,
    pinned: r.pinned,
    totals: r.totals,
    waves: r.waves.map((w) => ({ wave: w.wave, hosts: w.hosts, migrations: w.migrations, roomMoves: w.roomMoves, migratedBytes: w.migratedBytes, unplaced: w.unplaced, tightestHost: w.tightestHost, tightestFreeBytes: w.tightestFreeBytes })),
    capacity: { holds: r.capacity.holds, maxHostsDown: r.capacity.maxHostsDown, memoryPolicy: r.capacity.memoryPolicy, makeRoom: r.capacity.makeRoom },
    endState: {
      hosts: r.endState.hosts.map((h) => ({ host: h.host, guests: h.guests, usedBytes: h.usedBytes, freeBytes: h.freeBytes, headroom: h.headroom })),
      minUsedFraction: r.endState.balance.minUsedFraction,
      maxUsedFraction: r.endState.balance.maxUsedFraction,
      stddevUsedFraction: r.endState.balance.stddevUsedFraction,
      antiAffinity: r.endState.antiAffinity,
    },
    warnings: r.warnings,
  };
}
