import type { PlannedHost } from '../../../placement/plan-types.js';
import type { PlannedRun } from '../run-context.js';
import { inParallel } from '../retry.js';
import type { HostRun, HostStage, MoveOutcome } from './host-stage.js';
import { defaultHostStages } from './host-stages.js';
import { migrateStep } from './migrate.js';
import { recheckWave, type WaveRecheck } from './wave-recheck.js';

export interface WavesOutcome {
  moves: Array<MoveOutcome & { step: number }>;
  hosts: Array<{ name: string; order: number; versionBefore: string; versionAfter: string }>;
}

/**
 * The hosts, wave by wave as planned (the master alone first): re-check where the wave's VMs go,
 * make room where the plan moves smaller VMs out of a large one's way, then each host of the wave
 * through its stages, in parallel. A pause takes effect between waves.
 */
export async function wavesPhase(run: PlannedRun): Promise<WavesOutcome> {
  const { ctx, plan, params } = run;
  const stages: readonly HostStage[] = run.deps.hostStages ?? defaultHostStages;
  const sequence = plan.hosts.filter((h) => h.action === 'upgrade').sort((a, b) => a.order - b.order);
  const waves = [...new Set(sequence.map((h) => h.wave))].sort((a, b) => a - b);
  const out: WavesOutcome = { moves: [], hosts: [] };

  for (const wave of waves) {
    const hosts = sequence.filter((h) => h.wave === wave);
    ctx.safePoint();
    const fresh = ctx.outcome(`wave:${wave}:recheck`) === undefined;
    if (fresh) for (const h of hosts) ctx.emit('host-started', { host: h.name, order: h.order, wave, total: sequence.length });
    const recheck = await ctx.step<WaveRecheck>(`wave:${wave}:recheck`, {
      host: hosts.map((h) => h.name).join(','),
      intent: { wave, hosts: hosts.map((h) => h.name) },
      run: () => recheckWave(run, wave, hosts),
    });
    if (fresh && recheck.surprises.length > 0) ctx.emit('warning', { message: `XAPI now reports, and the overrides pin: ${recheck.surprises.join('; ')}` });
    const deviating = recheck.migrations.filter((m) => plan.migrations.some((p) => p.vmRef === m.vmRef && p.wave === wave && p.toRef !== m.toRef));
    if (fresh && deviating.length > 0) ctx.emit('plan-adjusted', { wave, moves: deviating.map((m) => `${m.vm} -> ${m.to}`) });

    // Room first: a large VM's destination must be free before it arrives.
    const room = recheck.migrations.filter((m) => m.room);
    await inParallel(room, params.maxParallel, async (m) => {
      const outcome = await migrateStep(run, `wave:${wave}:room:${m.vmUuid}`, m.from, m, params.migrationNetwork);
      if (outcome.moved) out.moves.push({ ...outcome, step: 0 });
    });

    const runs: HostRun[] = hosts.map((host: PlannedHost) => ({
      run,
      host,
      key: `host:${host.uuid}`,
      wave,
      migrations: recheck.migrations,
      pinned: recheck.pinned.filter((p) => p.hostRef === host.ref),
      baseline: recheck.baselines[host.ref]!,
      moves: [],
    }));
    const settled = await Promise.allSettled(
      runs.map(async (h) => {
        for (const stage of stages) await stage.run(h);
      }),
    );
    for (const h of runs) {
      out.moves.push(...h.moves);
      if (h.result !== undefined) {
        out.hosts.push(h.result);
        if (ctx.outcome(`${h.key}:enable`) !== undefined) ctx.emit('host-done', { host: h.host.name, order: h.host.order, total: sequence.length, version: h.result.versionAfter }, { persist: false });
      }
    }
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
  return out;
}
