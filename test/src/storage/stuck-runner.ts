import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import type { CommandResult, RunOptions } from '@xsctl/agent/exec/command-runner';
import { RecordingRunner } from '../fuzz/recording-runner.js';

/**
 * A host where the commands `stuck` picks never return (a tool wedged on a kernel lock, a spawn on
 * an overloaded dom0): only the caller's signal ends them, with its reason. Every other command
 * exits 0 at once, recorded. While a stuck command waits, garbage is collected on five later turns
 * of the event loop (an object held only weakly outlives the turn that made it), as in a busy
 * agent: a deadline that is only weakly held (an AbortSignal.timeout() inside AbortSignal.any() on
 * Node 20) is collected and never fires.
 */
export class StuckRunner extends RecordingRunner {
  readonly #gc: () => void;

  constructor(private readonly stuck: (command: string, args: readonly string[]) => boolean) {
    super(pino({ level: 'silent' }));
    v8.setFlagsFromString('--expose-gc');
    this.#gc = runInNewContext('gc') as () => void;
  }

  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (!this.stuck(command, args)) return super.run(command, args, options);
    this.admit(command, args, options);
    this.calls.push({ command, args: [...args] });
    void (async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 10));
        this.#gc();
      }
    })();
    const signal = options.signal;
    return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  }
}
