import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { SandboxRoot } from '../../fs/sandbox-root.js';
import { blobsFinding, scanBlobs } from './check-blobs.js';
import { cleanBlobs, listQuarantines, restoreBlobs } from './quarantine.js';
import type { PrecheckContext } from '../precheck-context.js';

/**
 * A message store laid out as XAPI writes it (xapi_message.ml): messages/<timestamp> files and
 * absolute index links messages/VM/<uuid>/<timestamp>, messages/uuid/<uuid>, messages/ref/<ref>;
 * plus a refs/ directory (named in the field report), broken links, and links that leave the tree.
 */

const day = 86_400_000;
const now = new Date('2024-06-01T12:00:00Z');
const stateDir = '/var/lib/xsctl-agent';
const oldCount = 2400;
const newCount = 900;

let base: string;
let root: SandboxRoot;
let blobs: string;
let outsideInRoot: string;
let outsideOfRoot: string;

interface Snapshot {
  [rel: string]: { kind: 'file' | 'link'; content?: string; link?: string; mtimeMs?: number };
}

/** Every entry of a tree: files with content and mtime, links with their text (never followed). */
async function snapshot(dir: string): Promise<Snapshot> {
  const out: Snapshot = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isSymbolicLink()) out[r] = { kind: 'link', link: await readlink(full) };
      else if (e.isDirectory()) await walk(full, r);
      else out[r] = { kind: 'file', content: await readFile(full, 'utf8'), mtimeMs: (await stat(full)).mtimeMs };
    }
  };
  await walk(dir, '');
  return out;
}

const ctx = (): PrecheckContext => ({ root, runner: undefined as never, stateDir, now: () => now, live: false });

async function message(ts: number, vmUuid: string, msgUuid: string): Promise<string> {
  const name = (ts / 1000).toFixed(5);
  const file = join(blobs, 'messages', name);
  await writeFile(file, `<message><ref>OpaqueRef:${msgUuid}</ref><name>VM_STARTED</name><priority>5</priority><cls>VM</cls><obj_uuid>${vmUuid}</obj_uuid><timestamp>${new Date(ts).toISOString()}</timestamp><uuid>${msgUuid}</uuid><body></body></message>`);
  await utimes(file, new Date(ts), new Date(ts));
  // XAPI's index links are absolute host paths.
  const hostPath = `/var/lib/xcp/blobs/messages/${name}`;
  await symlink(hostPath, join(blobs, 'messages/VM', vmUuid, name));
  await symlink(hostPath, join(blobs, 'messages/uuid', msgUuid));
  await symlink(`../${name}`, join(blobs, 'messages/ref', `OpaqueRef:${msgUuid}`));
  return name;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'xsctl-blobs-'));
  root = new SandboxRoot(join(base, 'root'));
  blobs = join(root.root, 'var/lib/xcp/blobs');
  for (const d of ['messages/uuid', 'messages/ref', 'messages/VM', 'refs', 'rrds']) await mkdir(join(blobs, d), { recursive: true });
  const t0 = now.getTime();
  for (let v = 0; v < 7; v++) await mkdir(join(blobs, 'messages/VM', `vm-${v}`), { recursive: true });
  const made: Array<Promise<string>> = [];
  for (let i = 0; i < oldCount; i++) made.push(message(t0 - (120 + (i % 300)) * day - i * 1000, `vm-${i % 7}`, `old-${i}`));
  for (let i = 0; i < newCount; i++) made.push(message(t0 - (i % 30) * day - i * 1000, `vm-${i % 7}`, `new-${i}`));
  await Promise.all(made);
  // refs/: old files named by ref, not by time (mtime gives the age).
  for (let i = 0; i < 50; i++) {
    const f = join(blobs, 'refs', `OpaqueRef:r${i}`);
    await writeFile(f, `ref ${i}`);
    await utimes(f, new Date(t0 - 400 * day), new Date(t0 - 400 * day));
  }
  await writeFile(join(blobs, 'rrds/host.gz'), 'rrd');
  await utimes(join(blobs, 'rrds/host.gz'), new Date(t0 - 900 * day), new Date(t0 - 900 * day));
  // Broken links: dangling, a loop of two, a link to itself.
  await symlink('/var/lib/xcp/blobs/messages/1000000000.00000', join(blobs, 'messages/uuid/dangling'));
  await symlink('loop-b', join(blobs, 'refs/loop-a'));
  await symlink('loop-a', join(blobs, 'refs/loop-b'));
  await symlink('self', join(blobs, 'refs/self'));
  // Links leaving the tree: into the root (absolute, as XAPI would write it), out of the root
  // (relative), and a directory link whose old files must never be reached.
  outsideInRoot = join(root.root, 'etc/xensource/important.conf');
  await mkdir(join(root.root, 'etc/xensource'), { recursive: true });
  await writeFile(outsideInRoot, 'keep me');
  await utimes(outsideInRoot, new Date(t0 - 500 * day), new Date(t0 - 500 * day));
  outsideOfRoot = join(base, 'outside');
  await mkdir(outsideOfRoot);
  await writeFile(join(outsideOfRoot, '1000000001.00000'), 'not ours');
  await utimes(join(outsideOfRoot, '1000000001.00000'), new Date(t0 - 800 * day), new Date(t0 - 800 * day));
  await symlink('/etc/xensource/important.conf', join(blobs, 'messages/uuid/external-abs'));
  await symlink('../../../../../../outside/1000000001.00000', join(blobs, 'refs/external-rel'));
  await symlink(outsideOfRoot, join(blobs, 'messages/VM/evil-dir'));
  await symlink('../refs/../../../../../etc/xensource/important.conf', join(blobs, 'messages/sneaky'));
}, 120_000);

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

