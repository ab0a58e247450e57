// npm run bench:failover: storage failover and switchover of a two-node DRBD + tgtd pool on the
// namespaced lab (test/src/fleet/storage-lab.ts: CLI, controller process, agents, real tgtd,
// drbdadm + the DRBD simulator in network mode, ipmi_sim, the XAPI simulator; the initiator is
// iscsi-inq in its own namespace). Needs root. Prints JSON:
//   trials, medianMs, p95Ms   unplanned failover: the storage master's death (all its links and
//                             processes gone) -> the LUN answering again on the floating IP
//   phasesMsAfterDeath        medians of the failover's timeline phases, ms after the death
//   perTrial                  each trial's first answer and phases, ms after the death
//   promotionMs               medians of where the fenced -> promoted time goes, from the
//                             controller's journal: the gap before the promote step, the agent's
//                             own steps (drbd-primary, tgtd, target, portal-open, floating-ip,
//                             garp), the call's time outside them; fence and verify step times
//   invariants                over the trials: dualPrimary, dualFloatingIp, promotionsWithoutUpToDate
//                             moments; identityBroken: trials failing identity-invariant.ts
//   ioGap {medianMs, p95Ms}   planned switchover: the longest pause a logged-in initiator session
//                             (iscsi-perf reading) saw; freshLogin: the monitor's INQUIRY probes
//   anchor                    the same harness with HA-Lizard's default timers
//   faultMatrix               every row of test/src/fleet/fault-matrix.ts (fresh lab each)
//                             identitiesBefore/After: INQUIRY answers the initiator saw before
//                             and after the row's fault; servedAfter: the row serves the LUN after it
// Options: --trials N (20), --anchor-trials N (3), --switchovers N (5), --matrix-stride K (1; 0 = skip).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { failoverDefaults } from '@xsctl/controller/config/storage-config-schema';
import { DrbdServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StorageLab } from '@xsctl/test/fleet/storage-lab';
import { LabMonitor } from '@xsctl/test/fleet/lab-monitor';
import { IDENTITY, runScenario, scenarios, strideOf, witness } from '@xsctl/test/fleet/fault-matrix';
import { identityInvariant } from '@xsctl/test/fleet/identity-invariant';
import { longestPauseMs, startPerfSession } from '@xsctl/test/fleet/perf-session';
import { onInterrupt } from './lib/harness.mjs';

