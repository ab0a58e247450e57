import type { Command } from 'commander';
import { registerPkiCrl } from './crl.js';
import { registerPkiInit } from './init.js';
import { registerPkiIssue } from './issue.js';
import { registerPkiList } from './list.js';
import { registerPkiRevoke } from './revoke.js';
import { registerPkiRotate } from './rotate.js';

export function registerPki(program: Command): void {
  const pki = program.command('pki').description('project CA and certificates for mTLS on every hop');
  registerPkiInit(pki);
  registerPkiIssue(pki);
  registerPkiRevoke(pki);
  registerPkiRotate(pki);
  registerPkiList(pki);
  registerPkiCrl(pki);
}