// Thousands of files and links per test: generous limits for a loaded CI machine.
describe('blobs scan', { timeout: 120_000 }, () => {
  it('counts files, bytes, ages and problem links without following links out of the tree', async () => {
    const scan = await scanBlobs(ctx());
    expect(scan.exists).toBe(true);
    expect(scan.files).toBe(oldCount + newCount + 50 + 1);
    const messages = scan.subdirs.find((s) => s.name === 'messages');
    expect(messages?.files).toBe(oldCount + newCount);
    // Three index links per message, plus the dangling, external and directory links.
    expect(messages?.symlinks).toBe(3 * (oldCount + newCount) + 4);
    expect(scan.subdirs.find((s) => s.name === 'refs')).toMatchObject({ files: 50, symlinks: 4 });
    expect(scan.danglingLinks).toBe(1);
    expect(scan.loopingLinks).toBe(3);
    expect(scan.externalLinks).toBe(4);
    expect(scan.problems.filter((p) => p.kind === 'external').map((p) => p.path).sort()).toEqual([
      '/var/lib/xcp/blobs/messages/VM/evil-dir',
      '/var/lib/xcp/blobs/messages/sneaky',
      '/var/lib/xcp/blobs/messages/uuid/external-abs',
      '/var/lib/xcp/blobs/refs/external-rel',
    ]);
    const hist = Object.fromEntries(scan.ageHistogram.map((b) => [b.label, b.files]));
    expect(hist['< 7 days']! + hist['7-30 days']!).toBe(newCount);
    expect(hist['90-365 days']! + hist['> 1 year']!).toBe(oldCount + 50 + 1);
    const f = blobsFinding(scan);
    expect(f.id).toBe('blobs');
    expect(f.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_WARNING);
    expect(f.summary).toMatch(/1 broken links|4 broken links/);
    expect(f.summary).toMatch(/4 links leaving the blobs tree/);
  });

  it("cites the field report's words, not a file count it never gives: old messages warn whatever their number", async () => {
    const scan = { ...(await scanBlobs(ctx())), danglingLinks: 0, loopingLinks: 0, externalLinks: 0 };
    const f = blobsFinding(scan);
    expect(f.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_WARNING);
    expect(f.summary).toContain(`${oldCount + 50 + 1} of ${scan.files} files are 90 days old or older`);
    expect(f.summary).toContain('"an exceedingly large number of message files"');
    expect(f.summary).toContain('"about five minutes to over an hour"');
    expect(f.summary).not.toMatch(/10[,.]?000|ten thousand/);
    // Many files, all recent: reported as evidence, no invented threshold.
    const young = blobsFinding({ ...scan, files: 50_000, ageHistogram: scan.ageHistogram.map((b) => ({ ...b, files: b.minAgeDays === 0 ? 50_000 : 0 })) });
    expect(young.severity).toBe(PrecheckSeverity.PRECHECK_SEVERITY_INFO);
    expect(young.evidence[0]).toMatch(/^50000 files/);
  });
});

