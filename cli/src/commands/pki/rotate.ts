import type { Command } from 'commander';
import { maxLeafDays, parseDays, rotateCertificate } from '@xsctl/common/pki/index';
import { printJson } from '../../output/output.js';

export function registerPkiRotate(pki: Command): void {
  pki
    .command('rotate')
    .description('a new key and certificate for NAME (same kind, role and names), written in place; the old one is revoked')
    .argument('<name>', 'certificate name')
    .requiredOption('--dir <dir>', 'PKI directory')
    .option('--days <n>', `validity in whole days, 1-${maxLeafDays}`, (v) => parseDays(v, maxLeafDays))
    .option('--keep-old', 'leave the old certificate valid until it expires (revoke it later with --serial)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Copy the new files to the party that uses them and restart it; with the old certificate revoked,
peers refuse it as soon as they have the new revocation list.`,
    )
    .action(async (name: string, flags: { dir: string; days?: number; keepOld?: boolean; json?: boolean }) => {
      const r = await rotateCertificate(flags.dir, name, { ...(flags.days === undefined ? {} : { days: flags.days }), keepOld: flags.keepOld === true });
      if (flags.json === true) printJson(r);
      else {
        process.stdout.write(`rotated ${name}: ${r.cert} (key ${r.key}), serial ${r.serial}, valid until ${r.notAfter}\n`);
        process.stdout.write(r.replaced.length > 0 ? `revoked the previous certificate (serial ${r.previous})\n` : `the previous certificate (serial ${r.previous}) stays valid until it expires\n`);
      }
    });
}
