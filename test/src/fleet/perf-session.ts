import type { StorageLab } from './storage-lab.js';

/**
 * A long-lived initiator session on the floating IP: libiscsi's iscsi-perf reading at random in
 * the initiator's namespace, one progress line a second (-l, line-buffered through stdbuf), errors
 * not ignored (no -n), reconnects allowed (-x: the session to the old master's tgtd dies with the
 * demotion and logs in again on the new one), LIBISCSI_DEBUG=2 logging each reconnect. Unlike the
 * lab monitor's INQUIRY probes (a fresh login each), it sees what a logged-in initiator sees.
 */
export interface PerfSessionResult {
  /** Progress lines: when each arrived (performance.now()) and the reads completed in that second. */
  progress: { at: number; iops: number }[];
  /** When libiscsi reported a successful reconnect. */
  reconnects: number[];
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  /** Still running 10 s after SIGINT, so killed (see stop()). */
  killed: boolean;
  /** A line iscsi-perf prints only for a failed read, a lost session or an abort; null when none. */
  failure: string | null;
}

export interface PerfSession {
  progress: { at: number; iops: number }[];
  reconnects: number[];
  /** Resolves once reads complete (a progress line with I/O). */
  reading(timeoutMs?: number): Promise<void>;
  stop(): Promise<PerfSessionResult>;
}

const FAILURES = /ABORT|Read16 failed|iscsi_service failed|command retries|failed to send read16|Login Failed/;

export function startPerfSession(lab: StorageLab, url: string): PerfSession {
  const ini = lab.fleet.host('ini');
  const perf = ini.exec('stdbuf', ['-oL', 'iscsi-perf', '-r', '-l', '-t', '3600', '-x', '1000', url], { reject: false, timeout: 4_000_000, env: { LIBISCSI_DEBUG: '2' } });
  const progress: { at: number; iops: number }[] = [];
  const reconnects: number[] = [];
  let pending = '';
  perf.stdout?.on('data', (chunk: Buffer) => {
    const at = performance.now();
    pending += chunk.toString('utf8');
    const lines = pending.split(/[\r\n]/);
    pending = lines.pop() ?? '';
    for (const l of lines) {
      const m = /iops current (\d+)/.exec(l);
      if (m !== null) progress.push({ at, iops: Number(m[1]) });
    }
  });
  perf.stderr?.on('data', (chunk: Buffer) => {
    const at = performance.now();
    const n = chunk.toString('utf8').match(/reconnect was successful/g)?.length ?? 0;
    for (let i = 0; i < n; i++) reconnects.push(at);
  });
  return {
    progress,
    reconnects,
    async reading(timeoutMs = 60_000) {
      await lab.until('iscsi-perf reading', async () => (progress.some((p) => p.iops > 0) ? true : undefined), timeoutMs);
    },
    async stop() {
      perf.kill('SIGINT');
      // One SIGINT stops new reads and waits for those in flight. iscsi-perf 1.19 counts a read it
      // re-sends after a UNIT ATTENTION (tgtd reports one on a new session's first commands) as
      // completed (cb(): the retry path falls through to in_flight--), so after a reconnect its
      // counter passes zero and it waits forever with nothing in flight. A second SIGINT would
      // print ABORTED: it is killed instead, and the caller judges its output.
      let killed = false;
      const stuck = setTimeout(() => {
        killed = true;
        perf.kill('SIGKILL');
      }, 10_000);
      const out = await perf;
      clearTimeout(stuck);
      const stdout = String(out.stdout);
      const stderr = String(out.stderr);
      const failure = (stdout + '\n' + stderr).split(/[\r\n]+/).find((l) => FAILURES.test(l)) ?? null;
      return { progress, reconnects, stdout, stderr, exitCode: out.exitCode, killed, failure };
    },
  };
}

/** The widest spacing of progress lines from `from` on: the longest time no read completed. */
export function longestPauseMs(progress: readonly { at: number }[], from: number): number {
  const during = progress.filter((p) => p.at >= from);
  let gap = 0;
  for (let i = 1; i < during.length; i++) gap = Math.max(gap, during[i]!.at - during[i - 1]!.at);
  return Math.round(gap);
}
