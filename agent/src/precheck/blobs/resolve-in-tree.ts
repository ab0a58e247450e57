import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Where a path inside the blobs tree leads, walked one component at a time like the kernel's
 * namei, but confined: the first link whose target leaves the tree stops the walk ("external")
 * and nothing outside the tree is ever stat'ed, read or opened. Absolute link targets are
 * interpreted inside the agent's root (XAPI writes absolute links such as
 * /var/lib/xcp/blobs/messages/<timestamp>), so a sandbox tree behaves like the host.
 */

export type LinkResolution =
  | { kind: 'ok'; path: string; isDirectory: boolean }
  | { kind: 'dangling'; target: string }
  | { kind: 'loop'; target: string }
  | { kind: 'external'; target: string };

/** lstat results shared by the resolutions of one walk (index links share most of their path). */
export type LstatCache = Map<string, Promise<Stats>>;

/** Linux gives up after 40 links (ELOOP). */
const maxHops = 40;

export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * @param treeDir  the blobs directory (real path, no links in it)
 * @param rootDir  the agent's root (real path): absolute link targets are resolved under it
 * @param path     a path inside treeDir, possibly a link or under links
 */
export async function resolveInTree(treeDir: string, rootDir: string, path: string, cache: LstatCache = new Map()): Promise<LinkResolution> {
  const cachedLstat = (p: string): Promise<Stats> => {
    let hit = cache.get(p);
    if (hit === undefined) {
      hit = lstat(p);
      // Keep failures cached too, without an unhandled rejection.
      hit.catch(() => undefined);
      cache.set(p, hit);
    }
    return hit;
  };
  if (!isInside(treeDir, path)) return { kind: 'external', target: path };
  let pending = relative(treeDir, path).split(sep).filter((c) => c !== '' && c !== '.');
  let current = treeDir;
  let hops = 0;
  let lastTarget = '';
  while (pending.length > 0) {
    const component = pending.shift() as string;
    if (component === '..') {
      current = dirname(current);
      if (!isInside(treeDir, current)) return { kind: 'external', target: lastTarget || path };
      continue;
    }
    const next = join(current, component);
    let st;
    try {
      st = await cachedLstat(next);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'dangling', target: lastTarget || next };
      throw err;
    }
    if (!st.isSymbolicLink()) {
      if (pending.length > 0 && !st.isDirectory()) return { kind: 'dangling', target: lastTarget || next };
      current = next;
      continue;
    }
    hops++;
    const text = await readlink(next);
    lastTarget = text;
    if (hops > maxHops) return { kind: 'loop', target: text };
    const parts = text.split('/').filter((c) => c !== '' && c !== '.');
    if (isAbsolute(text)) {
      // An absolute target must name a place in the tree outright: no `..` detours outside it.
      const target = join(rootDir, resolve('/', text));
      if (parts.includes('..') || !isInside(treeDir, target)) return { kind: 'external', target: text };
      pending = [...relative(treeDir, target).split(sep).filter((c) => c !== '' && c !== '.'), ...pending];
      current = treeDir;
    } else {
      // Relative components are walked from the link's directory; a `..` that leaves the tree stops the walk.
      pending = [...parts, ...pending];
    }
  }
  const st = await cachedLstat(current);
  return { kind: 'ok', path: current, isDirectory: st.isDirectory() };
}
