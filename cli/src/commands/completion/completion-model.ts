import type { Command } from 'commander';
import { allCommands, commandPath } from '../../help/with-examples.js';

export interface CompletionNode {
  /** '' for the top level, else e.g. `upgrade status`. */
  path: string;
  subcommands: Array<{ name: string; description: string }>;
  options: string[];
}

export interface CompletionModel {
  nodes: CompletionNode[];
  /** Options whose value is a file or directory: complete file names after them. */
  fileOptions: string[];
}

const optionNames = (c: Command): string[] => c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => x !== undefined));

/** What completion offers at each command path, read from the registered commands. */
export function completionModel(program: Command): CompletionModel {
  const globals = optionNames(program);
  const nodeOf = (c: Command, path: string): CompletionNode => ({
    path,
    subcommands: c.commands.map((s) => ({ name: s.name(), description: s.description() })),
    options: [...optionNames(c), ...globals.filter(() => path !== ''), '--help'].filter((o, i, all) => all.indexOf(o) === i),
  });
  const nodes = [nodeOf(program, ''), ...allCommands(program).map((c) => nodeOf(c, commandPath(c)))];
  const fileOptions = [program, ...allCommands(program)]
    .flatMap((c) => c.options)
    .filter((o) => /<(file|dir|directory|path)>/.test(o.flags) && o.long !== undefined)
    .map((o) => o.long as string);
  return { nodes, fileOptions: [...new Set(fileOptions)].sort() };
}
