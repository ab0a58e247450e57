import type { LabHost, StorageLab } from './storage-lab.js';

/**
 * The invariants every failover scenario must keep, watched continuously while it runs:
 * - the DRBD "kernel" state of both nodes (the simulator's own files, not what an agent reports):
 *   moments with two Primaries, and promotions to Primary without UpToDate data;
 * - `ip addr` in both host namespaces: moments with the floating IP on two hosts;
 * - an initiator in its own namespace probing the LUN on the floating IP (iscsi-inq, INQUIRY and
 *   VPD 0x80 after a fresh login each time): the longest time without an answer, and every
 *   identity (vendor/product/serial) it saw.
 */
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
}

export class LabMonitor {
  #stop = false;
  #loops: Promise<void>[] = [];
  readonly #started = performance.now();
  readonly #report: MonitorReport = { samples: 0, dualPrimary: 0, dualFloatingIp: 0, promotionsWithoutUpToDate: 0, promotions: [], probes: 0, answered: 0, longestGapMs: 0, identities: [], firstAnswerAfterMs: -1 };
  #lastAnswer: number;
  #roles = new Map<LabHost, string>();
  /** Answers after this moment count (the caller marks when the fault starts). */
  #since = 0;

  constructor(
    private readonly lab: StorageLab,
    options: { probe?: boolean; stateIntervalMs?: number; probeIntervalMs?: number } = {},
  ) {
    this.#lastAnswer = this.#started;
    this.#loops.push(this.#stateLoop(options.stateIntervalMs ?? 100));
    if (options.probe !== false) this.#loops.push(this.#probeLoop(options.probeIntervalMs ?? 100));
  }

  /** From now on, the first answer is measured (the fault's start). */
  mark(): void {
    this.#since = performance.now();
    this.#report.firstAnswerAfterMs = -1;
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
      const id = await this.lab.inquiry(2_000).catch(() => null);
      const now = performance.now();
      this.#report.probes++;
      if (id !== null) {
        this.#report.answered++;
        this.#report.longestGapMs = Math.max(this.#report.longestGapMs, Math.round(now - this.#lastAnswer));
        this.#lastAnswer = now;
        const key = `${id.vendor}/${id.product}/${id.serial}`;
        if (!this.#report.identities.includes(key)) this.#report.identities.push(key);
        if (this.#since > 0 && this.#report.firstAnswerAfterMs < 0) this.#report.firstAnswerAfterMs = Math.round(now - this.#since);
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  /** The report so far (the loops keep running): a row reads the initiator's gap before the lab closes. */
  peek(): MonitorReport {
    const r = { ...this.#report, promotions: [...this.#report.promotions], identities: [...this.#report.identities] };
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
