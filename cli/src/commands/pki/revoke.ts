import type { Command } from 'commander';
import { parseReason, revocationReasons, revokeCertificate } from '@xsctl/common/pki/index';
import { CliError } from '../../output/cli-error.js';
import { printJson } from '../../output/output.js';

export function registerPkiRevoke(pki: Command): void {
  pki
    .command('revoke')
    .description('revoke a certificate (by name: every unexpired one of that name; or by --serial) and re-sign DIR/ca/crl.pem')
    .argument('[name]', 'certificate name')
    .requiredOption('--dir <dir>', 'PKI directory')
    .option('--serial <hex>', 'revoke exactly this serial (see `xsctl pki list`)')
    .option('--reason <reason>', `one of ${revocationReasons.join(', ')}`, 'unspecified')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The controller reads the list from tls.crl in its config (re-read when the file changes) and
hands it to every agent before its next call; agents then refuse a revoked controller, the
controller refuses revoked CLI and agent certificates.`,
    )
    .action(async (name: string | undefined, flags: { dir: string; serial?: string; reason: string; json?: boolean }) => {
      if ((name === undefined) === (flags.serial === undefined)) throw new CliError('USAGE', 'name a certificate or give --serial', 'xsctl pki revoke NAME --dir DIR');
      const r = await revokeCertificate(flags.dir, name === undefined ? { serial: flags.serial! } : { name }, parseReason(flags.reason));
      if (flags.json === true) printJson(r);
      else {
        for (const c of r.revoked) process.stdout.write(`revoked ${c.kind} ${c.name} serial ${c.serial}\n`);
        if (r.revoked.length === 0) process.stdout.write('already revoked\n');
        process.stdout.write(`revocation list ${r.crl} number ${r.crlNumber}, valid until ${r.nextUpdate}\n`);
      }
    });
}
