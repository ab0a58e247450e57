import type { PlannedHost } from '../../../placement/plan-types.js';
import { fanOutSignal } from '@xsctl/common/signals/index';
import { listenersPerXapiCall } from '../../../xapi/listeners-per-xapi-call.js';
import type { PlannedRun } from '../run-context.js';
import { inParallel, retrying } from '../retry.js';
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
  const { ctx, plan } = run;
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

    const { run: waveRun, release } = waveFanOut(run, hosts.length);
    try {
      await runWave(waveRun, wave, hosts, recheck, stages, sequence.length, out);
    } finally {
      release();
    }
  }
  return out;
}

/**
 * The wave's calls listen to a signal of their own (fanOutSignal), not to the workflow's, which
 * lives for the whole run: its hosts in parallel, each migrating up to maxParallel VMs at once
 * beside its install and pinned-VM shutdowns, put more than Node's 10 listeners on one signal
 * ("MaxListenersExceededWarning ... 11 abort listeners", twice per --max-hosts-down 2 run).
 * Bound per host: maxParallel migrations and one more call (a pinned VM's shutdown, a poll), each
 * with listenersPerXapiCall and one more (the retry's sleep between attempts, or the in-process
 * simulator's event.from wait); +1 spare. (The install step listens to its step's signal.)
 */
function waveFanOut(run: PlannedRun, hosts: number): { run: PlannedRun; release: () => void } {
  const bound = hosts * (run.params.maxParallel + 1) * (listenersPerXapiCall + 1) + 1;
  const { signal, release } = fanOutSignal(run.signal, bound, 'the wave ended');
  const waveSignal = signal ?? run.signal;
  return { run: { ...run, signal: waveSignal, read: (fn) => retrying(fn, waveSignal, run.sleep) }, release };
}

async function runWave(run: PlannedRun, wave: number, hosts: readonly PlannedHost[], recheck: WaveRecheck, stages: readonly HostStage[], total: number, out: WavesOutcome): Promise<void> {
  const { ctx, params } = run;
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
      if (ctx.outcome(`${h.key}:enable`) !== undefined) ctx.emit('host-done', { host: h.host.name, order: h.host.order, total, version: h.result.versionAfter }, { persist: false });
    }
  }
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
