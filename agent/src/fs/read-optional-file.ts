import { readFile } from 'node:fs/promises';

/** A file's text, or null when it (or a directory on its path) does not exist. Other errors throw. */
export async function readOptionalFile(path: string, signal?: AbortSignal): Promise<string | null> {
  try {
    return await readFile(path, { encoding: 'utf8', ...(signal === undefined ? {} : { signal }) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}