describe('blobs clean and undo', { timeout: 120_000 }, () => {
  it('is a dry run by default and moves nothing', async () => {
    const before = await snapshot(blobs);
    const r = await cleanBlobs({ root, stateDir, olderThanDays: 90, confirm: false, now });
    expect(r.dryRun).toBe(true);
    expect(r.quarantineId).toBe('');
    expect(r.files).toBe(oldCount + 50);
    expect(r.skippedExternalLinks).toBe(4);
    expect(await snapshot(blobs)).toEqual(before);
    expect(await listQuarantines(root, stateDir)).toEqual([]);
  });

  it('moves old messages, their index links and broken links to a quarantine, and undo puts every entry back', async () => {
    const before = await snapshot(blobs);
    const outsideBefore = { inRoot: await readFile(outsideInRoot, 'utf8'), inRootMtime: (await stat(outsideInRoot)).mtimeMs, outside: await snapshot(outsideOfRoot) };
    const r = await cleanBlobs({ root, stateDir, olderThanDays: 90, confirm: true, now });
    expect(r.dryRun).toBe(false);
    expect(r.quarantineId).toMatch(/^q-20240601T120000Z-[0-9a-f]{4}$/);
    expect(r.files).toBe(oldCount + 50);
    // 3 index links per old message, the dangling link and the three looping ones.
    expect(r.links).toBe(3 * oldCount + 4);

    const after = await snapshot(blobs);
    const remainingMessages = Object.keys(after).filter((k) => /^messages\/\d+\.\d+$/.test(k));
    expect(remainingMessages).toHaveLength(newCount);
    // No index link is left dangling by the move.
    const scan = await scanBlobs(ctx());
    expect(scan.danglingLinks).toBe(0);
    expect(scan.loopingLinks).toBe(0);
    // rrds are never cleaned; links leaving the tree are untouched, and so is what they point at.
    expect(after['rrds/host.gz']).toEqual(before['rrds/host.gz']);
    for (const l of ['messages/uuid/external-abs', 'refs/external-rel', 'messages/VM/evil-dir', 'messages/sneaky']) expect(after[l]).toEqual(before[l]);
    expect(await readFile(outsideInRoot, 'utf8')).toBe(outsideBefore.inRoot);
    expect((await stat(outsideInRoot)).mtimeMs).toBe(outsideBefore.inRootMtime);
    expect(await snapshot(outsideOfRoot)).toEqual(outsideBefore.outside);

    const [q] = await listQuarantines(root, stateDir);
    expect(q).toMatchObject({ id: r.quarantineId, entries: oldCount + 50 + 3 * oldCount + 4, olderThanDays: 90 });
    expect((await lstat(join(root.root, q!.dir, 'tree/messages/ref'))).isDirectory()).toBe(true);
    expect((await scanBlobs(ctx())).quarantines.map((x) => x.id)).toEqual([r.quarantineId]);

    // Undo: a dry run first, then for real.
    const dry = await restoreBlobs({ root, stateDir, id: r.quarantineId, confirm: false });
    expect(dry).toMatchObject({ dryRun: true, restored: q!.entries, conflicts: [], removed: false });
    expect(await snapshot(blobs)).toEqual(after);
    const undone = await restoreBlobs({ root, stateDir, id: r.quarantineId, confirm: true });
    expect(undone).toMatchObject({ dryRun: false, restored: q!.entries, conflicts: [], removed: true });
    expect(await snapshot(blobs)).toEqual(before);
    expect(await readFile(outsideInRoot, 'utf8')).toBe(outsideBefore.inRoot);
    expect((await stat(outsideInRoot)).mtimeMs).toBe(outsideBefore.inRootMtime);
    expect(await snapshot(outsideOfRoot)).toEqual(outsideBefore.outside);
    expect(await listQuarantines(root, stateDir)).toEqual([]);
  });

  it('leaves an entry in the quarantine when its path was taken again', async () => {
    const r = await cleanBlobs({ root, stateDir, olderThanDays: 300, confirm: true, now });
    const taken = join(blobs, 'refs', 'OpaqueRef:r0');
    await writeFile(taken, 'recreated by xapi');
    const undone = await restoreBlobs({ root, stateDir, id: r.quarantineId, confirm: true });
    expect(undone.conflicts).toEqual(['/var/lib/xcp/blobs/refs/OpaqueRef:r0']);
    expect(undone.removed).toBe(false);
    expect(await readFile(taken, 'utf8')).toBe('recreated by xapi');
    const [q] = await listQuarantines(root, stateDir);
    expect(await readFile(join(root.root, q!.dir, 'tree/refs/OpaqueRef:r0'), 'utf8')).toBe('ref 0');
  });

  it('refuses a quarantine id that is not one', async () => {
    await expect(restoreBlobs({ root, stateDir, id: '../../etc', confirm: true })).rejects.toThrow(/quarantine id/);
  });
});
