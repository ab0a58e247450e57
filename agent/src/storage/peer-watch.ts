import type { TargetSpecOptions } from '../target/target-spec.js';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError, XsctlError } from '@xsctl/common/errors/index';
import type { DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { PeerView, PeerWatchSpec } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { isConnected } from '../drbd/drbd-state.js';
import { readStatus } from '../drbd/drbd-ops.js';
import { readProcDrbd } from '../drbd/drbd-version.js';
import { parseProcDrbd } from '../drbd/parse-proc-drbd.js';
import { floatingIpState } from '../network/floating-ip.js';
import type { AgentContext } from '../server/agent-context.js';
import { integerInRange, interfaceName, ipv4Address } from '../validate/validators.js';
import { normalizeStorageSpec, type StorageConfig } from './assert-role.js';
import type { DadProbe } from './early-dad.js';
import { defaultSelfFenceTeardownMs, selfFenceCleanup, selfFenceTearDown } from './self-fence.js';
import { peerFencedHoldEnd, selfFenceDecision } from './self-fence-decision.js';
import { witnessWordOf, witnessWordValidMs } from './witness-word.js';

interface WatchConfig {
  spec: PeerWatchSpec;
  storage: StorageConfig;
  peerManagement: { address: string; iface: string } | null;
  peerReplication: { address: string; iface: string } | null;
  selfFenceAfterMs: number;
  /** The whole tear-down's deadline (each step has its share). */
  teardownMs: number;
  intervalMs: number;
}

/** How long a heartbeat waits for the first observation of a new spec (under the method's 1.5 s deadline). */
export const firstObservationWaitMs = 800;

/**
 * How often the watch looks at the replication link between its rounds (#followLink): a read of
 * /proc/drbd, a kernel file on DRBD 8.x, no command. A round waits up to a second for each
 * unanswered ARP probe (the lost peer's), so its DRBD read came only once a second or so.
 */
export const linkWatchMs = 100;

export function normalizeWatchSpec(spec: PeerWatchSpec | undefined, options: TargetSpecOptions = {}): WatchConfig {
  if (spec === undefined) throw new ValidationError('watch', 'required');
  const storage = normalizeStorageSpec(spec.storage, options, 'watch.storage');
  // Refusals name the request's fields (watch.managementInterface, not a made-up peerManagementInterface).
  const pair = (addressField: string, address: string, ifaceField: string, iface: string) => (address === '' ? null : { address: ipv4Address(addressField, address), iface: interfaceName(ifaceField, iface) });
  return {
    spec,
    storage,
    peerManagement: pair('watch.peerManagementAddress', spec.peerManagementAddress, 'watch.managementInterface', spec.managementInterface),
    peerReplication: pair('watch.peerReplicationAddress', spec.peerReplicationAddress, 'watch.replicationInterface', spec.replicationInterface),
    selfFenceAfterMs: spec.selfFenceAfterMs === 0 ? 0 : integerInRange('watch.selfFenceAfterMs', spec.selfFenceAfterMs, 200, 600_000),
    teardownMs: spec.selfFenceTeardownMs === 0 ? defaultSelfFenceTeardownMs : integerInRange('watch.selfFenceTeardownMs', spec.selfFenceTeardownMs, 200, 60_000),
    intervalMs: spec.probeIntervalMs === 0 ? 500 : integerInRange('watch.probeIntervalMs', spec.probeIntervalMs, 50, 60_000),
  };
}

interface Observation {
  /** When its probes started (an observation started before a tear-down ended may show what it removed). */
  startedAt: number;
  at: number;
  drbd: DrbdResourceState[];
  replicationConnected: boolean;
  /** When the DRBD read behind `drbd` started: a round's start, or later, a link change's read between rounds. */
  drbdStartedAt: number;
  /** When the ARP probes (replicationReachable, managementReachable) started: an early view carries the last round's. */
  probesStartedAt: number;
  replicationReachable: boolean;
  managementReachable: boolean;
  ipPresent: boolean;
  /** Not here, and another host answers ARP for it. */
  ipAnswersElsewhere: boolean;
  warnings: string[];
  /** The ARP probes' warnings (part of `warnings`), carried into the next round's early view. */
  probeWarnings: string[];
}

const message = (err: unknown) => (err instanceof XsctlError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err));

