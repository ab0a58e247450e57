import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** First argument that makes a packaged agent run the namespace helper instead of the CLI. */
export const namespaceHelperMarker = '__multipath-t-in-namespace';

/** The helper as a file beside the built sources (dev tree, tests). */
export const namespaceHelper = fileURLToPath(new URL('../../../dist/multipath/namespace/multipath-t-in-namespace.js', import.meta.url));

/**
 * The argv that runs the helper: the runtime and the helper file in a dev tree; in a packaged
 * agent (no helper file on disk) the agent itself, with the marker: the script of a bundle run
 * by a runtime, or nothing when the executable carries its own code (its argv[1] is virtual).
 */
export function namespaceHelperArgv(): string[] {
  if (existsSync(namespaceHelper)) return [process.execPath, namespaceHelper];
  const script = process.argv[1];
  // Bun's executables report their embedded code as /$bunfs/…, which existsSync also sees.
  const onDisk = script !== undefined && script.startsWith('/') && !script.startsWith('/$bunfs/') && existsSync(script);
  return [process.execPath, ...(onDisk ? [script] : []), namespaceHelperMarker];
}
