import type { AgentContext } from '../server/agent-context.js';
import type { FloatingIpConfig } from './floating-ip.js';

/**
 * The gratuitous ARP burst after a bring-up, running on after the step that started it.
 *
 * `arping -U -c N` sends its first announcement at once and the next ones a second apart. The
 * dom0's iputils s20160308 exits right after the last (catcher() calls finish() when the count
 * reaches 0 in -U mode): N-1 seconds, 2 s with the default 3; newer iputils wait a second after
 * it (20221126 on Debian 12, measured: 1.2, 2.1, 3.2 s for -c 1, 2, 3). The address answers ARP from the moment `ip addr add` returns, and the
 * first announcement repoints the neighbours that cached the old master's MAC; the later ones
 * only repeat it for a frame that was lost. Waiting for the whole burst held a failover's
 * promotion (and the controller's `promoted` and `served`) for N seconds (issue 11), so the burst
 * runs in the background, with the same count and interval.
 *
 * A burst must never outlive the address: an announcement sent after a demotion would point the
 * neighbours back at a host that no longer serves. Every path that removes the floating IP (a
 * slave assertion, a handover's release, the self-fence tear-down, RemoveFloatingIp) stops it
 * first, and a new burst for the same address replaces the one running.
 */
interface Burst {
  stop: AbortController;
  ended: Promise<void>;
}

/** Per agent (its sandbox root: the lab runs several agents in one process) and address. */
const bursts = new Map<string, Burst>();
const keyOf = (ctx: Pick<AgentContext, 'root'>, ip: Pick<FloatingIpConfig, 'iface' | 'address'>) => `${ctx.root.root}\0${ip.iface}\0${ip.address}`;

/**
 * How long the step watches the burst before it returns: an arping that cannot run (no such
 * interface, no permission) exits at once, and fails the step as a failed announce did before.
 */
export const garpWatchMs = 250;

/**
 * Starts the burst (`arping -U -c garpCount -I iface address`), watches it for `watchMs` and
 * returns while it runs on. A failure in that window is thrown (the step fails, the caller
 * retries); one after it is logged (the address is here and answers; only the neighbours' caches
 * wait for their entries to expire). Resolves to the number of announcements under way.
 */
export async function startGarpBurst(ctx: AgentContext, ip: FloatingIpConfig, watchMs = garpWatchMs): Promise<number> {
  const key = keyOf(ctx, ip);
  bursts.get(key)?.stop.abort();
  const stop = new AbortController();
  let watched = true;
  // Never rejects: the failure, or null when the burst ran to its end.
  const outcome = ctx.runner.run('arping', ['-U', '-c', String(ip.garpCount), '-I', ip.iface, ip.address], { signal: stop.signal, timeoutMs: (ip.garpCount + 5) * 1_000 }).then(
    () => null,
    (err: unknown) => err,
  );
  const ended = outcome
    .then((err) => {
      if (err !== null && !watched && !stop.signal.aborted) ctx.logger.error({ address: ip.address, iface: ip.iface, err: err instanceof Error ? err.message : String(err) }, 'gratuitous ARP burst failed: neighbours keep their cached MAC for the floating IP until it expires');
    })
    .finally(() => {
      if (bursts.get(key)?.stop === stop) bursts.delete(key);
    });
  bursts.set(key, { stop, ended });
  let timer: NodeJS.Timeout | undefined;
  const early = await Promise.race([outcome, new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), watchMs)))]);
  clearTimeout(timer);
  watched = false;
  if (early !== 'running' && early !== null && !stop.signal.aborted) throw early;
  return ip.garpCount;
}

/**
 * Stops this address's burst, if one runs: the arping process group gets SIGTERM at once (before
 * this returns), and the promise settles when it has exited. True when one was running.
 */
export function stopGarpBurst(ctx: Pick<AgentContext, 'root'>, ip: Pick<FloatingIpConfig, 'iface' | 'address'>): Promise<boolean> {
  const key = keyOf(ctx, ip);
  const b = bursts.get(key);
  if (b === undefined) return Promise.resolve(false);
  bursts.delete(key);
  b.stop.abort();
  return b.ended.then(() => true);
}

/** Whether a burst runs for this address (tests). */
export function garpBurstRunning(ctx: Pick<AgentContext, 'root'>, ip: Pick<FloatingIpConfig, 'iface' | 'address'>): boolean {
  return bursts.has(keyOf(ctx, ip));
}
