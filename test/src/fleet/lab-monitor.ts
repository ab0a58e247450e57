import type { LabHost, StorageLab } from './storage-lab.js';

/**
 * The invariants every failover scenario must keep, watched continuously while it runs:
 * - the DRBD "kernel" state of both nodes (the simulator's own files, not what an agent reports):
 *   moments with two Primaries, and promotions to Primary without UpToDate data;
 * - `ip addr` in both host namespaces: moments with the floating IP on two hosts;
 * - an initiator in its own namespace probing the LUN on the floating IP (iscsi-inq, INQUIRY and
 *   VPD 0x80 after a fresh login each time): the longest time without an answer, and every
 *   identity (vendor/product/serial) it saw, kept apart by the fault's moment (mark/markDeath):
 *   an answer counts before the fault when its probe started before the mark, after the fault
 *   when its probe started at or after it (a probe in flight across the mark may have logged in
 *   before the fault, so it never counts as evidence that the LUN is served after it).
 */
export interface IdentitiesSeen {
  /** Probes answered (INQUIRY and VPD 0x80 both). */
  answered: number;
  /** Each distinct vendor/product/serial, in the order first seen. */
  identities: string[];
}

export interface MonitorReport {
  samples: number;
  dualPrimary: number;
  dualFloatingIp: number;
  promotionsWithoutUpToDate: number;
  promotions: string[];
  probes: number;
  answered: number;
  /** Longest span between two answers (or from the start/to the end) while watching. */
  longestGapMs: number;
  /** When the longest gap ended, ms after the monitor started (-1 when it never ended). */
  identities: string[];
  firstAnswerAfterMs: number;
  /** When the fault was marked, ms after the monitor started (-1 when it never was). */
  faultAtMs: number;
  /** What the initiator saw from probes started before the fault's mark. */
  before: IdentitiesSeen;
  /** What the initiator saw from probes started at or after the fault's mark. */
  after: IdentitiesSeen;
}

export class LabMonitor {
  #stop = false;
  #loops: Promise<void>[] = [];
  readonly #started = performance.now();
  readonly #report: MonitorReport = { samples: 0, dualPrimary: 0, dualFloatingIp: 0, promotionsWithoutUpToDate: 0, promotions: [], probes: 0, answered: 0, longestGapMs: 0, identities: [], firstAnswerAfterMs: -1, faultAtMs: -1, before: { answered: 0, identities: [] }, after: { answered: 0, identities: [] } };
  #lastAnswer: number;
  #roles = new Map<LabHost, string>();
  /** Answers after this moment count (the caller marks when the fault starts). */
  #since = 0;
  /** Set by markDeath: only its own probes measure the first answer. */
  #firstAnswerFrom = 0;
  /** Only probes started at or after this moment count (cablesCut): earlier ones may reach the old master. */
  #countFrom = Number.POSITIVE_INFINITY;

  constructor(
    private readonly lab: StorageLab,
    options: { probe?: boolean; stateIntervalMs?: number; probeIntervalMs?: number } = {},
  ) {
    this.#lastAnswer = this.#started;
    this.#loops.push(this.#stateLoop(options.stateIntervalMs ?? 100));
    if (options.probe !== false) this.#loops.push(this.#probeLoop(options.probeIntervalMs ?? 100));
  }

  /** The fault's moment for the identities seen before/after (the latest mark or markDeath). */
  #faultAt = Number.POSITIVE_INFINITY;

  /** From now on, the first answer is measured (the fault's start), and answers count as after the fault. */
  mark(): void {
    this.#since = performance.now();
    this.#report.firstAnswerAfterMs = -1;
    this.#setFault(this.#since);
  }

