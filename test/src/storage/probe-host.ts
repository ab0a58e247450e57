import { pino } from 'pino';
import type { CommandResult, RunOptions } from '@xsctl/agent/exec/command-runner';
import { RecordingRunner } from '../fuzz/recording-runner.js';
import { ipAddrShowDev } from './storage-spec.js';

/** arping's exit by its arguments: `arping -D` exits 1 when a host claims the address (the master holds the floating IP), `arping -q -c 1` 0 when the peer answers. */
export type ArpingExit = (args: readonly string[]) => number;
const masterHoldsIpPeerAnswers: ArpingExit = (args) => (args[0] === '-D' ? 1 : 0);

/**
 * The commands a peer watch runs on a slave (eth1 at 10.10.10.12/24, DRBD minor 1), answered
 * here: the DRBD read takes `drbdMs`; every arping waits for the gate in place when it was
 * called (or for its abort), so a test can hold a round in its probes.
 */
export class ProbeHost extends RecordingRunner {
  gate: Promise<void> | null = null;
  arpings = 0;
  drbdMs = 0;

  constructor(private readonly arpingExit: ArpingExit = masterHoldsIpPeerAnswers) {
    super(pino({ level: 'silent' }));
  }

  /** Arpings called and not answered yet. */
  get pending(): number {
    return this.calls.filter((c) => c.command === 'arping').length - this.arpings;
  }

  /**
   * Whether a round that began after call `from` has read /proc/drbd: a round calls its arpings
   * first (synchronously, at its start) and `drbdadm sh-minor` only after its /proc/drbd read
   * (drbd-ops.ts readStatus), so a drbdadm after that round's first arping proves the read done.
   */
  drbdReadSince(from: number): boolean {
    const later = this.calls.slice(from);
    const firstArping = later.findIndex((c) => c.command === 'arping');
    return firstArping >= 0 && later.slice(firstArping).some((c) => c.command === 'drbdadm');
  }

  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.admit(command, args, options);
    this.calls.push({ command, args: [...args] });
    const ok = (stdout = '', exitCode = 0): CommandResult => ({ command, args, exitCode, stdout, stderr: '', durationMs: 0 });
    const wait = (p: Promise<void>) =>
      new Promise<void>((resolve, reject) => {
        void p.then(resolve);
        options.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    if (command === 'drbdadm') {
      await wait(new Promise((r) => setTimeout(r, this.drbdMs)));
      return ok('1\n');
    }
    if (command === 'ip') return ok(ipAddrShowDev('eth1', ['10.10.10.12/24']));
    if (command === 'arping') {
      if (this.gate !== null) await wait(this.gate);
      this.arpings++;
      return ok('', this.arpingExit(args));
    }
    return ok();
  }
}
