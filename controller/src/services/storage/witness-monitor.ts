import type { PeerView } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import type { PoolConfig } from '../../config/inventory.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowEngine } from '../../workflows/engine/workflow-engine.js';
import type { WorkflowRow } from '../../workflows/engine/workflow-store.js';
import { STORAGE_FAILOVER, type FailoverParams } from '../../workflows/storage/failover-workflow.js';
import { peerViewOf, pickStorageHosts, storageConfigOf, storageHosts, type StorageHost } from '../../workflows/storage/storage-pool.js';
import { failoverTrigger } from './failover-trigger.js';
import { reassertTrigger } from '../../workflows/storage/reassert-decision.js';
import { STORAGE_REASSERT, type ReassertParams } from '../../workflows/storage/reassert-workflow.js';

/** How often a witness running on the journal's hosts asks XAPI again. */
const XAPI_RETRY_MS = 5_000;
/** How often a witness that has XAPI's listing reads it again (the pool master may have moved). */
const XAPI_RELIST_MS = 30_000;

/**
 * How often the witness asks the survivor while the storage master is silent (#watchSurvivor):
 * a fifth of the poll interval, 20-100 ms. A call answers from the agent's latest observation
 * (no command runs for it), so ten a second during an incident cost little.
 */
export function survivorPollMs(pollIntervalMs: number): number {
  return Math.max(20, Math.min(100, Math.floor(pollIntervalMs / 5)));
}

export interface HostWitness {
  host: StorageHost;
  reachable: boolean;
  lastSeen: number;
  view: PeerView | undefined;
  error: string;
}

/**
 * The controller as the witness of one two-node pool. Every pollIntervalMs it asks both agents
 * for their peer view (the heartbeat that keeps a master from fencing itself). It declares the
 * storage master lost when its agent has not answered for detectAfterMs AND the survivor reports
 * the replication link down (rule 3: a Connected link means a live peer, whatever the management
 * network says). Then: with automatic failover, it starts the failover workflow; otherwise it
 * raises an alert once per incident. After a role change nothing automatic happens for holdDownMs
 * (rule 11: a flapping link moves the roles at most once per hold-down).
 */
