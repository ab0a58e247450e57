import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import xsctlPackages from './eslint-rules/xsctl-packages.js';

const childProcess = [
  { name: 'child_process', message: 'use the agent CommandRunner (execa, no shell)' },
  { name: 'node:child_process', message: 'use the agent CommandRunner (execa, no shell)' },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'proto/src/gen/**', '.demo/**', 'coverage/**', '.stryker-tmp/**', '.tmp/**', 'packaging/out/**', 'test/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX, xsctl: xsctlPackages },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      // Workspace imports resolve to their sources (@xsctl/x/a/b -> x/src/a/b.ts), so cycles are seen across packages too.
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.resolve.json', alwaysTryTypes: true })],
    },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', performance: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly' } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { paths: childProcess }],
      'import-x/no-cycle': ['error', { ignoreExternal: false }],
      'xsctl/declared-workspace-deps': 'error',
      'xsctl/public-entry-only': 'error',
    },
  },
  {
    // Promises are awaited, returned, or marked `void` on purpose: an unhandled rejection kills the controller.
    files: ['**/*.ts'],
    ignores: ['*.config.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  {
    // Only the XAPI adapter talks to xen-api.
    files: ['**/*.ts'],
    ignores: ['controller/src/xapi/**', 'test/src/xapi-sim/**/*.test.ts', 'test/e2e/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'xen-api', message: 'go through controller/src/xapi (the typed adapter)' }, ...childProcess] }] },
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
    // The controller's one door to ipmitool (fencing a host through its BMC). The controller has
    // no CommandRunner (that is the agent's); this file runs one program with argument arrays (no
    // shell), a timeout, an abort signal, and the password in the environment only.
    // Likewise the one door to an iSCSI initiator (libiscsi iscsi-inq) for the switchover's check.
    files: ['controller/src/fencing/ipmitool.ts', 'controller/src/initiator/iscsi-inq.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'xen-api', message: 'go through controller/src/xapi (the typed adapter)' }] }] },
  },
  {
    files: ['scripts/**', 'bench/**', '**/*.mjs', 'eslint-rules/**', 'eslint.config.js'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
