import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

/*
 * Test temp dirs hold journals, config files and CA private keys; left in /tmp they pile up by the
 * thousand on a developer's machine or a long-lived runner. Everything a test makes there is
 * removed when the test ends (pass or fail); what a beforeAll or a describe body makes, when the
 * test file ends.
 */

const untilFileEnds = new Set<string>();
const remove = (path: string): Promise<void> => rm(path, { recursive: true, force: true });

// Registered once per test file, while vitest collects it (this module is evaluated afresh for
// each file). A hook registered later, from inside a running beforeAll, would never run.
try {
  afterAll(async () => {
    await Promise.all([...untilFileEnds].map(remove));
    untilFileEnds.clear();
  });
} catch {
  // Imported outside a vitest run (a bench script): its caller owns the directories it makes.
}

/** Removes `path` recursively when the current test ends, or when the test file ends if called outside a test. */
export function removeWhenDone(path: string): void {
  try {
    onTestFinished(() => remove(path));
  } catch {
    // Not inside a test (a beforeAll, a describe body, or no vitest at all).
    untilFileEnds.add(path);
  }
}

/** Removes `path` recursively when the test file ends: for a directory a helper memoizes across the file's tests. */
export function removeWhenFileEnds(path: string): void {
  untilFileEnds.add(path);
}

/** A fresh directory `<tmpdir>/<prefix>XXXXXX`, removed when the test (or, made outside a test, the file) ends. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  removeWhenDone(dir);
  return dir;
}
