import { lstat, opendir, readlink, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { SandboxRoot } from '../../fs/sandbox-root.js';
import { isInside, resolveInTree, type LinkResolution, type LstatCache } from './resolve-in-tree.js';

/**
 * XAPI's message store and blobs (xapi_message.ml, xapi_blob.ml): /var/lib/xcp/blobs/messages holds
 * one file per message, named by its timestamp ("%0.5f"), with index links
 * messages/{VM,Host,SR,Pool,…}/<uuid>/<timestamp>, messages/uuid/<uuid> and messages/ref/<ref>
 * pointing at it; the field report also names a "refs" directory. Tens of thousands of these
 * make the XenServer 7 installer sit at 72% while it copies them.
 */
export const blobsDir = '/var/lib/xcp/blobs';
/** Only these subtrees are ever cleaned; rrds and VM blobs are left alone. */
export const cleanableSubdirs = ['messages', 'refs'] as const;

export interface BlobFile {
  /** Path relative to the blobs directory. */
  rel: string;
  full: string;
  size: number;
  /** Age source: the message timestamp in the name when there is one, else mtime. */
  timeMs: number;
}

export interface BlobLink {
  rel: string;
  full: string;
  text: string;
  timeMs: number;
  resolution: LinkResolution;
}

export interface BlobTree {
  /** Real path of the blobs directory, or undefined when it does not exist. */
  dir: string | undefined;
  rootReal: string;
  files: BlobFile[];
  links: BlobLink[];
  directories: number;
}

/** A message file name is its creation time: "1306414984.12345". */
function timestampFromName(name: string): number | undefined {
  const m = /^(\d{9,11})(?:\.\d+)?$/.exec(name);
  if (m === null) return undefined;
  const ms = Number(name) * 1000;
  return Number.isFinite(ms) ? ms : undefined;
}

export function topLevel(rel: string): string {
  const i = rel.indexOf(sep);
  return i < 0 ? '' : rel.slice(0, i);
}

/** Walks the tree without following any link; resolves each link confined to the tree. */
export async function walkBlobs(root: SandboxRoot, signal?: AbortSignal): Promise<BlobTree> {
  const rootReal = await realpath(root.root);
  let dir: string;
  try {
    dir = await realpath(root.resolve(blobsDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { dir: undefined, rootReal, files: [], links: [], directories: 0 };
    throw err;
  }
  // A blobs directory that is itself a link out of the root is not ours to walk.
  if (!isInside(rootReal, dir)) throw new Error(`${blobsDir} resolves to ${dir}, outside the agent's root`);
  const files: BlobFile[] = [];
  const links: BlobLink[] = [];
  const cache: LstatCache = new Map();
  let directories = 0;
  const stack = [dir];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const current = stack.pop() as string;
    const pending: Array<Promise<void>> = [];
    for await (const entry of await opendir(current)) {
      const full = join(current, entry.name);
      const rel = relative(dir, full);
      if (entry.isDirectory()) {
        directories++;
        stack.push(full);
      } else if (entry.isSymbolicLink()) {
        pending.push(
          (async () => {
            const [st, text, resolution] = await Promise.all([lstat(full), readlink(full), resolveInTree(dir, rootReal, full, cache)]);
            links.push({ rel, full, text, timeMs: st.mtimeMs, resolution });
          })(),
        );
      } else if (entry.isFile()) {
        pending.push(
          lstat(full).then((st) => {
            files.push({ rel, full, size: st.size, timeMs: timestampFromName(entry.name) ?? st.mtimeMs });
          }),
        );
      }
      // Bounded concurrency: the libuv pool does the rest.
      if (pending.length >= 256) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  }
  files.sort((a, b) => a.rel.localeCompare(b.rel));
  links.sort((a, b) => a.rel.localeCompare(b.rel));
  return { dir, rootReal, files, links, directories };
}
