// How the agent (and bench/agent.mjs's floor programs) become one executable with Bun, so the
// bench measures exactly what the RPM ships.
import { execFileSync } from 'node:child_process';

/**
 * --no-compile-autoload-*: a .env or bunfig.toml in the agent's working directory must not change a
 * root daemon. --smol: JSC's smaller heap, collected more often.
 */
export const bunCompileArgs = ['--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--compile-exec-argv=--smol'];

/** `bun build --compile` of one bundled file into `outfile`. */
export function bunCompile(bun, entry, outfile, cwd) {
  execFileSync(bun, ['build', '--compile', ...bunCompileArgs, entry, '--outfile', outfile], { stdio: ['ignore', 'ignore', 'inherit'], cwd });
}
