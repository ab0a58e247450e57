import type { Command } from 'commander';
import { completionModel } from './completion-model.js';
import { renderBashCompletion } from './render-bash.js';
import { renderZshCompletion } from './render-zsh.js';

const root = (c: Command): Command => (c.parent === null ? c : root(c.parent));

/** `xsctl completion bash|zsh`: the script on stdout, generated from the registered commands. */
export function registerCompletion(program: Command): void {
  const completion = program.command('completion').description('shell completion scripts (bash, zsh)');
  completion
    .command('bash')
    .description('print the bash completion script')
    .action((_flags: unknown, cmd: Command) => {
      process.stdout.write(renderBashCompletion(completionModel(root(cmd))));
    });
  completion
    .command('zsh')
    .description('print the zsh completion function')
    .action((_flags: unknown, cmd: Command) => {
      process.stdout.write(renderZshCompletion(completionModel(root(cmd))));
    });
}
