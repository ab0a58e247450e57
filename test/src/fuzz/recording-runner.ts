import type { Logger } from 'pino';
import { CommandFailedError } from '@xsctl/agent/exec/command-errors';
import { CommandRunner, type CommandResult, type RunOptions } from '@xsctl/agent/exec/command-runner';
import type { AllowedCommand } from '@xsctl/agent/exec/command-table';

export interface RecordedCall {
  command: string;
  args: readonly string[];
  input?: string;
}

/** A canned answer for a call the fuzzer's stub sees; `undefined` means "exit 0, no output". */
export type StubAnswer = (command: AllowedCommand, args: readonly string[]) => Partial<Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr'>> | undefined;

/**
 * The agent's CommandRunner with every allowed program replaced by a recording stub: the real
 * runner's own checks before exec (`admit`: allow-listed program, abort signal, tool-option table),
 * then the call is recorded and answered without running anything. What the agent asked to run is
 * what the fuzzer's argv oracle inspects.
 */
export class RecordingRunner extends CommandRunner {
  readonly calls: RecordedCall[] = [];

  constructor(
    logger: Logger,
    private readonly answer: StubAnswer = () => undefined,
  ) {
    super({ logger });
  }

  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.admit(command, args, options);
    this.calls.push({ command, args: [...args], ...(options.input === undefined ? {} : { input: options.input }) });
    const a = this.answer(command, args) ?? {};
    const exitCode = a.exitCode ?? 0;
    if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
      throw new CommandFailedError(command, args, exitCode, a.stderr ?? '');
    }
    return { command, args, exitCode, stdout: a.stdout ?? '', stderr: a.stderr ?? '', durationMs: 0 };
  }

  /** The calls recorded since `mark` (a previous `calls.length`). */
  since(mark: number): RecordedCall[] {
    return this.calls.slice(mark);
  }
}

/**
 * The host the stubs pretend to be: tgtd runs on every control port until `tgtadm --op delete
 * --mode system` stops it, and runs again after `tgtd` starts it (so StopTgtd ends without waiting
 * out its grace periods). Everything else exits 0 with no output.
 */
export function fakeHost(): StubAnswer {
  const stopped = new Set<string>();
  const portOf = (args: readonly string[]) => {
    const i = args.findIndex((a) => a === '-C' || a === '--control-port');
    return i === -1 ? '0' : (args[i + 1] ?? '0');
  };
  return (command, args) => {
    if (command === 'tgtd') {
      stopped.delete(portOf(args));
      return undefined;
    }
    if (command !== 'tgtadm') return undefined;
    const op = args[args.indexOf('--op') + 1];
    const mode = args[args.indexOf('--mode') + 1];
    if (op === 'delete' && mode === 'system') {
      stopped.add(portOf(args));
      return undefined;
    }
    if (stopped.has(portOf(args))) return { exitCode: 107, stderr: "tgtadm: can't send the request to the tgt daemon, Transport endpoint is not connected\n" };
    return undefined;
  };
}
