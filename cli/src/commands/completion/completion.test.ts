import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../program.js';
import { completionModel } from './completion-model.js';
import { renderBashCompletion } from './render-bash.js';
import { renderZshCompletion } from './render-zsh.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const run = (cmd: string, args: string[], options: { cwd?: string } = {}) => execa(cmd, args, options);

/** Runs the generated bash function the way bash's completion does, and returns COMPREPLY. */
async function complete(script: string, words: string[], cwd?: string): Promise<string[]> {
  const dir = await tempDir('xsctl-completion-');
  const file = join(dir, 'xsctl.bash');
  await writeFile(file, script);
  const arr = words.map((w) => `'${w}'`).join(' ');
  const { stdout } = await run('bash', ['-c', `source ${file}; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _xsctl; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: cwd ?? dir });
  return stdout.split('\n').filter((l) => l !== '');
}

describe('shell completion', () => {
  const model = completionModel(buildProgram());
  const bash = renderBashCompletion(model);

  it('bash: top-level commands, subcommands after option values, options, file names', async () => {
    expect(await complete(bash, ['xsctl', 'up'])).toEqual(['upgrade']);
    expect(await complete(bash, ['xsctl', 'upgrade', 'w'])).toEqual(['watch']);
    // An option's value between the words does not lose the command path.
    expect(await complete(bash, ['xsctl', '--controller', '10.0.0.5:7444', 'upgrade', 'st'])).toEqual(['status']);
    expect(await complete(bash, ['xsctl', 'upgrade', 'watch', '--'])).toEqual(expect.arrayContaining(['--pool', '--id', '--json', '--help', '--ca']));
    const dashboard = await complete(bash, ['xsctl', 'dashboard', '']);
    expect(dashboard.filter((w) => !w.startsWith('-'))).toEqual(['open']);
    expect(dashboard).toContain('--help');
    const dir = await tempDir('xsctl-completion-files-');
    await writeFile(join(dir, 'ca.crt'), '');
    expect(await complete(bash, ['xsctl', '--ca', 'ca'], dir)).toEqual(['ca.crt']);
  });

  it('zsh: the function parses in a real zsh and names every command path', async () => {
    const zsh = renderZshCompletion(model);
    const dir = await tempDir('xsctl-zsh-');
    await writeFile(join(dir, '_xsctl'), zsh);
    await run('zsh', ['-n', join(dir, '_xsctl')]);
    for (const n of model.nodes) if (n.path !== '') expect(zsh).toContain(`'${n.path}'`);
    expect(zsh).toContain("'watch:re-attach to a running workflow");
  });
});
