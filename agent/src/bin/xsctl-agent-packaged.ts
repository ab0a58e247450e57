/**
 * Entry point of the packaged agent (one bundle, or one executable with its own runtime). It
 * also carries the multipath -t namespace helper, which `unshare` execs as a separate program:
 * a packaged agent has no helper file on disk, so it re-executes itself with this marker.
 * Each branch loads only what it needs.
 */
import { namespaceHelperMarker } from '../multipath/namespace/helper-command.js';

if (process.argv[2] === namespaceHelperMarker) {
  process.argv.splice(2, 1);
  await import('../multipath/namespace/multipath-t-in-namespace.js');
} else {
  await import('./xsctl-agent.js');
}