export class WitnessMonitor {
  readonly hosts = new Map<string, HostWitness>();
  readonly alerts: string[] = [];
  master = '';
  #timer: NodeJS.Timeout | undefined;
  /** Asks the survivor while the master is silent (#watchSurvivor). */
  #survivorTimer: NodeJS.Timeout | undefined;
  /** The decision due when the master's silence reaches detectAfterMs (#decideOnTime). */
  #onTime: NodeJS.Timeout | undefined;
  #busy = false;
  #lostSince = 0;
  #alerted = false;
  #lastRoleChange = 0;
  #resolved: StorageHost[] | null = null;
  #refreshing: Promise<void> | null = null;
  #lastRefresh = 0;
  #usedJournal = false;
  #failovers = 0;
  /** Since when the pair has been healed with nobody serving and one self-fenced host (reassert-decision.ts). */
  #healedSince = 0;
  #reassertAlerted = false;
  /** The last switchover or re-assertion (ms): a role change that happened, unlike a failover's start. */
  #lastMove = 0;
  readonly #asking = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly pool: PoolConfig,
    private readonly engine: WorkflowEngine,
  ) {}

  start(): void {
    const interval = storageConfigOf(this.pool).failover.pollIntervalMs;
    this.#timer = setInterval(() => void this.tick(), interval);
    this.#timer.unref();
    this.#survivorTimer = setInterval(() => this.#watchSurvivor(), survivorPollMs(interval));
    this.#survivorTimer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#survivorTimer);
    clearTimeout(this.#onTime);
  }

  /** One round; public so a test can drive it. */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await this.#round();
    } catch (err) {
      this.ctx.logger.warn({ pool: this.pool.name, err: err instanceof Error ? err.message : String(err) }, 'witness: round failed');
    } finally {
      this.#busy = false;
    }
  }

  async #round(): Promise<void> {
    const storage = storageConfigOf(this.pool);
    const hosts = await this.#storageHosts();
    const deadline = Math.min(1_500, storage.failover.pollIntervalMs * 3);
    for (const h of hosts) {
      const w = this.hosts.get(h.name) ?? { host: h, reachable: false, lastSeen: 0, view: undefined, error: '' };
      w.host = h;
      this.hosts.set(h.name, w);
      // One call in flight per host: a host whose last call has not come back is not asked again.
      if (!this.#asking.has(h.name)) {
        const call = this.#ask(w, h, deadline).finally(() => this.#asking.delete(h.name));
        this.#asking.set(h.name, call);
      }
    }
    // The round waits for the answers, but not past one poll interval: a dead master's call runs
    // into its 1.5 s deadline, and waiting for it held every round (the decision included) to
    // 1.5 s, so a lost master was declared up to 1.5 s after detectAfterMs (issue 11's bench).
    const pending = [...this.#asking.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise<void>((r) => (timer = setTimeout(r, storage.failover.pollIntervalMs)))]);
    clearTimeout(timer);
    this.#decide();
    this.#decideOnTime();
    this.#decideReassert();
  }

  /**
   * A master that fenced itself during a link cut, on a pair healed since (both answering,
   * Connected, UpToDate, nobody serving; a failover started meanwhile was refused by rule 3): the
   * master role goes back to it through the reassert workflow, after the pair has stayed healed
   * for detectAfterMs (rule 11) and past the hold-down after the last role change that happened
   * (reassert-decision.ts, docs/storage-safety-rules.md). With automatic failover off, one alert.
   */
  #decideReassert(): void {
    const storage = storageConfigOf(this.pool);
    const all = [...this.hosts.values()];
    const now = Date.now();
    const t = reassertTrigger({
      now,
      hosts: all.map((w) => ({ name: w.host.name, reachable: w.reachable, view: w.view })),
      healedSince: this.#healedSince,
      alerted: this.#reassertAlerted,
      // A failover counts once it promoted (its start is when the roles moved, near enough); a refused one moved nothing.
      lastRoleChange: () => Math.max(this.#lastMove, Date.parse(lastStorageMove(this.engine, this.pool.name)?.createdAt ?? '') || 0),
      workflowActive: () => this.engine.store.activeFor(this.pool.name) !== undefined,
      stableMs: storage.failover.detectAfterMs,
      holdDownMs: storage.failover.holdDownMs,
      automatic: storage.failover.automatic,
    });
    if (t.act === 'clear') {
      this.#healedSince = 0;
      this.#reassertAlerted = false;
      return;
    }
    this.#healedSince = t.healedSince;
    if (t.act === 'wait') return;
    const host = all.find((w) => w.host.name === t.host)?.host;
    const peer = all.find((w) => w.host.name !== t.host)?.host;
    if (host === undefined || peer === undefined) return;
    const reason = `storage master ${t.host} fenced itself and nobody serves; the pair has been Connected and UpToDate for ${now - t.healedSince} ms`;
    if (t.act === 'alert') {
      this.#reassertAlerted = true;
      this.alerts.push(`${new Date(now).toISOString()} ${reason}: automatic failover is off; re-assert it (xsctl storage assert-role) or switch over`);
      this.ctx.logger.error({ pool: this.pool.name, reason }, 'NO STORAGE MASTER: automatic failover is off, waiting for the admin');
      return;
    }
    const params: ReassertParams = { host, peer, reason };
    this.engine.start(STORAGE_REASSERT, this.pool.name, params, 'witness');
    this.noteRoleChange(t.host);
    this.#healedSince = 0;
    this.ctx.logger.error({ pool: this.pool.name, reason }, `STORAGE MASTER RE-ASSERTED by the witness on ${t.host}`);
  }

  /**
   * The decision when the master's silence reaches detectAfterMs, not at the first round after
   * it: rounds end on a pollIntervalMs grid (and wait up to one interval for a dead master's
   * call), which put the declaration 0-0.5 s past detectAfterMs (issue 11's bench: detected a
   * median 0.6 s after it). The views are the last round's, as a round's own decision has them
   * for a host whose call is still out; an answer from the master before then needs no cancel of
   * its own: the decision reads the new lastSeen and finds the master not silent. The decision is
   * synchronous, so it may run while a round waits for its answers.
   */
  #decideOnTime(): void {
    clearTimeout(this.#onTime);
    const master = this.hosts.get(this.master);
    if (master === undefined || master.lastSeen === 0) return;
    // One ms past it: a timer may fire a little early by Date's clock, and the trigger counts >=.
    const due = master.lastSeen + storageConfigOf(this.pool).failover.detectAfterMs - Date.now() + 1;
    if (due <= 1) return;
    this.#onTime = setTimeout(() => this.#decideLogged(), due);
    this.#onTime.unref();
  }

  #decideLogged(): void {
    try {
      this.#decide();
    } catch (err) {
      this.ctx.logger.warn({ pool: this.pool.name, err: err instanceof Error ? err.message : String(err) }, 'witness: decision failed');
    }
  }

  /**
   * While the storage master is silent (its last call failed, or it has not answered for two
   * poll intervals), the other host is asked every survivorPollMs and the decision is taken at
   * each of its answers, not at the end of a round. The failover waits for the survivor to report
   * its replication link down (rule 3), and a round with the master's call out ends only after a
   * full poll interval, by when the next round's timer has found it still running and skipped:
   * rounds came once a second, and the survivor's lost link reached the decision up to a second
   * after the survivor knew it (issue 11: 9 of 20 failovers detected 0.6-1.7 s past
   * detectAfterMs). The decision and its conditions are the round's (failoverTrigger); only its
   * moments are more. A call already out to the survivor is not doubled.
   */
  #watchSurvivor(): void {
    const failover = storageConfigOf(this.pool).failover;
    const master = this.hosts.get(this.master);
    if (master === undefined || master.lastSeen === 0) return;
    if (master.reachable && Date.now() - master.lastSeen < 2 * failover.pollIntervalMs) return;
    const deadline = Math.min(1_500, failover.pollIntervalMs * 3);
    for (const w of this.hosts.values()) {
      if (w.host.name === this.master || this.#asking.has(w.host.name)) continue;
      const call = this.#ask(w, w.host, deadline).finally(() => this.#asking.delete(w.host.name));
      this.#asking.set(w.host.name, call);
      void call.then(() => this.#decideLogged());
    }
  }

  /** Whether the storage master is lost, from what the witness knows now; starts the failover or raises the alert. */
  #decide(): void {
    const storage = storageConfigOf(this.pool);
    const all = [...this.hosts.values()];
    const serving = all.find((w) => w.reachable && w.view?.heldRole === 'master');
    if (serving !== undefined) this.master = serving.host.name;
    const master = all.find((w) => w.host.name === this.master);
    const survivor = all.find((w) => w.host.name !== this.master);
    if (master === undefined || survivor === undefined) return;
    const now = Date.now();
    const trigger = failoverTrigger({
      now,
      master: { reachable: master.reachable, lastSeen: master.lastSeen },
      survivor: { reachable: survivor.reachable, replicationConnected: survivor.view?.replicationConnected },
      lostSince: this.#lostSince,
      alerted: this.#alerted,
      lastRoleChange: this.#lastRoleChange,
      workflowActive: () => this.engine.store.activeFor(this.pool.name) !== undefined,
      detectAfterMs: storage.failover.detectAfterMs,
      holdDownMs: storage.failover.holdDownMs,
      automatic: storage.failover.automatic,
    });
    if (trigger.act === 'clear') {
      this.#lostSince = 0;
      this.#alerted = false;
      return;
    }
    this.#lostSince = trigger.lostSince;
    if (trigger.act === 'wait') return;
    const reason = `storage master ${master.host.name} lost: no heartbeat for ${now - master.lastSeen} ms; ${survivor.host.name} sees the replication link ${survivor.view?.drbd.map((d) => d.connection).join(',')}`;
    if (trigger.act === 'alert') {
      this.#alerted = true;
      this.alerts.push(`${new Date().toISOString()} ${reason}: automatic failover is off; run xsctl storage failover --pool ${this.pool.name} --reason ...`);
      this.ctx.logger.error({ pool: this.pool.name, reason }, 'STORAGE MASTER LOST: automatic failover is off, waiting for the admin');
      return;
    }
    const params: FailoverParams = { failed: master.host, survivor: survivor.host, reason, automatic: true, detectedAt: new Date(this.#lostSince).toISOString(), declaredAt: new Date(now).toISOString() };
    this.engine.start(STORAGE_FAILOVER, this.pool.name, params, 'witness');
    this.noteFailover(params);
    this.ctx.logger.error({ pool: this.pool.name, reason }, 'STORAGE FAILOVER started by the witness');
  }

  /** One heartbeat: the host's peer view, or why it did not answer. */
  async #ask(w: HostWitness, h: StorageHost, deadline: number): Promise<void> {
    try {
      w.view = await peerViewOf(this.ctx, this.pool, h, AbortSignal.timeout(deadline), this.master);
      w.reachable = true;
      w.lastSeen = Date.now();
      w.error = '';
    } catch (err) {
      w.reachable = false;
      w.error = err instanceof Error ? err.message : String(err);
    }
  }

  /**
   * The two storage hosts. XAPI's listing is authoritative (read again every XAPI_RELIST_MS). Until it is read, a
   * controller that has seen the pool before heartbeats the hosts the journal knows at once and
   * asks XAPI in the background: the master may be dead (a connect that times out must not delay
   * the heartbeat that keeps the storage master from self-fencing) and, when it is, the journal's
   * copy is all there is. Of the journal's two sources the newer wins: the members XAPI last
   * listed, or the hosts as the last failover left them (its survivor became the pool master).
   * A controller that never listed the pool waits for XAPI (the round fails until it answers).
   */
  async #storageHosts(): Promise<StorageHost[]> {
    if (this.#resolved !== null) {
      this.#refresh(XAPI_RELIST_MS, null);
      return this.#resolved;
    }
    const known = this.#journalHosts();
    if (known === null) {
      this.#resolved = await storageHosts(this.ctx, this.pool);
      this.#lastRefresh = Date.now();
      return this.#resolved;
    }
    this.#refresh(XAPI_RETRY_MS, known);
    return known.hosts;
  }

  /**
   * Lists the pool again in the background, at most once per `everyMs`. The pool master moves
   * without this witness starting anything (a switchover that couples it, the rolling upgrade's,
   * an admin's designate_new_master), and a failover's params name the dead host the pool master
   * only if this copy says so. Not while a workflow runs on the pool (it may be moving the
   * master); a failed listing (the master may be dead) keeps the last copy.
   */
  #refresh(everyMs: number, known: { from: string; at: string } | null): void {
    const now = Date.now();
    if (this.#refreshing !== null || now - this.#lastRefresh < everyMs) return;
    if (known === null && this.engine.store.activeFor(this.pool.name) !== undefined) return;
    this.#lastRefresh = now;
    const failovers = this.#failovers;
    this.#refreshing = storageHosts(this.ctx, this.pool)
      .then(
        (h) => {
          // A listing read before a failover this witness started is stale.
          if (failovers !== this.#failovers) return;
          this.#resolved = h;
          if (this.#usedJournal && known !== null) this.ctx.logger.info({ pool: this.pool.name }, 'witness: XAPI lists the pool again; storage hosts from XAPI');
        },
        (err: unknown) => {
          if (known === null) return;
          if (!this.#usedJournal) this.ctx.logger.warn({ pool: this.pool.name, from: known.from, seenAt: known.at, err: err instanceof Error ? err.message : String(err) }, `witness: XAPI cannot list the pool; heartbeating the storage hosts from the journal (${known.from})`);
          this.#usedJournal = true;
        },
      )
      .finally(() => {
        this.#refreshing = null;
      });
  }

  #journalHosts(): { hosts: StorageHost[]; from: string; at: string } | null {
    const members = this.ctx.knownPoolHosts(this.pool);
    const last = lastStorageMove(this.engine, this.pool.name);
    if (last !== undefined && (members === null || last.createdAt > members.seenAt)) return { hosts: hostsAfterFailover(last.params as FailoverParams), from: `failover ${last.id}`, at: last.createdAt };
    if (members === null) return null;
    try {
      return { hosts: pickStorageHosts(this.pool, members.hosts), from: 'pool members', at: members.seenAt };
    } catch {
      return null;
    }
  }

  /** The failover an admin asks for: the same decision, without the timers. */
  failoverParams(reason: string): FailoverParams | null {
    const master = [...this.hosts.values()].find((w) => w.host.name === this.master);
    const survivor = [...this.hosts.values()].find((w) => w.host.name !== this.master);
    if (master === undefined || survivor === undefined) return null;
    const now = Date.now();
    return { failed: master.host, survivor: survivor.host, reason, automatic: false, detectedAt: new Date(this.#lostSince || now).toISOString(), declaredAt: new Date(now).toISOString() };
  }

  /** A role change that happened (a switchover, a re-assertion): both holds-down count from it. */
  noteRoleChange(master: string): void {
    this.#lastRoleChange = Date.now();
    this.#lastMove = this.#lastRoleChange;
    this.master = master;
  }

  /**
   * A failover started: the storage master is the survivor, and so is the XAPI pool master if the
   * dead host was (the workflow's pool.emergency_transition_to_master). The hosts XAPI listed
   * before are stale from now on: the next failover's params come from here, and a survivor
   * still marked a slave would skip the emergency transition and log in to a slave whose master
   * is dead (issue 11: every failover back to xs1 failed its XAPI recovery that way).
   */
  noteFailover(params: FailoverParams): void {
    // The failover's hold-down starts now; the re-assertion's counts only a failover that promoted (lastStorageMove).
    this.#lastRoleChange = Date.now();
    this.master = params.survivor.name;
    this.#failovers++;
    const after = hostsAfterFailover(params);
    this.#resolved = after;
    for (const h of after) {
      const w = this.hosts.get(h.name);
      if (w !== undefined) w.host = h;
    }
  }
}

const monitors = new WeakMap<ControllerContext, Map<string, WitnessMonitor>>();

/** One witness per pool that has a storage section; started once per controller context. */
export function witnessMonitors(ctx: ControllerContext, engine: WorkflowEngine, start = true): Map<string, WitnessMonitor> {
  let m = monitors.get(ctx);
  if (m === undefined) {
    m = new Map();
    for (const pool of ctx.config.pools) {
      if (pool.storage === undefined) continue;
      const w = new WitnessMonitor(ctx, pool, engine);
      if (start) w.start();
      m.set(pool.name, w);
    }
    monitors.set(ctx, m);
  }
  return m;
}

/**
 * The two storage hosts as a recorded failover left them: the survivor is the XAPI pool master if
 * either was (pool.emergency_transition_to_master is the failover's step when the dead host was).
 */
export function hostsAfterFailover(p: FailoverParams): StorageHost[] {
  return [
    { ...p.failed, isMaster: false },
    { ...p.survivor, isMaster: p.survivor.isMaster || p.failed.isMaster },
  ];
}

/**
 * The newest failover that moved the storage: its survivor's promotion step is done (the workflow
 * finished, or failed later in its XAPI recovery). A failover refused or failed before that (a
 * failed fence, a survivor not UpToDate, an old master still serving) left the roles as they were,
 * and taking it would relabel the survivor the pool master and the storage master.
 */
export function lastStorageMove(engine: WorkflowEngine, pool: string): WorkflowRow | undefined {
  return engine.store.list({ pool, kind: STORAGE_FAILOVER, limit: 20 }).find((row) => {
    const p = row.params as FailoverParams;
    return engine.store.step(row.id, `promote:${p.survivor.name}`)?.status === 'done';
  });
}
