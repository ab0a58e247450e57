import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../program.js';
import { allCommands, commandPath } from './with-examples.js';

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

describe('every command has examples in its --help', () => {
  const program = buildProgram();
  const commands = allCommands(program);

  it('finds the commands (a sanity check on the walk itself)', () => {
    const paths = commands.map(commandPath);
    for (const p of ['hosts', 'upgrade', 'upgrade watch', 'precheck', 'dashboard open', 'completion bash', 'completion zsh', 'pki issue']) expect(paths).toContain(p);
  });

  it.each(allCommands(buildProgram()).map((c) => [commandPath(c)]))('xsctl %s --help', (path) => {
    const cmd = commands.find((c) => commandPath(c) === path) as Command;
    const help = helpOf(cmd);
    expect(help, `${path} has no Examples section: add it to cli/src/help/command-examples.ts`).toContain('\nExamples:\n');
    // At least one example runs this very command (groups may show their subcommands).
    const lines = help.slice(help.indexOf('\nExamples:\n')).split('\n').filter((l) => l.startsWith('  $ '));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes(`xsctl ${path}`) || (cmd.commands.length > 0 && cmd.commands.some((s) => l.includes(`xsctl ${path} ${s.name()}`)))), `${path}: ${lines.join(' | ')}`).toBe(true);
  });
});