/** One ARP request, one second at most (iputils arping: exit 0 when a reply came). */
async function arpAnswers(ctx: AgentContext, target: { address: string; iface: string }, signal: AbortSignal): Promise<boolean> {
  const r = await ctx.runner.run('arping', ['-q', '-c', '1', '-w', '1', '-I', target.iface, target.address], { signal, timeoutMs: 3_000, okExitCodes: [1, 2] }).catch(() => null);
  return r !== null && r.exitCode === 0;
}

/** The watched resources as DRBD shows them (one read: /proc/drbd on 8.x, with the kernel log's split-brain lines). */
async function readWatchedDrbd(ctx: AgentContext, c: WatchConfig, signal: AbortSignal): Promise<DrbdResourceState[]> {
  const s = await readStatus(ctx, c.storage.resources.length === 1 ? (c.storage.resources[0] ?? null) : null, signal);
  return s.resources.filter((r) => c.storage.resources.includes(r.name));
}

/** Duplicate address detection, one probe, one second at most (arping -D: exit 1 when a host claims the address). */
async function dadAnswers(ctx: AgentContext, ip: { address: string; iface: string }, signal: AbortSignal): Promise<boolean> {
  // A failed probe throws (the caller reports it): "no answer" must mean a probe that ran.
  const r = await ctx.runner.run('arping', ['-D', '-q', '-c', '1', '-w', '1', '-I', ip.iface, ip.address], { signal, timeoutMs: 3_000, okExitCodes: [1] });
  return r.exitCode === 1;
}

/**
 * The agent's side of the witness protocol. Started by the first GetPeerView; from then on a
 * background loop looks at DRBD (the kernel's view of the replication link), the floating IP and
 * the peer's addresses, so a call answers from the latest observation without waiting. The loop
 * also enforces the self-fence bound: a node that serves (Primary or floating IP) and has neither
 * a Connected replication link nor a witness call within selfFenceAfterMs tears its role down
 * (floating IP, target, tgtd, DRBD Secondary: rule 5's reverse order), so the peer, promoted by
 * the controller only after the longer failover delay, never meets a live master. Except while
 * the peer-fenced hold lasts: this node was promoted by a failover that fenced the peer by power,
 * and the peer has answered on neither link since (self-fence-decision.ts).
 */
export class PeerWatch {
  #config: WatchConfig | null = null;
  #last: Observation | null = null;
  #lastWitness = 0;
  #selfFencedAt = '';
  #forgottenAt = 0;
  #fencing = false;
  #tornDownAt = 0;
  #heldForSplitBrain = false;
  /** performance.now() when the peer-fenced hold began (0: none). */
  #peerFencedSince = 0;
  /** The hold is logged once per loss of the witness, not per check. */
  #heldForPeerFenced = false;
  #loop: Promise<void> | null = null;
  /** Role assertions from the controller under way (the witness is there while they run). */
  #controllerCalls = 0;
  /** The last few duplicate address probes of each floating IP (address%interface), oldest first. */
  readonly #dadProbes = new Map<string, DadProbe[]>();
  readonly #stop = new AbortController();

  constructor(private readonly ctx: AgentContext) {}

