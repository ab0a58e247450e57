import type { Command } from 'commander';
import { registerServe } from './serve.js';
import { registerPrecheck } from './precheck.js';

/** One line per agent subcommand. */
export function registerAgentCommands(program: Command): void {
  registerServe(program);
  registerPrecheck(program);
}
