import type { Command } from 'commander';
import { expiryWarningDays, loadCa } from '@xsctl/common/pki/index';
import { formatTable, printJson, progress } from '../../output/output.js';

const dayMs = 86_400_000;

export function registerPkiList(pki: Command): void {
  pki
    .command('list')
    .description(`every certificate the CA issued: validity, revocation, and those expiring within ${expiryWarningDays} days`)
    .requiredOption('--dir <dir>', 'PKI directory')
    .option('--json', 'print JSON')
    .action(async (flags: { dir: string; json?: boolean }) => {
      const ca = await loadCa(flags.dir);
      const now = Date.now();
      const rows = ca.registry.certificates.map((c) => {
        const daysLeft = Math.floor((new Date(c.notAfter).getTime() - now) / dayMs);
        const state = c.revokedAt !== undefined ? `revoked (${c.reason ?? 'unspecified'})` : daysLeft < 0 ? 'expired' : daysLeft < expiryWarningDays ? 'expiring' : 'valid';
        return { ...c, daysLeft, state };
      });
      if (flags.json === true) {
        printJson({ ca: { subject: ca.cert.subject, notAfter: ca.cert.notAfter.toISOString() }, crlNumber: ca.registry.crlNumber, certificates: rows });
        return;
      }
      process.stdout.write(formatTable(['KIND', 'NAME', 'ROLE', 'SERIAL', 'NOT AFTER', 'DAYS LEFT', 'STATE'], rows.map((r) => [r.kind, r.name, r.role ?? '-', r.serial, r.notAfter, r.daysLeft, r.state])));
      for (const r of rows.filter((x) => x.state === 'expiring')) progress(`warning: ${r.kind} ${r.name} expires in ${r.daysLeft} days: xsctl pki rotate ${r.name} --dir ${flags.dir}`);
    });
}