const { values: opts } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    'anchor-trials': { type: 'string', default: '3' },
    switchovers: { type: 'string', default: '5' },
    'matrix-stride': { type: 'string', default: '1' },
  },
});
const log = (...a) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${a.join(' ')}\n`);
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const median = (xs) => quantile(xs, 0.5);

/**
 * HA-Lizard's defaults as its how-to sets them (ha-cfg set MONITOR_DELAY 15, XAPI_COUNT 2,
 * XAPI_DELAY 10; MONITOR_SCANRATE 10): the slave looks at the master once per monitor cycle
 * (MONITOR_DELAY) and declares it dead after XAPI_COUNT failed XAPI checks XAPI_DELAY apart.
 * Mapped onto our witness: poll every MONITOR_DELAY, lost after XAPI_COUNT x XAPI_DELAY.
 */
const HA_LIZARD = { MONITOR_DELAY: 15, XAPI_COUNT: 2, XAPI_DELAY: 10, MONITOR_SCANRATE: 10 };
const anchorTimers = { pollIntervalMs: HA_LIZARD.MONITOR_DELAY * 1000, detectAfterMs: HA_LIZARD.XAPI_COUNT * HA_LIZARD.XAPI_DELAY * 1000, selfFenceAfterMs: HA_LIZARD.XAPI_COUNT * HA_LIZARD.XAPI_DELAY * 1000 - 5_000 };
/** Ours: as fast as this shared machine allows without false alarms. */
// The product's defaults, read from the schema so the bench follows them (pollIntervalMs 500 is
// pool-storage-config.ts's default): detectAfterMs 3000 > selfFenceAfterMs 1500 + selfFenceTeardownMs 1000.
const ourTimers = { pollIntervalMs: 500, ...failoverDefaults };

/**
 * Where one failover's time went between its phases, from the controller's journal (the lab's
 * journal.sqlite, read-only beside the running controller; better-sqlite3 as the controller
 * resolves it): each step's start and end, and the promote step's outcome, whose `steps` are the
 * survivor agent's own steps as it timed them ("name:Nms"). `callOutsideStepsMs` is the promote
 * call's time not spent in those steps: the gRPC round trip, the agent's lock and intent record.
 */
const Database = createRequire(createRequire(import.meta.url).resolve('@xsctl/controller/package.json'))('better-sqlite3');
function stepBreakdown(lab, workflowId) {
  const db = new Database(join(lab.base, 'journal.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT name, started_at, finished_at, outcome FROM step WHERE workflow_id = ? ORDER BY seq').all(workflowId);
    const ms = (r) => (r?.finished_at ? Date.parse(r.finished_at) - Date.parse(r.started_at) : null);
    const fence = rows.find((r) => r.name.startsWith('fence:'));
    const promote = rows.find((r) => r.name.startsWith('promote:'));
    const verify = rows.find((r) => r.name === 'verify');
    const agentSteps = Object.fromEntries(
      (JSON.parse(promote?.outcome ?? '{}').steps ?? []).map((s) => {
        const m = /^(.*):(\d+)ms$/.exec(s);
        return m === null ? [s, null] : [m[1], Number(m[2])];
      }),
    );
    const promoteMs = ms(promote);
    const inSteps = Object.values(agentSteps).reduce((a, v) => a + (v ?? 0), 0);
    return {
      fenceStepMs: ms(fence),
      fencedToPromoteStartMs: fence?.finished_at && promote ? Date.parse(promote.started_at) - Date.parse(fence.finished_at) : null,
      promoteStepMs: promoteMs,
      agentSteps,
      callOutsideStepsMs: promoteMs === null ? null : promoteMs - inSteps,
      verifyStepMs: ms(verify),
    };
  } finally {
    db.close();
  }
}

/** The failover's timeline, as the workflow records it (failover-phase events). */
const PHASES = ['lastHeartbeat', 'detected', 'fenced', 'promoted', 'served', 'xapiRecovered'];

/** One unplanned failover after another, the dead host booted and resynced in between. */
async function failoverTrials(n, timers) {
  const lab = await StorageLab.start({ automatic: true, holdDownMs: 0, ...timers });
  // On SIGINT the lab's namespaces, daemons and directories go too (close() is what the finally runs).
  const forget = onInterrupt(() => lab.close());
  const out = [];
  try {
    await lab.startController();
    let master = 'xs1';
    await lab.until('the witness sees xs1', async () => ((await witness(lab)).storageMaster === 'xs1' ? true : undefined), 120_000);
    for (let i = 0; i < n; i++) {
      const survivor = master === 'xs1' ? 'xs2' : 'xs1';
      let mon = null;
      try {
        mon = new LabMonitor(lab);
        await sleep(1_000);
        const before = (await witness(lab)).last?.workflowId;
        // The death is the first cable cut: the probes that measure the first answer start now
        // (loseHost also waits for the dead agent's shutdown, up to 5 s; marking after it, as
        // before, left that time out of every trial).
        const lost = Date.now();
        mon.markDeath();
        // Probes started before both cables are cut may still reach the old master: they do not count.
        await lab.loseHost(master, () => mon.cablesCut());
        const w = await lab.until('failover', async () => {
          const s = await witness(lab);
          return s.last?.kind === 'storage-failover' && s.last.workflowId !== before && (s.last.state === 'done' || s.last.state === 'failed') ? s : undefined;
        }, 300_000);
        const served = await lab.until('the LUN answers', async () => ((await lab.inquiry()) !== null ? Date.now() : undefined), 60_000);
        const m = await mon.stop();
        const t = JSON.parse(w.last.timelineJson || '{}');
        const at = (k) => (t[k] ? Date.parse(t[k]) : NaN);
        const breakdown = stepBreakdown(lab, w.last.workflowId);
        const r = {
          // The storage moved (the survivor Primary, the LUN answering): a trial for the storage
          // timing even when the XAPI recovery after it failed; that is counted apart (xapiFailures).
          ok: w.last.state === 'done' || ((await lab.kernelState(survivor))?.role === 'Primary' && /^XAPI_/.test(w.last.errorCode ?? '')),
          xapiOk: w.last.state === 'done',
          totalMs: m.firstAnswerAfterMs >= 0 ? m.firstAnswerAfterMs : served - lost,
          // Each phase of the workflow's timeline (its failover-phase events), in ms after the death.
          phases: Object.fromEntries(PHASES.map((k) => [k, Number.isFinite(at(k)) ? at(k) - lost : null])),
          breakdown,
          // The fault matrix's identity invariant (identity-invariant.ts): the lab's one identity seen
          // before the death and again after it (a failover serves the LUN after), nothing else.
          invariants: { dualPrimary: m.dualPrimary, dualFloatingIp: m.dualFloatingIp, promotionsWithoutUpToDate: m.promotionsWithoutUpToDate, identity: identityInvariant(m, IDENTITY, true).reason, identities: m.identities },
        };
        const phaseText = PHASES.map((k) => `${k} ${r.phases[k] ?? '-'}`).join(', ');
        log(`trial ${i + 1}/${n}: ${master} lost -> ${survivor} serving after ${r.totalMs} ms (${w.last.state}${w.last.state === 'done' ? '' : `: ${w.last.errorCode ?? ''} ${w.last.error ?? ''}`}); ms after the death: ${phaseText}`);
        log(`trial ${i + 1}/${n}: steps (ms): ${JSON.stringify(breakdown)}`);
        if (!r.xapiOk) r.xapiError = `trial ${i + 1}: failover ${w.last.state}: ${w.last.errorCode ?? ''} ${w.last.error ?? ''}`.trim();
        if (!r.ok) r.error = r.xapiError;
        out.push(r);
        if (!r.ok) break;
        // The dead host boots (its DRBD metadata as the crash left it); DRBD comes up as Secondary
        // (`drbdadm up`, what the boot role does), becomes SyncTarget of the new master and resyncs.
        await lab.bootHost(master);
        await lab.node(master).client(DrbdServiceDefinition).upDrbd({ resource: 'iscsi1' });
        await lab.until('resynced', async () => {
          const s = await lab.drbdState(master);
          return s?.connection === 'Connected' && s.disk === 'UpToDate' ? true : undefined;
        }, 120_000);
        await lab.until('the witness sees both', async () => ((await witness(lab)).hosts.every((h) => h.reachable) ? true : undefined), 60_000);
        master = survivor;
      } catch (err) {
        // A wait that timed out leaves the lab in an unknown state: the series ends here, recorded.
        log(`trial ${i + 1}/${n} aborted: ${err instanceof Error ? err.message : String(err)}`);
        out.push({ ok: false, error: err instanceof Error ? err.message : String(err) });
        await mon?.stop().catch(() => undefined);
        break;
      }
    }
  } finally {
    forget();
    await lab.close();
  }
  return out;
}

/**
 * Planned switchovers back and forth, each under a logged-in initiator session reading all the
 * time (iscsi-perf, perf-session.ts: its longest pause is the I/O gap) while the lab monitor
 * probes with fresh logins (INQUIRY every 100 ms: how long the LUN is not reachable at all).
 */
async function switchoverGaps(n) {
  const lab = await StorageLab.start({ automatic: false });
  // On SIGINT the lab's namespaces, daemons and directories go too (close() is what the finally runs).
  const forget = onInterrupt(() => lab.close());
  const out = { session: [], freshLogin: [], failedReads: 0, reconnects: 0, invariantsBroken: 0 };
  const url = `iscsi://xsinit%Lab-CHAP-secret-77@${lab.floatingIp}/iqn.2013-05.com.example:xsctl.lab/10`;
  try {
    await lab.startController();
    for (let i = 0; i < n; i++) {
      const mon = new LabMonitor(lab);
      const session = startPerfSession(lab, url);
      await session.reading();
      await sleep(1_500);
      const started = performance.now();
      const r = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes'], 600_000);
      const switched = performance.now();
      await lab.until('reads after the switchover', async () => (session.progress.filter((p) => p.at > switched && p.iops > 0).length >= 3 ? true : undefined), 60_000).catch(() => undefined);
      const s = await session.stop();
      const m = await mon.stop();
      // Each planned switchover must keep the invariants too.
      if (m.dualPrimary + m.dualFloatingIp + m.promotionsWithoutUpToDate > 0) {
        out.invariantsBroken++;
        log(`switchover ${i + 1}: INVARIANTS BROKEN ${JSON.stringify(m)}`);
      }
      if (r.exitCode !== 0) {
        log(`switchover ${i + 1} failed: ${r.stderr.trim().split('\n').at(-1)}`);
        break;
      }
      const resumed = s.progress.some((p) => p.at > switched && p.iops > 0);
      if (s.failure !== null || !resumed) out.failedReads++;
      out.reconnects += s.reconnects.length;
      const pause = longestPauseMs(s.progress, started - 1_000);
      log(`switchover ${i + 1}/${n}: ${Math.round(switched - started)} ms; session pause ${pause} ms (${s.reconnects.length} reconnect(s)${s.failure === null ? '' : `, FAILED READ: ${s.failure}`}${resumed ? '' : ', READS NEVER RESUMED'}); fresh-login gap ${m.longestGapMs} ms`);
      out.session.push(pause);
      out.freshLogin.push(m.longestGapMs);
    }
  } finally {
    forget();
    await lab.close();
  }
  return out;
}

