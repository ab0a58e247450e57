#!/usr/bin/env bash
# System tools the tests run for real. Idempotent; needs root (CI runs as root).
set -euo pipefail
pkgs=(drbd-utils tgt libiscsi-bin iputils-arping iproute2 iptables multipath-tools sg3-utils fdisk util-linux e2fsprogs rpm cpio rpmlint busybox-static kmod openipmi ipmitool lvm2)
pkgs+=(chromium zsh)
# node-gyp compiles better-sqlite3 for each pinned Node ABI (packaging/node-runtimes.mjs); objdump
# reads the symbol versions of the agent binary and the addons; openssl and strace are oracles of
# the PKI and atomic-write tests; python3 runs xapi's own XenAPI.py against the simulator.
pkgs+=(g++ make python3 binutils openssl strace)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${pkgs[*]}"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages (${missing[*]}); run this script as root: sudo bash scripts/install-system-deps.sh" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages may start daemons; tests start their own in namespaces.
systemctl stop tgt multipathd openipmi 2>/dev/null || true
echo "installed: ${missing[*]}"
