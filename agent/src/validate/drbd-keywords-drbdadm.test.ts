import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandRunner } from '../exec/command-runner.js';

/**
 * The oracle behind agent/src/validate/__fixtures__/drbdadm-refused-resource-names.txt (which validators.test.ts
 * holds drbdResourceName to): the installed drbdadm (CI installs drbd-utils,
 * scripts/install-system-deps.sh) refuses each listed word as a resource name and takes ordinary
 * names. Kept apart from the validator's tests so a mutation run does not spawn drbdadm per mutant.
 */
const words = readFileSync(new URL('./__fixtures__/drbdadm-refused-resource-names.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

const runner = new CommandRunner({ checkToolOptions: false, logger: pino({ level: 'silent' }) });

/** drbdadm exits 10 on a parse error (any other failure is not an answer and throws). */
async function drbdadmParses(name: string): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'xsctl-drbdkw-'));
  const conf = join(dir, 'r.conf');
  const on = (host: string, ip: string) => `  on ${host} { device /dev/drbd0; disk /dev/sdb1; address ${ip}:7789; meta-disk internal; }\n`;
  writeFileSync(conf, `resource ${name} {\n${on('alpha', '10.0.0.1')}${on('beta', '10.0.0.2')}}\n`);
  try {
    return (await runner.run('drbdadm', ['-c', conf, 'dump'], { okExitCodes: [10] })).exitCode === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('drbdadm refuses the words of the fixture as resource names', () => {
  it('each listed word fails to parse, ordinary names parse', async () => {
    expect(words.length).toBeGreaterThan(50);
    const parsed = await Promise.all(words.map(async (w) => [w, await drbdadmParses(w)] as const));
    expect(parsed.filter(([, ok]) => ok).map(([w]) => w)).toEqual([]);
    expect(await Promise.all(['r0', 'iscsi1', 'sr-lun-7', 'ask1', 'portal', 'yes_no'].map(drbdadmParses))).toEqual([true, true, true, true, true, true]);
  }, 60_000);
});
