import { setTimeout as sleep } from 'node:timers/promises';
import type { IpmiTarget } from '../config/pool-storage-config.js';
import type { FenceOutcome, Fencer } from './fencer.js';
import { FencingFailedError } from './fencing-errors.js';
import { parsePowerStatus, powerOffAccepted, runIpmitool, runIpmitoolBatch } from './ipmitool.js';

export interface IpmiFencerOptions {
  /** How long to wait for the BMC to report off after the power-off. */
  confirmTimeoutMs?: number;
  /** Power-off attempts before giving up. */
  attempts?: number;
  program?: string;
}

const firstLine = (s: string) => s.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/HPM\.x/.test(l))[0] ?? '';

/**
 * IPMI fencing as fence_ipmilan does it, less its first status read: `chassis power off` (a hard
 * off, not ACPI soft-off: a hung host must not get to decide), then `chassis power status` until
 * the BMC says off. Only a read-back "off" counts; a BMC that does not answer is a failed fence.
 * The power-off and the first read-back share one ipmitool run, so one RMCP+ session
 * (runIpmitoolBatch); later read-backs, only while the chassis still reports on, are one each.
 */
export class IpmiFencer implements Fencer {
  readonly method = 'ipmi';

  constructor(
    private readonly targets: Readonly<Record<string, IpmiTarget>>,
    private readonly options: IpmiFencerOptions = {},
  ) {}

  #target(host: string): IpmiTarget {
    const t = this.targets[host];
    if (t === undefined) throw new FencingFailedError(host, this.method, 'no BMC configured for this host');
    return t;
  }

  async powerState(host: string, signal?: AbortSignal): Promise<'on' | 'off'> {
    const t = this.#target(host);
    const r = await runIpmitool(t, ['chassis', 'power', 'status'], { signal, ...(this.options.program === undefined ? {} : { program: this.options.program }) });
    const state = r.exitCode === 0 ? parsePowerStatus(r.stdout) : null;
    if (state === null) throw new FencingFailedError(host, this.method, `BMC ${t.address}:${t.port} gave no power state (exit ${r.exitCode}: ${firstLine(r.stderr) || firstLine(r.stdout)})`);
    return state;
  }

  async fence(host: string, signal?: AbortSignal): Promise<FenceOutcome> {
    const t = this.#target(host);
    const start = performance.now();
    const program = this.options.program === undefined ? {} : { program: this.options.program };
    const done = (detail: string): FenceOutcome => ({ host, method: this.method, confirmedOff: true, durationMs: Math.round(performance.now() - start), detail });
    let last = '';
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        // The power-off first, without fence_ipmilan's status read before it, and the first
        // read-back in the same session: each ipmitool run is an RMCP+ session of its own (its
        // handshake 0.15-0.3 s in the loaded lab), and this sits between the detection and the
        // promotion. A chassis that is already off takes the command as a no-op; a BMC that
        // refuses it in that state says so in the read-back.
        const r = await runIpmitoolBatch(t, [['chassis', 'power', 'off'], ['chassis', 'power', 'status']], { signal, ...program });
        const accepted = powerOffAccepted(r.stdout);
        const state = parsePowerStatus(r.stdout);
        // Only a read-back "off" counts, whatever the power-off answered.
        if (state === 'off') return done(accepted ? `chassis power off confirmed by ${t.address}${attempt > 1 ? ` (attempt ${attempt})` : ''}` : `off by read-back after the power-off answered: power off refused (exit ${r.exitCode}: ${firstLine(r.stderr) || firstLine(r.stdout)})`);
        if (state === null) {
          last = `BMC ${t.address}:${t.port} gave no power state (exit ${r.exitCode}: ${firstLine(r.stderr) || firstLine(r.stdout)})`;
          continue;
        }
        if (!accepted) {
          last = `power off refused (exit ${r.exitCode}: ${firstLine(r.stderr) || firstLine(r.stdout)})`;
          continue;
        }
        // Accepted and still on (a real chassis takes a moment): read back until the deadline.
        const deadline = performance.now() + (this.options.confirmTimeoutMs ?? 10_000);
        while (performance.now() < deadline) {
          await sleep(200, undefined, { signal });
          if ((await this.powerState(host, signal)) === 'off') return done(`chassis power off confirmed by ${t.address}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
        }
        last = 'the BMC still reports power on';
      } catch (err) {
        signal?.throwIfAborted();
        last = err instanceof FencingFailedError ? err.reason : err instanceof Error ? err.message : String(err);
      }
    }
    throw new FencingFailedError(host, this.method, `${last} after ${attempts} attempts`);
  }
}