const trials = Number(opts.trials);
const ours = trials > 0 ? await failoverTrials(trials, ourTimers) : [];
const anchorRuns = Number(opts['anchor-trials']) > 0 ? await failoverTrials(Number(opts['anchor-trials']), anchorTimers) : [];
const gaps = Number(opts.switchovers) > 0 ? await switchoverGaps(Number(opts.switchovers)) : { session: [], freshLogin: [], failedReads: 0, reconnects: 0, invariantsBroken: 0 };
const stride = Number(opts['matrix-stride']);
const faultMatrix = [];
if (stride > 0) {
  for (const s of strideOf(scenarios, stride)) {
    log(`matrix: ${s.name}`);
    const r = await runScenario(s).catch((err) => ({ scenario: s.name, passed: false, dualPrimary: -1, dualFloatingIp: -1, promotionsWithoutUpToDate: -1, identitiesBefore: -1, identitiesAfter: -1, servedAfter: s.servedAfter, ms: 0, detail: `lab: ${err instanceof Error ? err.message : String(err)}` }));
    log(`matrix: ${s.name}: ${r.passed ? 'passed' : `FAILED (${r.detail})`}`);
    faultMatrix.push({ scenario: r.scenario, passed: r.passed, dualPrimary: r.dualPrimary, dualFloatingIp: r.dualFloatingIp, promotionsWithoutUpToDate: r.promotionsWithoutUpToDate, identitiesBefore: r.identitiesBefore, identitiesAfter: r.identitiesAfter, servedAfter: r.servedAfter, ms: r.ms, detail: r.detail });
  }
}
function medianBreakdown(bs) {
  const of = (f) => median(bs.map(f).filter((v) => typeof v === 'number'));
  const names = [...new Set(bs.flatMap((b) => Object.keys(b.agentSteps)))];
  return {
    fenceStepMs: of((b) => b.fenceStepMs),
    fencedToPromoteStartMs: of((b) => b.fencedToPromoteStartMs),
    promoteStepMs: of((b) => b.promoteStepMs),
    agentSteps: Object.fromEntries(names.map((k) => [k, of((b) => b.agentSteps[k])])),
    callOutsideStepsMs: of((b) => b.callOutsideStepsMs),
    verifyStepMs: of((b) => b.verifyStepMs),
  };
}
const ok = ours.filter((r) => r.ok);
const totals = ok.map((r) => r.totalMs);
const result = {
  trials: ok.length,
  failedTrials: ours.length - ok.length,
  // Failovers whose storage moved but whose XAPI recovery (emergency transition, recover_slaves,
  // VM resets) failed: the workflow ended failed.
  xapiFailures: ours.filter((r) => r.xapiOk === false).map((r) => r.xapiError),
  errors: ours.filter((r) => r.error !== undefined).map((r) => r.error),
  medianMs: median(totals),
  p95Ms: quantile(totals, 0.95),
  timers: ourTimers,
  // Medians, in ms after the storage master's death, of each phase of the workflow's timeline:
  // lastHeartbeat (its last answer to the witness), detected (declared lost, the failover
  // started), fenced, promoted (the survivor's role asserted), served (the controller's own
  // initiator check), xapiRecovered. medianMs is the bench's probe: the first INQUIRY answered.
  phasesMsAfterDeath: Object.fromEntries(PHASES.map((k) => [k, median(ok.map((r) => r.phases?.[k]).filter((v) => typeof v === 'number'))])),
  // Each trial: the probe's first answer and the timeline phases, ms after the death (the medians above hide the spread).
  perTrial: ok.map((r) => ({ totalMs: r.totalMs, ...r.phases, breakdown: r.breakdown })),
  // Medians of where the fenced -> promoted -> served time went (stepBreakdown): the fence and
  // verify steps, the gap before the promote step, the survivor agent's steps, the call outside them.
  promotionMs: medianBreakdown(ok.map((r) => r.breakdown).filter((b) => b !== undefined)),
  invariants: {
    dualPrimary: ours.reduce((a, r) => a + (r.invariants?.dualPrimary ?? 0), 0),
    dualFloatingIp: ours.reduce((a, r) => a + (r.invariants?.dualFloatingIp ?? 0), 0),
    promotionsWithoutUpToDate: ours.reduce((a, r) => a + (r.invariants?.promotionsWithoutUpToDate ?? 0), 0),
    // Trials whose initiator did not see the lab's identity before and after the death, and why.
    identityBroken: ours.flatMap((r, i) => ((r.invariants?.identity ?? '') === '' ? [] : [`trial ${i + 1}: ${r.invariants.identity}`])),
  },
  ioGap: {
    switchovers: gaps.session.length,
    medianMs: median(gaps.session),
    p95Ms: quantile(gaps.session, 0.95),
    failedReads: gaps.failedReads,
    reconnects: gaps.reconnects,
    invariantsBroken: gaps.invariantsBroken,
    freshLogin: { medianMs: median(gaps.freshLogin), p95Ms: quantile(gaps.freshLogin, 0.95) },
  },
  anchor: {
    name: `HA-Lizard defaults (MONITOR_DELAY ${HA_LIZARD.MONITOR_DELAY}, XAPI_COUNT ${HA_LIZARD.XAPI_COUNT}, XAPI_DELAY ${HA_LIZARD.XAPI_DELAY}, MONITOR_SCANRATE ${HA_LIZARD.MONITOR_SCANRATE}) on the same harness`,
    timers: anchorTimers,
    trials: anchorRuns.filter((r) => r.ok).length,
    medianMs: median(anchorRuns.filter((r) => r.ok).map((r) => r.totalMs)),
  },
  goal: { medianMs: 5_000, p95Ms: 8_000, ioGapMs: 2_000 },
  faultMatrix,
  load: (await import('node:os')).loadavg().map((l) => Math.round(l * 10) / 10),
};
result.anchor.ratio = result.medianMs && result.anchor.medianMs ? Math.round((result.anchor.medianMs / result.medianMs) * 10) / 10 : null;
result.goalMet = { median: result.medianMs !== null && result.medianMs <= 5_000, p95: result.p95Ms !== null && result.p95Ms <= 8_000, ioGap: result.ioGap.medianMs !== null && result.ioGap.p95Ms <= 2_000 && result.ioGap.failedReads === 0, matrix: faultMatrix.length === 0 ? null : faultMatrix.every((r) => r.passed) };
// matrix is null, not true, when this run ran no row (--matrix-stride 0): an empty matrix proves nothing.
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
