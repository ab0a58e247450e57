import { signalWithin } from '@xsctl/common/signals/index';
import { drbdadm } from '../drbd/drbd-ops.js';
import { drbdadmArgs } from '../drbd/drbdadm-args.js';
import { stopGarpBurst } from '../network/garp-burst.js';
import type { AgentContext } from '../server/agent-context.js';
import { stopTgtd, withdrawTarget } from '../target/tgt-ops.js';
import type { StorageConfig } from './assert-role.js';

/** The tear-down budget when the witness does not send one (PeerWatchSpec.selfFenceTeardownMs = 0). */
export const defaultSelfFenceTeardownMs = 1_000;

export interface SelfFenceStep {
  name: string;
  ok: boolean;
  detail: string;
  durationMs: number;
}

export interface SelfFenceResult {
  ok: boolean;
  /** From the start to the last bounded step's end (IP, target, DRBD), ms. */
  durationMs: number;
  steps: SelfFenceStep[];
}

/**
 * Each step's share of the budget. The first two stop initiators reaching this host; DRBD
 * Secondary is last because the kernel refuses it while tgtd holds the device open. Every step
 * gets its own deadline (and never past the whole budget), and a step that fails or runs out
 * does not stop the next: each one alone takes something away from a would-be second master.
 */
const shares = { 'floating-ip': 0.25, target: 0.35 } as const;

/**
 * The self-fence tear-down, reached when this node serves with neither a Connected replication
 * link nor a witness call for selfFenceAfterMs. It differs from a role assertion (assertRole) on
 * purpose, because the lab measured 36.7 s for that path at load 14 while the controller waits
 * only its failover delay:
 * - no `show` before each change (ip addr show, tgtadm --op show, drbdadm status per step: every
 *   spawn from a busy process costs, and the changes are idempotent by exit code);
 * - no role lock: the lock may be held by a call that waits on this host's slow commands, and the
 *   witness that would send a competing role change is exactly what this node has lost; tearing
 *   down is the safe side of any race;
 * - no intent journal write (fsync) and no log line before the IP and the target are gone;
 * - tgtd is stopped after DRBD Secondary, outside the budget (its graceful stop may wait
 *   stopGraceMs three times), and the old order's target-delete retry loop (5 s) is bounded by
 *   the step's deadline.
 */
export async function selfFenceTearDown(ctx: AgentContext, c: StorageConfig, budgetMs: number, signal: AbortSignal): Promise<SelfFenceResult> {
  const start = performance.now();
  const end = start + budgetMs;
  const steps: SelfFenceStep[] = [];
  const step = async (name: string, shareMs: number, run: (s: AbortSignal) => Promise<string>): Promise<void> => {
    const t0 = performance.now();
    const ms = Math.round(Math.max(50, Math.min(shareMs, end - t0)));
    // A held timer (signalWithin): an AbortSignal.timeout() inside AbortSignal.any() is lost to a
    // gc() on Node 20, and the step then ran for its commands' own timeouts, past the budget the
    // controller's failover delay is set to exceed.
    const { signal: s, release } = signalWithin(signal, ms, `deadline ${Math.round(ms)} ms passed`);
    try {
      steps.push({ name, ok: true, detail: await run(s), durationMs: Math.round(performance.now() - t0) });
    } catch (err) {
      signal.throwIfAborted();
      steps.push({ name, ok: false, detail: s.aborted ? `deadline ${Math.round(ms)} ms passed` : err instanceof Error ? err.message : String(err), durationMs: Math.round(performance.now() - t0) });
    } finally {
      release();
    }
  };
  // 1. Initiators stop reaching this host: the address goes (iproute exits 2 when it is not here).
  await step('floating-ip', budgetMs * shares['floating-ip'], async (s) => {
    // A bring-up's GARP burst still under way (garp-burst.ts) gets SIGTERM now, before the
    // address goes; its exit is not waited for inside the deadline.
    void stopGarpBurst(ctx, c.ip);
    const r = await ctx.runner.run('ip', ['addr', 'del', `${c.ip.address}/${c.ip.prefixLength}`, 'dev', c.ip.iface], { signal: s, timeoutMs: Math.round(budgetMs), okExitCodes: [2] });
    return r.exitCode === 2 ? 'not here' : 'removed';
  });
  // 2. The target goes offline and is deleted (sessions dropped, backing store closed).
  await step('target', budgetMs * shares.target, async (s) => `tid ${c.target.tid} ${await withdrawTarget(ctx, c.tgtd, c.target.tid, s)}`);
  // 3. DRBD Secondary, in reverse order of the bring-up, with what is left of the budget.
  for (const r of [...c.resources].reverse()) {
    // One spawn: `drbdadm secondary` on a Secondary succeeds and changes nothing, so no status
    // read before (demote() reads it before and after: three spawns, each a second under load).
    await step(`drbd-secondary:${r}`, end - performance.now(), async (s) => (await drbdadm(ctx, r, drbdadmArgs.secondary(r), s, Math.round(budgetMs)), 'Secondary'));
  }
  return { ok: steps.every((s) => s.ok), durationMs: Math.round(performance.now() - start), steps };
}

/** After the bounded steps: tgtd itself, which nothing serves through any more. Best effort. */
export async function selfFenceCleanup(ctx: AgentContext, c: StorageConfig, signal: AbortSignal): Promise<string> {
  const s = await stopTgtd(ctx, c.tgtd, c.stopGraceMs, signal);
  return s.changed ? `tgtd stopped (${s.how})` : 'tgtd not running';
}
