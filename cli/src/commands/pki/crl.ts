import type { Command } from 'commander';
import { refreshCrl } from '@xsctl/common/pki/index';
import { printJson } from '../../output/output.js';

export function registerPkiCrl(pki: Command): void {
  pki
    .command('crl')
    .description('re-sign DIR/ca/crl.pem with fresh dates and the next number (before its next update passes)')
    .requiredOption('--dir <dir>', 'PKI directory')
    .option('--json', 'print JSON')
    .action(async (flags: { dir: string; json?: boolean }) => {
      const r = await refreshCrl(flags.dir);
      if (flags.json === true) printJson(r);
      else process.stdout.write(`revocation list ${r.file} number ${r.number}, valid until ${r.nextUpdate}\n`);
    });
}
