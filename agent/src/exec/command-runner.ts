import type * as Execa from 'execa';
import type { Logger } from 'pino';
import { CommandCancelledError, CommandFailedError, CommandNotFoundError, CommandOptionNotInTableError, CommandTimeoutError } from './command-errors.js';
import { isAllowedCommand, type AllowedCommand } from './command-table.js';
import { checkToolArgs } from './tool-options.js';

/**
 * execa (and the stream helpers it pulls in) is loaded on the first command, not at start: a
 * serving agent answers GetFacts without running anything, and its start time and memory
 * (bench/agent.mjs) are what a dom0 pays at every boot.
 */
let execaModule: Promise<typeof Execa> | undefined;
const loadExeca = (): Promise<typeof Execa> => (execaModule ??= import('execa'));

export interface RunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  input?: string;
  /** Extra environment. The agent's own environment is not passed through, to keep runs reproducible. */
  env?: Readonly<Record<string, string>>;
  /** Exit codes that are not failures for this call (e.g. multipath -t is 0 even on errors). */
  okExitCodes?: readonly number[];
  cwd?: string;
  /** Values that must never reach a log or an error (e.g. a CHAP password tgtadm only takes as argv). */
  secrets?: readonly string[];
}

export interface CommandResult {
  command: AllowedCommand;
  args: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CommandRunnerOptions {
  logger: Logger;
  defaultTimeoutMs?: number;
  /** Absolute paths or replacements per command, e.g. a simulator in tests. */
  paths?: Partial<Record<AllowedCommand, string>>;
  /** Prefix arguments per command, e.g. `drbdadm -s SIM`. */
  prefixArgs?: Partial<Record<AllowedCommand, readonly string[]>>;
  env?: Readonly<Record<string, string>>;
  /**
   * Refuse options outside tool-options.ts (default true). Off only where a test uses the runner
   * as a plain process runner with other programs behind the names, or runs Debian's newer tools as oracles.
   */
  checkToolOptions?: boolean;
}

const basePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How long a cancelled or timed-out program's process group has between SIGTERM and SIGKILL. */
const forceKillAfterMs = 2_000;

/** Signals a whole process group; a group that is already gone is not an error. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: every process of the group has exited
  }
}

/** The one way the agent runs a program: argument arrays, never a shell, always a timeout and a signal. */
export class CommandRunner {
  readonly #logger: Logger;
  readonly #defaultTimeoutMs: number;
  readonly #paths: Partial<Record<AllowedCommand, string>>;
  readonly #prefixArgs: Partial<Record<AllowedCommand, readonly string[]>>;
  readonly #env: Readonly<Record<string, string>>;
  readonly #checkToolOptions: boolean;

  constructor(options: CommandRunnerOptions) {
    this.#logger = options.logger;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.#paths = options.paths ?? {};
    this.#prefixArgs = options.prefixArgs ?? {};
    this.#env = options.env ?? {};
    this.#checkToolOptions = options.checkToolOptions ?? true;
  }

  /**
   * What is refused before anything runs: a program outside the allow-list, a call already
   * cancelled, an option outside the tool-option table. A subclass that records calls instead of
   * running them (the fuzzer's) calls this, so it refuses exactly what the real runner refuses.
   */
  protected admit(command: string, args: readonly string[], options: RunOptions): asserts command is AllowedCommand {
    if (!isAllowedCommand(command)) throw new CommandNotFoundError(command);
    if (options.signal?.aborted === true) throw new CommandCancelledError(command);
    if (this.#checkToolOptions) {
      // Only the caller's arguments: prefixArgs belong to the deployment (a simulator in tests).
      const problem = checkToolArgs(command, args);
      if (problem !== null) throw new CommandOptionNotInTableError(command, problem.arg, problem.reason);
    }
  }

  async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.admit(command, args, options);
    const file = this.#paths[command] ?? command;
    const fullArgs = [...(this.#prefixArgs[command] ?? []), ...args];
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const start = performance.now();
    // Its own process group (detached: setsid), so a cancel or a timeout reaches every process the
    // program started (drbdadm -> drbdsetup, tgt-admin -> sh -> tgtadm, unshare -> node -> multipath),
    // not only the direct child: SIGTERM to the group, SIGKILL to what is left 2 s later.
    const { execa } = await loadExeca();
    const subprocess = execa(file, fullArgs, {
      shell: false,
      reject: false,
      detached: true,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      extendEnv: false,
      env: { PATH: basePath, LANG: 'C', LC_ALL: 'C', ...this.#env, ...options.env },
      stripFinalNewline: false,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    let stoppedBy: 'cancel' | 'timeout' | null = null;
    const stop = (why: 'cancel' | 'timeout') => {
      if (stoppedBy !== null) return;
      stoppedBy = why;
      killGroup(subprocess.pid, 'SIGTERM');
      setTimeout(() => killGroup(subprocess.pid, 'SIGKILL'), forceKillAfterMs).unref();
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('cancel');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let result: Awaited<typeof subprocess>;
    try {
      result = await subprocess;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    const durationMs = Math.round(performance.now() - start);
    const secrets = (options.secrets ?? []).filter((x) => x !== '');
    const shownArgs = secrets.length === 0 ? fullArgs : fullArgs.map((a) => secrets.reduce((acc, x) => acc.split(x).join('[redacted]'), a));
    this.#logger.debug({ command, args: shownArgs, exitCode: result.exitCode, durationMs }, 'command');
    // execa's result repeats the argv; keep it as the cause only when nothing secret is in it.
    const cause = secrets.length === 0 ? { cause: result } : undefined;
    if (stoppedBy === 'cancel') throw new CommandCancelledError(command, cause);
    if (stoppedBy === 'timeout') throw new CommandTimeoutError(command, timeoutMs, cause);
    if ((result as { code?: string }).code === 'ENOENT') throw new CommandNotFoundError(command, cause);
    const exitCode = result.exitCode ?? -1;
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
      const redact = (t: string) => secrets.reduce((acc, x) => acc.split(x).join('[redacted]'), t);
      throw new CommandFailedError(command, shownArgs, result.exitCode, redact(stderr));
    }
    return { command, args: fullArgs, exitCode, stdout, stderr, durationMs };
  }
}
