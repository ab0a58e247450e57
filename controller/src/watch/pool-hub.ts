import { EventEmitter } from 'node:events';
import type { ControllerContext } from '../server/controller-context.js';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import type { PoolConfig } from '../config/inventory.js';
import { probeAgent } from './agent-prober.js';
import { PoolWatcher } from './pool-watcher.js';
import { poolView, type AgentProbe, type PoolView } from './pool-view.js';

/** Changes within this window are sent as one update: a migration touches VM, host and metrics at once. */
const coalesceMs = 25;

interface Followed {
  pool: PoolConfig;
  watcher: PoolWatcher;
  probes: Map<string, AgentProbe>;
  probeTimer: NodeJS.Timeout | undefined;
  pending: NodeJS.Timeout | undefined;
  view: PoolView | undefined;
}

/**
 * Every pool of the inventory followed live: XAPI's objects through event.from (PoolWatcher) and
 * each host's agent probed now and then. Emits `pool` with the new PoolView when anything changed;
 * the dashboard's event stream and the host/certificate metrics are fed from here.
 */
export class PoolHub extends EventEmitter<{ pool: [PoolView] }> {
  readonly #ctx: ControllerContext;
  readonly #tls: TlsMaterial;
  readonly #pools = new Map<string, Followed>();
  readonly #stop = new AbortController();
  #started = false;

  constructor(ctx: ControllerContext, tls: TlsMaterial) {
    super();
    this.setMaxListeners(0);
    this.#ctx = ctx;
    this.#tls = tls;
  }

  get started(): boolean {
    return this.#started;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const pool of this.#ctx.config.pools) this.#follow(pool);
  }

  /** Pools in inventory order; a pool not read yet has connected=false. */
  views(): PoolView[] {
    return [...this.#pools.values()].map((f) => f.view ?? this.#compute(f));
  }

  view(name: string): PoolView | undefined {
    const f = this.#pools.get(name);
    return f === undefined ? undefined : (f.view ?? this.#compute(f));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const f of this.#pools.values()) {
      clearInterval(f.probeTimer);
      clearTimeout(f.pending);
    }
    await Promise.all([...this.#pools.values()].map((f) => f.watcher.stop()));
  }

  #follow(pool: PoolConfig): void {
    const metrics = this.#ctx.metrics;
    const watcher = new PoolWatcher({
      pool,
      logger: this.#ctx.logger,
      open: (signal) => this.#ctx.openXapi(pool, { readOnly: true, signal }),
      onConnected: (up) => metrics.poolWatch.set({ pool: pool.name }, up ? 1 : 0),
    });
    const f: Followed = { pool, watcher, probes: new Map(), probeTimer: undefined, pending: undefined, view: undefined };
    this.#pools.set(pool.name, f);
    let probedOnce = false;
    watcher.on('change', () => {
      this.#schedule(f);
      // The first snapshot names the hosts: probe their agents at once rather than at the first tick.
      if (!probedOnce && watcher.state.connected) {
        probedOnce = true;
        void this.#probeAll(f);
      }
    });
    watcher.start();
    const every = this.#ctx.config.watch.agentProbeSeconds;
    if (every > 0) f.probeTimer = setInterval(() => void this.#probeAll(f), every * 1000);
    f.probeTimer?.unref();
  }

  async #probeAll(f: Followed): Promise<void> {
    if (this.#ctx.config.watch.agentProbeSeconds === 0 || this.#stop.signal.aborted) return;
    const hosts = [...f.watcher.state.records.host.values()];
    let changed = false;
    await Promise.all(
      hosts.map(async (h) => {
        const before = f.probes.get(h.uuid);
        const after = await probeAgent({ agents: this.#ctx.agents, tls: this.#tls }, f.pool, h, before, this.#stop.signal);
        f.probes.set(h.uuid, after);
        this.#ctx.metrics.hostUp.set({ pool: f.pool.name, host: h.name_label, view: 'agent' }, after.state === 'ok' ? 1 : 0);
        if (after.certificateNotAfter !== '') this.#ctx.metrics.certificateExpiry.set({ role: 'agent', name: h.hostname }, Math.floor(Date.parse(after.certificateNotAfter) / 1000));
        if (before === undefined || before.state !== after.state || before.productVersion !== after.productVersion || before.poolRole !== after.poolRole || before.certificateNotAfter !== after.certificateNotAfter) changed = true;
      }),
    );
    if (changed) this.#schedule(f);
  }

  #schedule(f: Followed): void {
    if (f.pending !== undefined || this.#stop.signal.aborted) return;
    f.pending = setTimeout(() => {
      f.pending = undefined;
      const view = this.#compute(f);
      for (const h of view.hosts) this.#ctx.metrics.hostUp.set({ pool: view.name, host: h.name, view: 'xapi' }, h.live ? 1 : 0);
      this.emit('pool', view);
    }, coalesceMs);
  }

  #compute(f: Followed): PoolView {
    f.view = poolView(f.watcher.state, f.probes);
    return f.view;
  }
}

const hubs = new WeakMap<ControllerContext, PoolHub>();

/** The context's one PoolHub (created on first use, started by the caller). */
export function poolHubFor(ctx: ControllerContext, tls: TlsMaterial): PoolHub {
  let hub = hubs.get(ctx);
  if (hub === undefined) {
    hub = new PoolHub(ctx, tls);
    hubs.set(ctx, hub);
  }
  return hub;
}
