import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // The e2e suites spawn real daemons and processes; on a loaded 2-core runner 30 s was not enough.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
