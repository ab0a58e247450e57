import { setTimeout as sleep } from 'node:timers/promises';
import type { IpmiTarget } from '../config/pool-storage-config.js';
import type { FenceOutcome, Fencer } from './fencer.js';
import { FencingFailedError } from './fencing-errors.js';
import { parsePowerStatus, runIpmitool } from './ipmitool.js';

export interface IpmiFencerOptions {
  /** How long to wait for the BMC to report off after the power-off. */
  confirmTimeoutMs?: number;
  /** Power-off attempts before giving up. */
  attempts?: number;
  program?: string;
}

const firstLine = (s: string) => s.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/HPM\.x/.test(l))[0] ?? '';

/**
 * IPMI fencing as fence_ipmilan does it: `chassis power off` (a hard off, not ACPI soft-off: a
 * hung host must not get to decide), then `chassis power status` until the BMC says off. Only a
 * read-back "off" counts; a BMC that does not answer is a failed fence.
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
    let wasOff = false;
    let last = '';
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        if ((await this.powerState(host, signal)) === 'off') {
          wasOff = attempt === 1;
          return { host, method: this.method, confirmedOff: true, wasOff, durationMs: Math.round(performance.now() - start), detail: wasOff ? 'already off' : `off after attempt ${attempt - 1}` };
        }
        const off = await runIpmitool(t, ['chassis', 'power', 'off'], { signal, ...program });
        if (off.exitCode !== 0) {
          last = `power off refused (exit ${off.exitCode}: ${firstLine(off.stderr) || firstLine(off.stdout)})`;
          continue;
        }
        const deadline = performance.now() + (this.options.confirmTimeoutMs ?? 10_000);
        while (performance.now() < deadline) {
          if ((await this.powerState(host, signal)) === 'off') {
            return { host, method: this.method, confirmedOff: true, wasOff: false, durationMs: Math.round(performance.now() - start), detail: `chassis power off confirmed by ${t.address}` };
          }
          await sleep(200, undefined, { signal });
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
