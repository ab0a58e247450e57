import type { Command } from 'commander';
import { defaultCaDays, initCa, maxCaDays, parseDays } from '@xsctl/common/pki/index';
import { printJson } from '../../output/output.js';

export function registerPkiInit(pki: Command): void {
  pki
    .command('init')
    .description('create the project CA in DIR/ca/ (ca.crt, ca.key 0600, the register of issued certificates)')
    .requiredOption('--dir <dir>', 'PKI directory')
    .option('--name <cn>', 'CA common name', 'xsctl CA')
    .option('--days <n>', `CA validity in whole days, 1-${maxCaDays}`, (v) => parseDays(v, maxCaDays), defaultCaDays)
    .option('--json', 'print JSON')
    .action(async (flags: { dir: string; name: string; days: number; json?: boolean }) => {
      const files = await initCa(flags.dir, { name: flags.name, days: flags.days });
      if (flags.json === true) printJson(files);
      else process.stdout.write(`CA written: ${files.cert} (key ${files.key}, mode 0600)\n`);
    });
}
