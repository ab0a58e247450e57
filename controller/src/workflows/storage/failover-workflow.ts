import { FailoverReason } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { PoolConfig } from '../../config/inventory.js';
import type { Fencer } from '../../fencing/fencer.js';
import { FencingFailedError } from '../../fencing/fencing-errors.js';
import { IpmiFencer } from '../../fencing/ipmi-fencer.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowContext, WorkflowKind } from '../engine/workflow-engine.js';
import { signalWithin } from '@xsctl/common/signals/index';
import { realSleep } from '../sleep.js';
import { assessSurvivor, fencedByPower, floatingIpObservation, selfFenceBound, selfFenceEvidence, selfFenceVerdict, type SelfFenceEvidence } from './failover-assess.js';
import { recoverXapi } from './recover-xapi.js';
import { retry } from './retry.js';
import { assertRoleOn, peerViewOf, specFor, storageConfigOf, type StorageHost } from './storage-pool.js';
import { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';
import { verifyFromInitiator } from './verify-initiator.js';

export const STORAGE_FAILOVER = 'storage-failover';

export interface FailoverParams {
  failed: StorageHost;
  survivor: StorageHost;
  reason: string;
  automatic: boolean;
  /** The master's last heartbeat before it was lost (ISO): where the self-fence bound starts. */
  detectedAt: string;
  /** When the witness (or the admin) declared it lost and started this failover (ISO). */
  declaredAt?: string;
}

export function fencerFor(pool: PoolConfig): Fencer | null {
  const f = storageConfigOf(pool).fencing;
  return f.method === 'ipmi' ? new IpmiFencer(f.hosts) : null;
}

/**
 * An unplanned failover, decided by the controller (the witness): assess (rules 1, 3, 10: the
 * survivor's replication link is down, its data UpToDate, no split brain) -> fence the lost
 * master (rule 2: IPMI power off confirmed; with self-fencing, wait out its bound) -> promote the
 * survivor (rule 5) -> verify as an initiator -> recover XAPI in xapi's order:
 * pool.emergency_transition_to_master on the survivor when the dead host was the pool master,
 * pool.recover_slaves, VM.power_state_reset only for the proven-fenced host's VMs, then start the
 * VMs that were running there. A failed fence stops the workflow loudly before any promotion.
 */
export function failoverKind(ctx: ControllerContext): WorkflowKind {
  return {
    kind: STORAGE_FAILOVER,
    run: (w) => runFailover(ctx, w),
    compensate: async () => undefined,
    describeFailure: (err) => (err instanceof FencingFailedError ? `${err.message} (FENCING_FAILED)` : err instanceof Error ? err.message : String(err)),
  };
}

async function runFailover(ctx: ControllerContext, w: WorkflowContext): Promise<unknown> {
  const p = w.params as FailoverParams;
  const stopHeartbeat = keepHeartbeat(ctx, ctx.pool(w.pool), p.survivor, w.signal);
  try {
    return await failoverPhases(ctx, w, p);
  } catch (err) {
    // A refused failover leaves the pool without storage until an admin acts (the master is
    // lost and the survivor may not serve): as loud as a failed fence, with the typed reason.
    if (err instanceof StorageRoleChangeRefusedError) {
      w.emit('failover-refused', { host: err.host, code: err.code, reason: err.reason, message: err.message });
      w.logger.error({ pool: w.pool, host: err.host, code: err.code }, `FAILOVER REFUSED (${err.code}): ${err.message}; nothing is promoted`);
    }
    throw err;
  } finally {
    stopHeartbeat();
  }
}

/**
 * The witness's heartbeat to the survivor for as long as the failover runs. The witness monitor
 * sends it too, but a controller restarted in the middle of a failover cannot: its monitor reads
 * the pool's hosts from XAPI, whose master is the dead host until this workflow's XAPI recovery.
 * Without it the survivor, promoted here with its replication link down and no witness call for
 * longer than selfFenceAfterMs, self-fences at once (fault-matrix row "controller SIGKILLed in the
 * middle of a failover": the resumed workflow ended done and xs2 was not Primary).
 */
export function keepHeartbeat(ctx: ControllerContext, pool: PoolConfig, survivor: StorageHost, signal: AbortSignal): () => void {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const every = storageConfigOf(pool).failover.pollIntervalMs;
  // On a fixed grid, not `every` after each answer: the survivor counts its witness silence from
  // each call's arrival, and a slow answer (a loaded survivor, 1.5 s at most) sleeping `every`
  // after it stretched the gap to the call plus `every`, past selfFenceAfterMs (1.5 s: the bench
  // saw a promoted survivor self-fence at 1612 ms of silence during the XAPI recovery). Calls may
  // overlap; each ends within its 1.5 s timeout, so at most 1500 / every of them are in flight.
  const loop = async (): Promise<void> => {
    let next = performance.now();
    while (!both.aborted) {
      void peerViewWithin(ctx, pool, survivor, both, 1_500).catch(() => undefined);
      // A stalled event loop starts the grid again from now instead of firing the missed ticks at once.
      next = Math.max(next + every, performance.now());
      await realSleep(next - performance.now(), both).catch(() => undefined);
    }
  };
  void loop();
  return () => stop.abort();
}

/**
 * peerViewOf, ended after `ms` in all (the agent client's retries included) or when `signal`
 * aborts: signalWithin's held timer (an AbortSignal.timeout() inside AbortSignal.any() is lost to a
 * gc() on Node 20 and the call then ran for the client's 3 attempts of 1.5 s).
 */
async function peerViewWithin(ctx: ControllerContext, pool: PoolConfig, h: StorageHost, signal: AbortSignal, ms: number): Promise<PeerView> {
  const { signal: call, release } = signalWithin(signal, ms, `${h.name}: no peer view within ${ms} ms`);
  try {
    return await peerViewOf(ctx, pool, h, call);
  } finally {
    release();
  }
}

/**
 * Self-fence evidence from the survivor's peer watch: 'silent' once an observation taken after
 * `since` shows the floating IP neither on the survivor nor answering ARP elsewhere; 'answers'
 * if it still answers at `until`; 'unknown' when the survivor gave no usable view by then.
 */
async function oldMasterSilent(ctx: ControllerContext, pool: PoolConfig, survivor: StorageHost, since: number, until: number, every: number, signal: AbortSignal): Promise<SelfFenceEvidence> {
  let seen: 'answers' | 'unknown' = 'unknown';
  for (;;) {
    const asked = Date.now();
    const v = await peerViewWithin(ctx, pool, survivor, signal, 1_500).catch(() => null);
    const next = selfFenceEvidence(seen, floatingIpObservation(v, asked, since), Date.now(), until);
    if ('done' in next) return next.done;
    seen = next.seen;
    await realSleep(every, signal);
  }
}

async function failoverPhases(ctx: ControllerContext, w: WorkflowContext, p: FailoverParams): Promise<unknown> {
  const pool = ctx.pool(w.pool);
  const storage = storageConfigOf(pool);
  const signal = w.signal;
  const stamp = () => new Date().toISOString();
  // The timeline (issue 11: detected, fenced, promoted, served, xapiRecovered) is recorded as it
  // goes, one persisted 'failover-phase' event per phase, so a failover that fails later (its XAPI
  // recovery) or is still running shows how far it got. The times come from journaled step
  // outcomes where there is one: a resumed failover keeps the original times.
  const timeline: Record<string, string> = {};
  const phase = (name: string, at: string): void => {
    timeline[name] = at;
    w.emit('failover-phase', { phase: name, at });
  };
  phase('lastHeartbeat', p.detectedAt);
  phase('detected', p.declaredAt ?? p.detectedAt);

  await w.step('assess', {
    host: p.survivor.name,
    run: async () => {
      // A busy survivor may miss one short deadline: that is no reason to give up the failover.
      const v = await retry(() => peerViewOf(ctx, pool, p.survivor, signal), signal, 30_000);
      const refused = assessSurvivor(v, p.failed.name, p.survivor.name);
      if (refused !== null) throw refused;
      return { heldRole: v.heldRole, drbd: v.drbd.map((d) => `${d.name}:${d.role}/${d.disk}/${d.connection}`) };
    },
  });

  const fencer = fencerFor(pool);
  const fence = await w.step(`fence:${p.failed.name}`, {
    host: p.failed.name,
    check: async () => (fencer !== null && fencedByPower(await fencer.powerState(p.failed.name, signal).catch(() => 'on')) ? { method: fencer.method, confirmedOff: true, at: stamp() } : undefined),
    run: async (io) => {
      if (fencer === null) {
        // Quorum, not power: the witness sees the survivor, and the lost master stops serving
        // after selfFenceAfterMs without the witness; promote only once that bound has passed.
        // Two conditions, both required (docs/storage-safety-rules.md, "Self-fencing"):
        // 1. The bound: the self-fence is due selfFenceAfterMs after the last witness call the
        //    old master may have received (at most detectedAt), and its tear-down has a deadline
        //    of selfFenceTeardownMs; the config refuses a detectAfterMs that is not longer than
        //    both, and the wait below is that bound plus the failover delay. It is the only
        //    evidence for DRBD Secondary: across a cut replication link the survivor cannot see
        //    the old master's role.
        // 2. Evidence where the survivor can get it: the floating IP, absent on the survivor, no
        //    longer answers ARP from the survivor's side (its peer watch probes every round, in
        //    an observation taken after the bound). The IP goes first in the tear-down, so a
        //    master still answering past the bound has overrun its deadline or never fenced:
        //    nothing is promoted until it stops, and after one more failover delay the failover
        //    is refused, loudly (STORAGE_OLD_MASTER_SERVING). A survivor that cannot answer is
        //    no evidence either way; then the bound alone is used, as before.
        const bound = selfFenceBound(p.detectedAt, storage.failover.selfFenceAfterMs, storage.failover.detectAfterMs);
        const wait = bound - Date.now();
        io.progress({ phase: 'fence', message: `waiting ${Math.max(0, wait)} ms for ${p.failed.name}'s self-fence bound` });
        if (wait > 0) await realSleep(wait, signal);
        const evidence = await oldMasterSilent(ctx, pool, p.survivor, bound, bound + storage.failover.detectAfterMs, storage.failover.pollIntervalMs, signal);
        const serving = selfFenceVerdict(evidence, p.failed.name, storage.failover.detectAfterMs);
        if (serving !== null) throw serving;
        return { method: 'self', confirmedOff: false, at: stamp(), evidence };
      }
      io.progress({ phase: 'fence', message: `${fencer.method}: powering ${p.failed.name} off` });
      try {
        const out = await fencer.fence(p.failed.name, signal);
        return { method: out.method, confirmedOff: true, at: stamp(), detail: out.detail, durationMs: out.durationMs };
      } catch (err) {
        w.emit('fencing-failed', { host: p.failed.name, message: err instanceof Error ? err.message : String(err) });
        w.logger.error({ pool: w.pool, host: p.failed.name, err: err instanceof Error ? err.message : String(err) }, 'FENCING FAILED: nothing is promoted');
        throw err;
      }
    },
  });
  phase('fenced', fence.at);

  const promoted: { at?: string } = await w.step(`promote:${p.survivor.name}`, {
    host: p.survivor.name,
    run: async () => {
      const spec = specFor(storage, p.survivor.name);
      // confirmedOff is the fencer's power state read back off (IPMI), never the self-fence wait:
      // peerFencedByPower lets the survivor hold its self-fence while that peer stays silent.
      const peerSafety = { witnessAddress: '', witnessInterface: '', ...spec.peerSafety, peerFenced: fence.confirmedOff, peerFencedByPower: fence.confirmedOff, failoverReason: FailoverReason.FAILOVER_REASON_PEER_HOST_NOT_LIVE };
      return { ...(await assertRoleOn(ctx, pool, p.survivor, StorageRole.STORAGE_ROLE_MASTER, signal, { ...spec, peerSafety })), at: stamp() };
    },
  });
  phase('promoted', promoted.at ?? stamp());
  const verified = await w.step('verify', { run: async () => ({ ...(await verifyFromInitiator(storage, signal)), at: stamp() }) });
  phase('served', verified.at ?? stamp());

  await recoverXapi(w, pool, p, fence.confirmedOff);
  phase('xapiRecovered', stamp());
  w.emit('failover-timeline', { failed: p.failed.name, survivor: p.survivor.name, reason: p.reason, automatic: p.automatic, timeline });
  return { pool: w.pool, failed: p.failed.name, survivor: p.survivor.name, reason: p.reason, automatic: p.automatic, fence, timeline, verified };
}
