import { readFileSync } from 'node:fs';

// The RPM bundle defines this at build time; from the source tree we read our package.json,
// so the packaged and the reported version cannot drift.
declare const __XSCTL_AGENT_VERSION__: string | undefined;

export const agentVersion: string =
  typeof __XSCTL_AGENT_VERSION__ === 'string'
    ? __XSCTL_AGENT_VERSION__
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
