import { CommandFailedError } from '../exec/command-errors.js';
import type { CommandResult } from '../exec/command-runner.js';
import type { AgentContext } from '../server/agent-context.js';
import { IptablesBusyError } from './network-errors.js';

/**
 * iptables' exit status when it could not get the xtables lock, or when the kernel refused the
 * new table because another program replaced it in between (EAGAIN): RESOURCE_PROBLEM, the 4th
 * value of enum xtables_exittype (include/xtables.h; iptables/iptables.c and
 * iptables-standalone.c exit with it in both cases, v1.4.21 to v1.8.9).
 */
export const IPTABLES_RESOURCE_PROBLEM = 4;

/**
 * `-w` (wait for the xtables lock) on every call: other programs on a dom0 run iptables too, and
 * without it iptables 1.4.20-1.6.x exits 4 at once when one of them holds the lock. Bare `-w`,
 * no seconds: upstream 1.4.20/1.4.21 take no argument (the seconds came in 1.6.0); CentOS 7's
 * 1.4.21-14 and later accept both. It comes first, before an option: a later `-w` followed by a
 * word (`-w INPUT`) is read as its seconds by 1.6+ and CentOS 7's parser ("wait seconds not
 * numeric"). It waits without end, so the call's own timeout bounds it (the runner kills it;
 * iptables waiting for the lock has changed nothing).
 */
export async function iptables(ctx: AgentContext, args: readonly string[], options: { signal?: AbortSignal | undefined; timeoutMs: number; okExitCodes?: readonly number[] }): Promise<CommandResult> {
  const argv = ['-w', ...args];
  try {
    return await ctx.runner.run('iptables', argv, { signal: options.signal, timeoutMs: options.timeoutMs, ...(options.okExitCodes === undefined ? {} : { okExitCodes: options.okExitCodes }) });
  } catch (err) {
    throw busyOr(err, 'iptables', argv);
  }
}

/** Exit 4 from iptables or iptables-restore as IptablesBusyError; anything else unchanged. */
export function busyOr(err: unknown, command: 'iptables' | 'iptables-restore', args: readonly string[]): unknown {
  if (err instanceof CommandFailedError && err.exitCode === IPTABLES_RESOURCE_PROBLEM) return new IptablesBusyError(command, args, err.stderr.trim().split('\n')[0] ?? '', { cause: err });
  return err;
}