  /** A witness call: records the heartbeat, (re)arms the watch and returns the latest view. */
  async heartbeat(spec: PeerWatchSpec | undefined, signal?: AbortSignal): Promise<PeerView> {
    const config = normalizeWatchSpec(spec, this.ctx);
    const now = performance.now();
    const silence = this.#lastWitness === 0 ? 0 : Math.round(now - this.#lastWitness);
    this.#lastWitness = now;
    // The witness's word on who the storage master is, for a boot-time promotion (boot-promotion.ts).
    witnessWordOf(this.ctx).heard(config.spec.witnessRole, witnessWordValidMs(config.selfFenceAfterMs), now);
    // The word is no part of how this node watches: the failover's own calls name nobody, the
    // witness's name a master, and each change restarting the observation would cost the view.
    const changed = JSON.stringify({ ...this.#config?.spec, witnessRole: 0 }) !== JSON.stringify({ ...config.spec, witnessRole: 0 });
    this.#config = config;
    if (changed) this.#forgetObservation();
    this.#loop ??= Promise.all([this.#run(), this.#fenceClock(), this.#linkClock()]).then(() => undefined);
    // The first call (or a new spec) waits for one fresh observation, but not past 0.8 s: the
    // method's deadline is 1.5 s (common/calls/agent-call-table.ts), and an answer without an
    // observation (heldRole unknown) tells the witness more than a lost heartbeat. It waited up to
    // 2 s, so a first heartbeat whose probes were slow always ran out (found by the fuzz campaign).
    for (let i = 0; this.#last === null && i < firstObservationWaitMs / 20; i++) await sleep(20, undefined, { signal });
    const o = this.#last;
    const held = o === null ? 'unknown' : heldRole(o.drbd, o.ipPresent);
    return {
      hostname: hostname(),
      drbd: o?.drbd ?? [],
      replicationConnected: o?.replicationConnected ?? false,
      replicationReachable: o?.replicationReachable ?? false,
      managementReachable: o?.managementReachable ?? false,
      heldRole: held,
      witnessSilenceMs: silence,
      selfFenced: this.#selfFencedAt !== '',
      selfFencedAt: this.#selfFencedAt,
      observedAgeMs: o === null ? 0 : Math.round(performance.now() - o.at),
      warnings: o?.warnings ?? ['no observation yet'],
      floatingIpPresent: o?.ipPresent ?? false,
      floatingIpAnswersElsewhere: o?.ipAnswersElsewhere ?? false,
      peerFencedHold: this.#peerFencedSince !== 0,
      peerFencedHoldSince: this.#peerFencedSinceIso(),
    };
  }

  /**
   * A role assertion ended (storage-service.ts, before its controllerCall ends, so no self-fence
   * check runs between the promotion and its hold): 'start' arms the peer-fenced hold, 'end'
   * drops it (holdAfterAssertion decides which); either ends the self-fenced state.
   */
  roleAsserted(change: 'start' | 'keep' | 'end'): void {
    if (change === 'keep') return;
    // The self-fence is over once a role is asserted here: from now on this node holds what it
    // was told, and the witness must not take it for a master that fenced itself (it re-asserts
    // only such a one: the controller's reassert-decision.ts).
    this.#selfFencedAt = '';
    if (change === 'start') {
      this.#peerFencedSince = performance.now();
      this.#heldForPeerFenced = false;
      this.ctx.logger.warn({ since: this.#peerFencedSinceIso() }, 'PEER FENCED BY POWER: promoted after the controller powered the peer off; the self-fence is held while the peer answers on neither link');
      return;
    }
    this.#endPeerFencedHold('a new role assertion');
  }

  /** The hold's start as a wall-clock time for the view and the logs ('' without a hold). */
  #peerFencedSinceIso(): string {
    return this.#peerFencedSince === 0 ? '' : new Date(performance.timeOrigin + this.#peerFencedSince).toISOString();
  }

  #endPeerFencedHold(why: string): void {
    if (this.#peerFencedSince === 0) return;
    this.ctx.logger.warn({ since: this.#peerFencedSinceIso(), why }, `PEER-FENCED HOLD ENDED: ${why}; the self-fence rule applies again`);
    this.#peerFencedSince = 0;
    this.#heldForPeerFenced = false;
  }

  /**
   * A role assertion from the controller counts as a witness call, at its start and its end, and
   * no self-fence runs while one is under way: the controller asking this node to serve is the
   * witness, there. Issue 11's bench: a survivor promoted by the failover, its replication link
   * down (the peer is dead), self-fenced in the middle of its own promotion because the heartbeats
   * were 1.5 s late on a loaded machine (the floating IP removed, then the GARP failed). Does not
   * arm the watch: only a GetPeerView does.
   */
  controllerCall(): () => void {
    this.#controllerCalls++;
    if (this.#lastWitness !== 0) this.#lastWitness = performance.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#controllerCalls--;
      if (this.#lastWitness !== 0) this.#lastWitness = performance.now();
    };
  }

  /**
   * The duplicate address probes this watch ran for a floating IP on an interface, oldest first
   * (the last four): a promotion whose peer was fenced by power may stand on them instead of
   * waiting for its own (early-dad.ts, rule 4).
   */
  dadProbes(ip: { address: string; iface: string }): DadProbe[] {
    return [...(this.#dadProbes.get(`${ip.address}%${ip.iface}`) ?? [])];
  }

  /** One duplicate address probe, recorded with its times and outcome (null: it failed). */
  async #probeDad(ip: { address: string; iface: string }, signal: AbortSignal): Promise<boolean> {
    const startedAt = performance.now();
    let answered: boolean | null = null;
    try {
      answered = await dadAnswers(this.ctx, ip, signal);
      return answered;
    } finally {
      const key = `${ip.address}%${ip.iface}`;
      const probes = [...(this.#dadProbes.get(key) ?? []), { startedAt, endedAt: performance.now(), answered }];
      this.#dadProbes.set(key, probes.slice(-4));
    }
  }

  /** Drops the latest observation, and any round of probes already under way with it. */
  #forgetObservation(): void {
    this.#last = null;
    this.#forgottenAt = performance.now();
  }

  /** Stops the background loop (agent shutdown). */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop?.catch(() => undefined);
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const config = this.#config;
      if (config === null) break;
      const started = performance.now();
      try {
        const o = await this.#observe(config, signal);
        // A round of probes takes up to a second; one that started before the view was last
        // forgotten (a new spec, a self-fence) describes the host as it was then: reporting it
        // as fresh showed a self-fenced master as still Primary with the floating IP.
        if (o.startedAt >= this.#forgottenAt) this.#last = this.#withFresherLink(o);
      } catch (err) {
        if (signal.aborted) break;
        this.ctx.logger.warn({ err: message(err) }, 'peer watch: observation failed');
      }
      const wait = Math.max(0, config.intervalMs - (performance.now() - started));
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        break;
      }
    }
  }

  /**
   * The self-fence is checked every 50 ms against the latest observation, not at the end of an
   * observation: a round of probes waits up to a second per unanswered ARP (the lost peer's), and
   * that lag came on top of the bound before.
   */
  async #fenceClock(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const config = this.#config;
      const o = this.#last;
      if (config === null) break;
      if (o !== null) await this.#enforceSelfFence(config, o, signal).catch((err: unknown) => signal.aborted || this.ctx.logger.error({ err: message(err) }, 'SELF-FENCE: check failed'));
      try {
        await sleep(50, undefined, { signal });
      } catch {
        break;
      }
    }
  }

  /**
   * The early view of a round: its DRBD and address reads (a spawn each) are in, its ARP probes
   * (up to a second each when nobody answers: the lost peer's case) are not. It becomes the latest
   * observation at once, with the probes' fields and age taken from the last complete round, so:
   * - the replication link's state reaches the witness (the failover's rule-3 evidence) and the
   *   self-fence check (which reads only DRBD, the address and `startedAt`) a probe round sooner:
   *   issue 11 measured 1.1-1.6 s between the kernel dropping the link and the witness hearing it;
   * - `at`, and the view's observedAgeMs with it, stays that of the probes it carries: the
   *   controller's self-fence evidence (floatingIpObservation: an observation from before the
   *   bound proves nothing) sees the ARP answer exactly as old as it is, never fresher.
   * Not before a first complete round, and not for a round begun before the view was forgotten.
   */
  #publishEarly(startedAt: number, drbd: DrbdResourceState[], ipPresent: boolean, warnings: readonly string[]): void {
    const prev = this.#last;
    if (prev === null || startedAt < this.#forgottenAt || startedAt <= prev.startedAt) return;
    this.#last = this.#withFresherLink({
      ...prev,
      startedAt,
      drbd,
      replicationConnected: drbd.length > 0 && drbd.every(isConnected),
      drbdStartedAt: startedAt,
      ipPresent,
      ipAnswersElsewhere: !ipPresent && prev.ipAnswersElsewhere,
      warnings: [...warnings, ...prev.probeWarnings],
    });
  }

  /**
   * A round's observation, with the DRBD fields of the latest one when those are fresher (a link
   * change read by #followLink after the round's own DRBD read began): the round ends up to a
   * second after its read, and putting its older link state back would show a lost link Connected
   * again until the next round (the witness would wait for it: rule 3).
   */
  #withFresherLink(o: Observation): Observation {
    const p = this.#last;
    if (p === null || p.drbdStartedAt <= o.drbdStartedAt || p.drbdStartedAt < this.#forgottenAt) return o;
    return { ...o, drbd: p.drbd, replicationConnected: p.replicationConnected, drbdStartedAt: p.drbdStartedAt };
  }

  /** Looks at the replication link every linkWatchMs, between the rounds (#followLink). */
  async #linkClock(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const config = this.#config;
      if (config === null) break;
      await this.#followLink(config, signal).catch((err: unknown) => signal.aborted || this.ctx.logger.warn({ err: message(err) }, 'peer watch: link read failed'));
      try {
        await sleep(linkWatchMs, undefined, { signal });
      } catch {
        break;
      }
    }
  }

  /**
   * A DRBD connection change published as it happens, not at the next round: /proc/drbd (DRBD
   * 8.x, the dom0's kernel module) shows each minor's connection state; when a watched
   * resource's differs from the latest observation's, a DRBD read (the round's own, with the
   * kernel log's split-brain evidence) replaces the observation's DRBD fields at once. Nothing
   * else of the observation changes: its address read, its probes and their times stay what they
   * were (startedAt included, which the self-fence and the peer-fenced hold read as the time of
   * the address read). A DRBD 9 /proc/drbd lists no resources: there the rounds alone read it.
   * Issue 11: the survivor's lost link reached the witness 0.6-1.7 s after the decision was due,
   * a round of ARP probes to the dead peer (a second each) after the kernel saw it.
   */
  async #followLink(c: WatchConfig, signal: AbortSignal): Promise<void> {
    const prev = this.#last;
    if (prev === null) return;
    const proc = parseProcDrbd((await readProcDrbd(this.ctx)) ?? '');
    const changed = prev.drbd.some((d) => {
      const now = proc.resources.find((r) => r.minor === d.minor);
      return now !== undefined && now.cstate !== d.connection;
    });
    if (!changed) return;
    const startedAt = performance.now();
    const drbd = await readWatchedDrbd(this.ctx, c, signal);
    const latest = this.#last;
    if (latest === null || startedAt < this.#forgottenAt || startedAt <= latest.drbdStartedAt) return;
    this.#last = { ...latest, drbd, replicationConnected: drbd.length > 0 && drbd.every(isConnected), drbdStartedAt: startedAt };
  }

  async #observe(c: WatchConfig, signal: AbortSignal): Promise<Observation> {
    const startedAt = performance.now();
    const warnings: string[] = [];
    const probeWarnings: string[] = [];
    // One read of the address for both questions (it was two `ip addr show` a round).
    const ipRead = floatingIpState(this.ctx, c.storage.ip, signal);
    const drbdRead = readWatchedDrbd(this.ctx, c, signal).catch((err: unknown) => {
      warnings.push(`drbd: ${message(err)}`);
      return [] as DrbdResourceState[];
    });
    const ipPresent = ipRead.then(
      (s) => s.present,
      (err: unknown) => {
        warnings.push(`floating IP: ${message(err)}`);
        return false;
      },
    );
    const early = Promise.all([drbdRead, ipPresent]).then(([d, ip]) => this.#publishEarly(startedAt, d, ip, [...warnings]));
    const [drbd, ip, rep, mgmt, elsewhere] = await Promise.all([
      drbdRead,
      ipPresent,
      c.peerReplication === null ? Promise.resolve(false) : arpAnswers(this.ctx, c.peerReplication, signal),
      c.peerManagement === null ? Promise.resolve(false) : arpAnswers(this.ctx, c.peerManagement, signal),
      // The controller's evidence before a self-fence-mode promotion: does the floating IP answer
      // ARP from another host (the old master), as an initiator's ARP would find it?
      // Only when the address is not here (a node holding it learns nothing), and that is when the
      // probe costs its full second: on a slave whose master holds the address the reply is at once.
      ipRead.then(
        (s) => (s.present ? false : this.#probeDad(c.storage.ip, signal)),
        // The read's failure is already a warning above; without it the probe says nothing.
        () => false,
      ).catch((err: unknown) => {
        probeWarnings.push(`floating IP probe: ${message(err)}`);
        return false;
      }),
    ]);
    await early;
    return {
      startedAt,
      at: performance.now(),
      drbd,
      replicationConnected: drbd.length > 0 && drbd.every(isConnected),
      drbdStartedAt: startedAt,
      probesStartedAt: startedAt,
      replicationReachable: rep,
      managementReachable: mgmt,
      ipPresent: ip,
      ipAnswersElsewhere: !ip && elsewhere,
      warnings: [...warnings, ...probeWarnings],
      probeWarnings,
    };
  }

  async #enforceSelfFence(c: WatchConfig, o: Observation, signal: AbortSignal): Promise<void> {
    const ended = peerFencedHoldEnd(this.#peerFencedSince, o);
    if (ended !== null) this.#endPeerFencedHold(ended);
    const decision = selfFenceDecision({ selfFenceAfterMs: c.selfFenceAfterMs, fencing: this.#fencing, lastWitnessAt: this.#lastWitness, controllerCalls: this.#controllerCalls, tornDownAt: this.#tornDownAt, now: performance.now(), peerFencedSince: this.#peerFencedSince, observation: o });
    if (decision.action !== 'hold-peer-fenced') this.#heldForPeerFenced = false;
    if (decision.action === 'none') return;
    const silence = decision.silenceMs;
    if (decision.action === 'hold-peer-fenced') {
      if (!this.#heldForPeerFenced) this.ctx.logger.warn({ witnessSilenceMs: Math.round(silence), boundMs: c.selfFenceAfterMs, peerFencedSince: this.#peerFencedSinceIso(), replication: o.drbd.map((d) => `${d.name}:${d.connection}`) }, 'SELF-FENCE HELD: witness lost while serving, but the peer was fenced by power before this promotion and has answered on neither link since; not self-fencing');
      this.#heldForPeerFenced = true;
      return;
    }
    if (decision.action === 'hold-split-brain') {
      if (!this.#heldForSplitBrain) this.ctx.logger.error({ witnessSilenceMs: Math.round(silence), boundMs: c.selfFenceAfterMs, splitBrain: decision.splitBrain }, 'SPLIT BRAIN: witness lost while serving; not self-fencing (no promotion is possible until an admin resolves it, rule 10)');
      this.#heldForSplitBrain = true;
      return;
    }
    this.#heldForSplitBrain = false;
    this.#fencing = true;
    try {
      // Nothing before the tear-down: the log line waits until the IP and the target are gone.
      const r = await selfFenceTearDown(this.ctx, c.storage, c.teardownMs, signal);
      this.#tornDownAt = performance.now();
      this.#selfFencedAt = new Date().toISOString();
      const fields = { witnessSilenceMs: Math.round(silence), boundMs: c.selfFenceAfterMs, teardownMs: r.durationMs, budgetMs: c.teardownMs, replication: o.drbd.map((d) => `${d.name}:${d.connection}`), steps: r.steps.map((x) => `${x.name}:${x.ok ? 'ok' : 'FAILED'}:${x.durationMs}ms:${x.detail}`) };
      this.ctx.logger.error(fields, 'SELF-FENCE: replication link and witness lost while serving; stopping the storage master role');
      this.ctx.logger.error(fields, r.ok ? 'SELF-FENCE: stopped serving' : 'SELF-FENCE: TEAR-DOWN FAILED');
      const cleanup = await selfFenceCleanup(this.ctx, c.storage, signal).catch((err: unknown) => `tgtd stop failed: ${message(err)}`);
      this.ctx.logger.info({ cleanup }, 'SELF-FENCE: cleanup');
      // The next observation shows what is left; a failed step is retried at the next check.
      this.#forgetObservation();
    } finally {
      this.#fencing = false;
    }
  }
}

/** master: every resource Primary and the floating IP here; slave: none of it; mixed otherwise. */
export function heldRole(drbd: readonly DrbdResourceState[], ipPresent: boolean): string {
  if (drbd.length === 0) return 'unknown';
  const primaries = drbd.filter((r) => r.role === 'Primary').length;
  if (primaries === drbd.length && ipPresent) return 'master';
  if (primaries === 0 && !ipPresent) return 'slave';
  return 'mixed';
}
