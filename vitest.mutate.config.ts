import { defineConfig } from 'vitest/config';

/**
 * The vitest config Stryker runs (scripts/mutate.mjs): only the test files of the module under
 * mutation, named in XSCTL_MUTATE_TESTS (comma-separated), so a module's mutants never wait for
 * the whole suite (which starts real daemons).
 */
const tests = (process.env.XSCTL_MUTATE_TESTS ?? '').split(',').filter((t) => t !== '');
if (tests.length === 0) throw new Error('XSCTL_MUTATE_TESTS names no test file (run through npm run mutate)');

export default defineConfig({
  test: {
    include: tests,
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
