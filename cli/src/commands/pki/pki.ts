import type { Command } from 'commander';
import { registerPkiInit } from './init.js';
import { registerPkiIssue } from './issue.js';

export function registerPki(program: Command): void {
  const pki = program.command('pki').description('project CA and certificates for mTLS on every hop');
  registerPkiInit(pki);
  registerPkiIssue(pki);
}
