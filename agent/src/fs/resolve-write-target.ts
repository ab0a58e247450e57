import { lstat, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PathEscapeError, SymlinkLoopError } from './fs-errors.js';

const maxHops = 40;

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';

/** Whether `path` is `dir` or below it (both real, absolute). */
export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The real path of the nearest existing ancestor of `dir`, with the components below it that do not exist yet. */
async function realAncestor(dir: string): Promise<string> {
  const missing: string[] = [];
  let cur = dir;
  for (;;) {
    try {
      return join(await realpath(cur), ...missing.reverse());
    } catch (err) {
      if (!isMissing(err) || dirname(cur) === cur) throw err;
      missing.push(basename(cur));
      cur = dirname(cur);
    }
  }
}

/**
 * Where a write to `target` must land so a symlinked config keeps its link: the final component's
 * link chain is followed (a dangling link names the file to create) and the directory is taken by
 * its real path. With `confineTo`, a result outside that directory (a link out of a sandbox root,
 * a planted trap) is refused before anything is created.
 */
export async function resolveWriteTarget(target: string, confineTo?: string): Promise<string> {
  let path = resolve(target);
  for (let hops = 0; ; hops++) {
    if (hops > maxHops) throw new SymlinkLoopError(target);
    const st = await lstat(path).catch((err: unknown) => {
      if (isMissing(err)) return null;
      throw err;
    });
    if (st === null || !st.isSymbolicLink()) break;
    path = resolve(dirname(path), await readlink(path));
  }
  const real = join(await realAncestor(dirname(path)), basename(path));
  if (confineTo !== undefined) {
    const root = await realpath(confineTo);
    if (!isWithin(root, real)) throw new PathEscapeError(target, real, confineTo);
  }
  return real;
}
