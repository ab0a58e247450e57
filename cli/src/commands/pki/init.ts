import type { Command } from 'commander';
import { initCa } from '@xsctl/common/pki/index';
import { printJson } from '../../output/output.js';

export function registerPkiInit(pki: Command): void {
  pki
    .command('init')
    .description('create the project CA (ca.crt, ca.key 0600) in --dir')
    .requiredOption('--dir <dir>', 'PKI directory')
    .option('--name <cn>', 'CA common name', 'xsctl CA')
    .option('--json', 'print JSON')
    .action(async (flags: { dir: string; name: string; json?: boolean }) => {
      const files = await initCa(flags.dir, { name: flags.name });
      if (flags.json === true) printJson(files);
      else process.stdout.write(`CA written: ${files.cert} (key ${files.key}, mode 0600)\n`);
    });
}
