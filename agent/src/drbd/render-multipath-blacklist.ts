/**
 * Rule 8: multipath must never claim a DRBD device (or it would hold /dev/drbdN open and block
 * demotion). A self-contained `blacklist {}` stanza for multipath.conf or a conf.d drop-in; the
 * multipath.conf parser and merger live in agent/src/multipath.
 */
export function renderDrbdMultipathBlacklist(): string {
  return ['# DRBD devices are replicated block devices, never multipath members (xsctl).', 'blacklist {', '        devnode "^drbd[0-9]+"', '}', ''].join('\n');
}
