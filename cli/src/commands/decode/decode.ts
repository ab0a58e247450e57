import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { printJson } from '../../output/output.js';
import { CliError } from '../../output/cli-error.js';
import { decoderNames, getDecoder } from './decoder-table.js';
import './decoders.js';

async function readInput(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('INPUT_UNREADABLE', `cannot read ${file}`, 'give a file path, or - for standard input', { cause: err });
  }
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('decode tool output pasted from any host, offline (no controller, no agent)')
    .argument('<format>', 'input format (see --help for the list)')
    .argument('<file>', 'file with the output, or - for stdin')
    .option('--json', 'print the decoded structure as JSON')
    .addHelpText('after', () => `\nFormats:\n${decoderNames().map((n) => `  ${n.padEnd(18)} ${getDecoder(n)?.description ?? ''}`).join('\n')}\n`)
    .action(async (format: string, file: string, flags: { json?: boolean }) => {
      const decoder = getDecoder(format);
      if (decoder === undefined) {
        throw new CliError('UNKNOWN_FORMAT', `unknown format "${format}"`, `one of: ${decoderNames().join(', ')}`);
      }
      const decoded = decoder.decode(await readInput(file));
      if (flags.json === true || decoder.render === undefined) printJson(decoded);
      else process.stdout.write(decoder.render(decoded));
    });
}
