import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@xsctl/common/testing/temp-dir';
import { releaseStartupCode } from './release-startup-code.js';

const require = createRequire(import.meta.url);
/** The runtime the RPM ships (packaging/build-agent-rpm.mjs's default), run as its unit runs it. */
const bun = join(dirname(require.resolve('@oven/bun-linux-x64-baseline/package.json')), 'bin', 'bun');
const source = join(dirname(fileURLToPath(import.meta.url)), 'release-startup-code.ts');

/**
 * Under Bun with the unit's JSC setting: 3000 functions that each ran once (code a start runs and
 * never again), still reachable, then JSC's heap after a full collection, with and without
 * releaseStartupCode in between.
 */
async function heapAfterStart(release: boolean): Promise<{ released: boolean | null; before: number; after: number; first: number; again: number }> {
  const dir = await tempDir('xsctl-release-code-');
  const script = join(dir, 'start.ts');
  await writeFile(
    script,
    `import { fullGC, heapSize } from 'bun:jsc';
import { releaseStartupCode } from ${JSON.stringify(source)};
const ran: Function[] = [];
let first = 0;
for (let i = 0; i < 3000; i++) {
  const f = new Function('n', 'let s = 0; for (let j = 0; j < n; j++) s += j * ' + i + '; return { s, tag: "t' + i + '" };');
  first += f(3).s;
  ran.push(f);
}
fullGC();
const before = heapSize();
const released = ${release} ? releaseStartupCode() : null;
await new Promise((r) => setTimeout(r, 50));
fullGC();
const after = heapSize();
const again = ran.reduce((sum, f) => sum + f(3).s, 0);
console.log(JSON.stringify({ released, before, after, first, again }));
`,
  );
  const { stdout } = await execa(bun, ['--smol', script], { env: { BUN_JSC_useJIT: '0' } });
  return JSON.parse(stdout) as { released: boolean | null; before: number; after: number; first: number; again: number };
}

describe('releaseStartupCode', () => {
  it('under Bun drops the compiled code of functions that ran at start, which stay callable', async () => {
    const kept = await heapAfterStart(false);
    const released = await heapAfterStart(true);
    expect(released.released).toBe(true);
    // Measured: 3.6 MB -> 0.9 MB released, 3.6 -> 3.6 MB kept.
    expect(released.after).toBeLessThan(released.before * 0.5);
    expect(kept.after).toBeGreaterThan(kept.before * 0.9);
    // Each ran again after the release (compiled again on the call) with its first answer: 3 * i summed.
    expect(released.again).toBe(released.first);
    expect(released.first).toBe(3 * ((2999 * 3000) / 2));
  }, 60_000);

  it('does nothing where the runtime has no shrink (Node)', () => {
    expect(releaseStartupCode(undefined)).toBe(false);
    expect(releaseStartupCode({})).toBe(false);
  });
});
