import type { Command } from 'commander';
import { commandExamples, type Example } from './command-examples.js';

/** `upgrade status` for the command `xsctl upgrade status`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function formatExamples(examples: readonly Example[]): string {
  const width = Math.min(64, Math.max(...examples.map(([c]) => c.length)));
  return `\nExamples:\n${examples.map(([c, what]) => (c.length > width ? `  $ ${c}\n  ${' '.repeat(width + 2)}  # ${what}` : `  $ ${c.padEnd(width)}  # ${what}`)).join('\n')}\n`;
}

const attached = new WeakSet<Command>();

/** Adds examples to one command's help. */
export function withExamples(cmd: Command, examples: readonly Example[]): Command {
  if (examples.length === 0 || attached.has(cmd)) return cmd;
  attached.add(cmd);
  return cmd.addHelpText('after', formatExamples(examples));
}

/** Every registered command gets its examples from the table (unless it added its own). */
export function applyExamples(program: Command): void {
  const walk = (c: Command): void => {
    for (const sub of c.commands) {
      const examples = commandExamples[commandPath(sub)];
      if (examples !== undefined) withExamples(sub, examples);
      walk(sub);
    }
  };
  walk(program);
}

/** Every command under `program`, depth first (for completion and the examples test). */
export function allCommands(program: Command): Command[] {
  const out: Command[] = [];
  const walk = (c: Command): void => {
    for (const sub of c.commands) {
      out.push(sub);
      walk(sub);
    }
  };
  walk(program);
  return out;
}