  #setFault(at: number): void {
    this.#faultAt = at;
    this.#report.faultAtMs = Math.round(at - this.#started);
  }

  /**
   * Resolves once the initiator has seen the LUN `when` the fault ('before' it: at least one
   * answer so far; 'after': one from a probe started after the mark), or with false after
   * `timeoutMs`: a row waits for the evidence the invariant needs; the invariant judges it.
   */
  async seen(when: 'before' | 'after', timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    const got = () => (when === 'before' ? this.#report.before.answered + this.#report.after.answered : this.#report.after.answered) > 0;
    while (!got() && !this.#stop && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return got();
  }

  /**
   * The fault starts now (call it before the first cable is cut): firstAnswerAfterMs becomes the
   * time to the first INQUIRY answered by a probe that started after this moment. The probes
   * overlap (a new one every `everyMs`, at most `inFlight` at once, each given `timeoutMs`; few, since
   * the lab's agents share this process's event loop with the spawns): a
   * probe whose SYN or ARP went out while the address was gone waits for a retransmission
   * (TCP's first SYN retry is 1 s later), and the one-at-a-time loop (a 2 s timeout, then 100 ms)
   * measured that wait too. An answer to a probe started before the fault never counts.
   */
  markDeath(options: { everyMs?: number; inFlight?: number; timeoutMs?: number } = {}): void {
    const since = performance.now();
    this.#since = since;
    this.#report.firstAnswerAfterMs = -1;
    this.#setFault(since);
    this.#firstAnswerFrom = since;
    this.#countFrom = Number.POSITIVE_INFINITY;
    this.#loops.push(this.#firstAnswerLoop(since, options.everyMs ?? 200, options.inFlight ?? 6, options.timeoutMs ?? 2_000));
  }

  /** The cables are cut: from now on a probe cannot reach the old master, and its answer counts (time still runs from markDeath). */
  cablesCut(): void {
    this.#countFrom = performance.now();
  }

  async #firstAnswerLoop(since: number, everyMs: number, inFlight: number, timeoutMs: number): Promise<void> {
    const running = new Set<Promise<void>>();
    while (!this.#stop && this.#report.firstAnswerAfterMs < 0 && this.#firstAnswerFrom === since) {
      if (running.size < inFlight) {
        const started = performance.now();
        const p: Promise<void> = this.lab
          .answers(timeoutMs)
          .then((ok) => {
            if (ok && started >= this.#countFrom && this.#report.firstAnswerAfterMs < 0 && this.#firstAnswerFrom === since) this.#report.firstAnswerAfterMs = Math.round(performance.now() - since);
          })
          .finally(() => running.delete(p));
        running.add(p);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    await Promise.all(running);
  }

  async #stateLoop(interval: number): Promise<void> {
    while (!this.#stop) {
      const [a, b] = await Promise.all([this.lab.kernelState('xs1'), this.lab.kernelState('xs2')]);
      const holders = await this.lab.ipHolders();
      this.#report.samples++;
      if (a?.role === 'Primary' && b?.role === 'Primary') this.#report.dualPrimary++;
      if (holders.length > 1) this.#report.dualFloatingIp++;
      for (const [name, s] of [['xs1', a], ['xs2', b]] as const) {
        if (s === null) continue;
        const before = this.#roles.get(name);
        if (s.role === 'Primary' && before !== undefined && before !== 'Primary') {
          this.#report.promotions.push(`${name}:${s.disk}`);
          if (s.disk !== 'UpToDate') this.#report.promotionsWithoutUpToDate++;
        }
        this.#roles.set(name, s.role);
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  async #probeLoop(interval: number): Promise<void> {
    while (!this.#stop) {
      const started = performance.now();
      const id = await this.lab.inquiry(2_000).catch(() => null);
      const now = performance.now();
      this.#report.probes++;
      if (id !== null) {
        this.#report.answered++;
        this.#report.longestGapMs = Math.max(this.#report.longestGapMs, Math.round(now - this.#lastAnswer));
        this.#lastAnswer = now;
        const key = `${id.vendor}/${id.product}/${id.serial}`;
        if (!this.#report.identities.includes(key)) this.#report.identities.push(key);
        const side = started < this.#faultAt ? this.#report.before : this.#report.after;
        side.answered++;
        if (!side.identities.includes(key)) side.identities.push(key);
        if (this.#since > 0 && this.#firstAnswerFrom === 0 && this.#report.firstAnswerAfterMs < 0) this.#report.firstAnswerAfterMs = Math.round(now - this.#since);
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  /** The report so far (the loops keep running): a row reads the initiator's gap before the lab closes. */
  peek(): MonitorReport {
    const copy = (x: IdentitiesSeen): IdentitiesSeen => ({ answered: x.answered, identities: [...x.identities] });
    const r = { ...this.#report, promotions: [...this.#report.promotions], identities: [...this.#report.identities], before: copy(this.#report.before), after: copy(this.#report.after) };
    r.longestGapMs = Math.max(r.longestGapMs, Math.round(performance.now() - this.#lastAnswer));
    return r;
  }

  async stop(): Promise<MonitorReport> {
    this.#stop = true;
    await Promise.all(this.#loops);
    this.#report.longestGapMs = Math.max(this.#report.longestGapMs, Math.round(performance.now() - this.#lastAnswer));
    return this.#report;
  }
}
