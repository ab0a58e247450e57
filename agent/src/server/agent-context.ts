import type { Logger } from 'pino';
import type { CommandRunner } from '../exec/command-runner.js';
import type { SandboxRoot } from '../fs/sandbox-root.js';

/** What every service handler gets: the root it may touch, the one command runner, a logger. */
export interface AgentContext {
  root: SandboxRoot;
  runner: CommandRunner;
  logger: Logger;
  /** Where the agent keeps backups and quarantine, as a host path under the root. */
  stateDir: string;
  /** Host directories a file-backed LUN may lie in (config `lunFileDirs`); none by default. */
  lunFileDirs?: readonly string[];
}
