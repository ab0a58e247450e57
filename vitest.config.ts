import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./${pkg}/src/`, import.meta.url));

/*
 * Workspace imports (`@xsctl/agent/exec/command-errors`) resolve to the packages' sources, as the
 * tests' own relative imports do: through the packages' exports they would load the built dist/,
 * a second instance of every class, and an `instanceof` in the source under test would miss an
 * error thrown by a test double from @xsctl/test (COMMAND_FAILED where a dom0 gets
 * TGT_COMMAND_FAILED). `package.json` stays the package's own. Processes the e2e tests spawn
 * (agents, controller, CLI) run the built dist/ as before: they do not read this file.
 */
const workspaceSources = [
  ...['proto', 'common', 'agent', 'controller', 'test'].map((pkg) => ({ find: new RegExp(`^@xsctl/${pkg}/(?!package\\.json$)`), replacement: src(pkg) })),
  { find: /^xsctl\/(?!package\.json$)/, replacement: src('cli') },
];

export default defineConfig({
  resolve: { alias: workspaceSources },
  test: {
    include: ['*/src/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // The e2e suites spawn real daemons and processes; on a loaded 2-core runner 30 s was not enough.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
