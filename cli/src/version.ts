import { readFileSync } from 'node:fs';

// A packaged CLI (one bundle, no package.json beside it) has the version defined at build time;
// from the source tree we read our package.json, so the two cannot drift.
declare const __XSCTL_CLI_VERSION__: string | undefined;

export const cliVersion: string =
  typeof __XSCTL_CLI_VERSION__ === 'string' ? __XSCTL_CLI_VERSION__ : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
