import type { Command } from 'commander';
import { issueCertificate, maxLeafDays, parseDays, parseKind, parseRole } from '@xsctl/common/pki/index';
import { printJson, progress } from '../../output/output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerPkiIssue(pki: Command): void {
  pki
    .command('issue')
    .description('issue a certificate signed by the CA: controller, agent, or cli (with a role); never overwrites without --force')
    .argument('<kind>', 'controller | agent | cli')
    .argument('<name>', 'common name (agents: the host name); "ca", "crl" and "issued" are reserved')
    .requiredOption('--dir <dir>', 'PKI directory (the CA is in DIR/ca/)')
    .option('--role <role>', 'cli only: viewer | operator')
    .option('--dns <name>', 'extra DNS name (repeatable)', collect, [])
    .option('--ip <addr>', 'IP address to include (repeatable)', collect, [])
    .option('--days <n>', `validity in whole days, 1-${maxLeafDays} (default: 180 for agent and controller, 90 for cli)`, (v) => parseDays(v, maxLeafDays))
    .option('--force', 'replace an existing certificate of this name and revoke the old one (prefer `pki rotate`)')
    .option('--json', 'print JSON')
    .action(async (kind: string, name: string, flags: { dir: string; role?: string; dns: string[]; ip: string[]; days?: number; force?: boolean; json?: boolean }) => {
      const files = await issueCertificate(flags.dir, {
        kind: parseKind(kind),
        name,
        ...(flags.role === undefined ? {} : { role: parseRole(flags.role) }),
        dnsNames: flags.dns,
        ipAddresses: flags.ip,
        ...(flags.days === undefined ? {} : { days: flags.days }),
        force: flags.force === true,
      });
      if (files.migrated) progress(`moved the CA key into ${flags.dir}/ca/ (the first layout kept it beside the issued certificates)`);
      if (flags.json === true) printJson(files);
      else {
        process.stdout.write(`issued ${kind} ${name}: ${files.cert} (key ${files.key}, mode 0600), serial ${files.serial}, valid until ${files.notAfter}\n`);
        if (files.replaced.length > 0) process.stdout.write(`revoked the certificate it replaced (serial ${files.replaced.join(', ')}); the controller hands the new list to the agents\n`);
      }
    });
}
