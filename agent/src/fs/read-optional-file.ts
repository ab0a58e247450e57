import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * Regular files up to this size are read synchronously: the agent's inputs are small local files
 * (config files, inventory, /proc and /sys entries), where one blocking read takes microseconds and
 * the promise API's open, stat, read and close through the thread pool cost several times the
 * CPU (a precheck Run reads some 25 of them). Larger files, and anything that is not a regular
 * file (a FIFO, a device), go through the thread pool and never block the event loop.
 * Only for paths on the dom0's local disks and in /proc and /sys: a regular file on a network mount
 * whose server is gone blocks open and read without end (O_NONBLOCK does nothing for regular
 * files), which here would stop the event loop. Such a path goes through readOptionalFileThroughPool.
 */
export const syncReadMaxBytes = 1 << 20;

const absent = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** A file's text, or null when it (or a directory on its path) does not exist. Other errors throw. */
export async function readOptionalFile(path: string, signal?: AbortSignal): Promise<string | null> {
  try {
    if (signal?.aborted !== true) {
      const text = readSmallRegularFileSync(path);
      if (text !== undefined) return text;
    }
  } catch (err) {
    if (absent(err)) return null;
    throw err;
  }
  return readOptionalFileThroughPool(path, signal);
}

/** readOptionalFile, always through the thread pool: the caller's turn of the event loop ends before it answers. */
export async function readOptionalFileThroughPool(path: string, signal?: AbortSignal): Promise<string | null> {
  try {
    // 'utf8' alone without a signal: no options objects made for the common read.
    return await readFile(path, signal === undefined ? 'utf8' : { encoding: 'utf8', signal });
  } catch (err) {
    if (absent(err)) return null;
    throw err;
  }
}

/**
 * The text of a small regular file, read at once; undefined when the file is something else or
 * larger (the caller reads it through the thread pool). O_NONBLOCK: opening a FIFO does not wait
 * for a writer (the stat that follows sends it to the thread pool); regular files ignore the flag.
 */
function readSmallRegularFileSync(path: string): string | undefined {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > syncReadMaxBytes) return undefined;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
