import type { Command } from 'commander';
import { issueCertificate, parseKind, parseRole } from '@xsctl/common/pki/index';
import { printJson } from '../../output/output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerPkiIssue(pki: Command): void {
  pki
    .command('issue')
    .description('issue a certificate signed by the CA: controller, agent, or cli (with a role)')
    .argument('<kind>', 'controller | agent | cli')
    .argument('<name>', 'common name (agents: the host name)')
    .requiredOption('--dir <dir>', 'PKI directory holding ca.crt and ca.key')
    .option('--role <role>', 'cli only: viewer | operator')
    .option('--dns <name>', 'extra DNS name (repeatable)', collect, [])
    .option('--ip <addr>', 'IP address to include (repeatable)', collect, [])
    .option('--days <n>', 'validity in days', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (kind: string, name: string, flags: { dir: string; role?: string; dns: string[]; ip: string[]; days?: number; json?: boolean }) => {
      const files = await issueCertificate(flags.dir, {
        kind: parseKind(kind),
        name,
        ...(flags.role === undefined ? {} : { role: parseRole(flags.role) }),
        dnsNames: flags.dns,
        ipAddresses: flags.ip,
        ...(flags.days === undefined ? {} : { days: flags.days }),
      });
      if (flags.json === true) printJson(files);
      else process.stdout.write(`issued ${kind} ${name}: ${files.cert} (key ${files.key}, mode 0600)\n`);
    });
}
