import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'proto/src/gen/**', '.demo/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', performance: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly' } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { paths: [{ name: 'child_process', message: 'use the agent CommandRunner (execa, no shell)' }, { name: 'node:child_process', message: 'use the agent CommandRunner (execa, no shell)' }] }],
    },
  },
  {
    // Only the XAPI adapter talks to xen-api.
    files: ['**/*.ts'],
    ignores: ['controller/src/xapi/**', 'test/src/xapi-sim/**/*.test.ts', 'test/e2e/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'xen-api', message: 'go through controller/src/xapi (the typed adapter)' }, { name: 'child_process', message: 'use the agent CommandRunner (execa, no shell)' }, { name: 'node:child_process', message: 'use the agent CommandRunner (execa, no shell)' }] }] },
  },
  {
    // The multipath -t namespace helper is a separate program that `unshare` execs (the agent runs
    // it through its CommandRunner). It cannot use the async CommandRunner itself: it runs mount
    // and then multipath synchronously with argument arrays (execFileSync/spawnSync, no shell) and
    // passes multipath's stdout/stderr/exit code through. Only this one file may import child_process.
    files: ['agent/src/multipath/namespace/multipath-t-in-namespace.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'xen-api', message: 'go through controller/src/xapi (the typed adapter)' }] }] },
  },
  {
    files: ['scripts/**', 'bench/**', '**/*.mjs'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
