import { readFileSync } from 'node:fs';

// Read once from our own package.json, so the RPM version and the reported version cannot drift.
export const agentVersion: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
