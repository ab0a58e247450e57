import { X509Certificate } from 'node:crypto';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CaLockedError, caLockName, withCaLock } from './ca-lock.js';
import { initCa, issueCertificate } from './certificate-authority.js';
import { readRegistry } from './cert-registry.js';
import { pkiLayout } from './pki-layout.js';
import { revokeCertificate } from './revocation.js';
import { tempDir } from '../testing/temp-dir.js';

/**
 * The CA lock (ca-lock.ts) around the register's read-change-write. The child processes run the
 * built package (common/dist), as `xsctl pki issue` run several times at once would.
 */

const here = dirname(fileURLToPath(import.meta.url));
const builtPki = resolve(here, '../../dist/pki/index.js');
const fresh = () => tempDir('xsctl-ca-lock-');

/** Issues `names` at once in one process, after waiting until `startAt` (ms since the epoch). */
const issuerScript = `
const [dir, startAt, ...names] = process.argv.slice(1);
const { issueCertificate } = await import(${JSON.stringify(builtPki)});
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const out = await Promise.all(names.map((name, i) => issueCertificate(dir, { kind: 'agent', name, ipAddresses: ['10.1.' + process.pid % 250 + '.' + (i + 1)] })));
process.stdout.write(JSON.stringify(out.map((o) => o.serial)));
`;

async function expectAllRecorded(dir: string, names: readonly string[]): Promise<void> {
  const registry = await readRegistry(pkiLayout(dir).registry);
  expect(registry.certificates.map((c) => c.name).sort()).toEqual([...names].sort());
  expect(new Set(registry.certificates.map((c) => c.serial)).size).toBe(names.length);
  const caCert = new X509Certificate(await readFile(pkiLayout(dir).caCert));
  for (const c of registry.certificates) {
    const leaf = new X509Certificate(await readFile(join(dir, `${c.name}.crt`)));
    expect(leaf.checkIssued(caCert), c.name).toBe(true);
    // The register's serial is the certificate's own (lowercase hex, no leading zeros).
    expect(leaf.serialNumber.toLowerCase().replace(/^0+/, ''), c.name).toBe(c.serial);
  }
  // No temp file or lock left behind.
  expect((await readdir(dir)).filter((f) => f.endsWith('.tmp') || f === caLockName)).toEqual([]);
  expect((await readdir(join(dir, 'ca'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
}

describe('CA lock', () => {
  it('records every certificate when 6 processes issue 3 each at the same moment', async () => {
    const dir = await fresh();
    await initCa(dir);
    const startAt = Date.now() + 1500;
    const batches = Array.from({ length: 6 }, (_, p) => Array.from({ length: 3 }, (_, i) => `p${p}-host${i}`));
    const results = await Promise.all(batches.map((names) => execa(process.execPath, ['--input-type=module', '-e', issuerScript, dir, String(startAt), ...names], { reject: false })));
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const serials = results.flatMap((r) => JSON.parse(r.stdout) as string[]);
    expect(serials).toHaveLength(18);
    await expectAllRecorded(dir, batches.flat());
  }, 120_000);

  it('records every certificate when one process issues 12 at once', async () => {
    const dir = await fresh();
    await initCa(dir);
    const names = Array.from({ length: 12 }, (_, i) => `agent${i}`);
    await Promise.all(names.map((name) => issueCertificate(dir, { kind: 'agent', name })));
    await expectAllRecorded(dir, names);
  });

  it('keeps revocations and issues made at the same time', async () => {
    const dir = await fresh();
    await initCa(dir);
    const first = Array.from({ length: 4 }, (_, i) => `old${i}`);
    for (const name of first) await issueCertificate(dir, { kind: 'cli', name });
    const second = Array.from({ length: 4 }, (_, i) => `new${i}`);
    await Promise.all([...first.map((name) => revokeCertificate(dir, { name }, 'cessationOfOperation')), ...second.map((name) => issueCertificate(dir, { kind: 'cli', name }))]);
    const registry = await readRegistry(pkiLayout(dir).registry);
    expect(registry.certificates.map((c) => [c.name, c.reason ?? 'live']).sort()).toEqual([...first.map((n) => [n, 'cessationOfOperation']), ...second.map((n) => [n, 'live'])].sort());
    // Four revocations, four lists: each signed with the next number.
    expect(registry.crlNumber).toBe(1 + 4);
  });

  it('waits for a holder and refuses with PKI_CA_LOCKED after its wait', async () => {
    const dir = await fresh();
    let release!: () => void;
    const held = withCaLock(dir, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const refused = await withCaLock(dir, async () => 'ran', { waitMs: 400 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(CaLockedError);
    expect(refused).toMatchObject({ code: 'PKI_CA_LOCKED', lockPath: join(dir, caLockName) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Once released, the next caller gets it.
    const next = withCaLock(dir, async () => 'ran');
    release();
    await held;
    await expect(next).resolves.toBe('ran');
  });

  it('takes over a lock whose holder was killed once it is stale', async () => {
    const dir = await fresh();
    // The interval keeps the holder running (the lock's own refresh timer does not).
    const holder = execa(process.execPath, ['--input-type=module', '-e', `const { withCaLock } = await import(${JSON.stringify(builtPki)}); await withCaLock(process.argv[1], () => { process.stdout.write('held\\n'); setInterval(() => undefined, 1000); return new Promise(() => {}); }, { staleMs: 2000 });`, dir], { reject: false });
    await new Promise<void>((res, rej) => {
      holder.stdout?.on('data', (d: Buffer) => (String(d).includes('held') ? res() : undefined));
      void holder.then((r) => rej(new Error(`holder exited: ${r.stderr}`)));
    });
    holder.kill('SIGKILL');
    await holder;
    expect((await stat(join(dir, caLockName))).isDirectory()).toBe(true);
    const started = Date.now();
    await expect(withCaLock(dir, async () => 'ran', { staleMs: 2000, waitMs: 10_000 })).resolves.toBe('ran');
    // Not before the dead holder's lock went stale.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  }, 30_000);

  it('issues past a lock directory left long ago (default stale time)', async () => {
    const dir = await fresh();
    await initCa(dir);
    await mkdir(join(dir, caLockName));
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(join(dir, caLockName), minuteAgo, minuteAgo);
    await issueCertificate(dir, { kind: 'agent', name: 'late' });
    await expectAllRecorded(dir, ['late']);
  });

  it('names `xsctl pki init` when the PKI directory does not exist', async () => {
    const dir = join(await fresh(), 'missing');
    await expect(issueCertificate(dir, { kind: 'agent', name: 'x' })).rejects.toThrow('run `xsctl pki init` first');
    // A file where the directory should be is no PKI either.
    const file = join(await fresh(), 'file');
    await writeFile(file, '');
    await expect(issueCertificate(file, { kind: 'agent', name: 'x' })).rejects.toThrow('run `xsctl pki init` first');
  });
});
