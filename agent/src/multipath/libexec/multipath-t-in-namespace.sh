#!/bin/sh
# Runs `multipath -t` against a sandbox root's multipath.conf and conf.d, inside the private mount
# namespace that `unshare --mount --propagation private` made for this process: the host's /etc is
# never changed. Invoked by the agent's CommandRunner as
#   unshare --mount --propagation private -- THIS CONF CONF_DIR SCRATCH_DIR
# Fixed text: the three arguments are only ever used as quoted paths (no eval, no expansion).
set -eu
[ "$#" -eq 3 ] || { echo "usage: $0 CONF CONF_DIR SCRATCH_DIR" >&2; exit 64; }
conf=$1
confd=$2
scratch=$3
[ -f "$conf" ] || { echo "not a file: $conf" >&2; exit 66; }
[ -d "$confd" ] || { echo "not a directory: $confd" >&2; exit 66; }
[ -d "$scratch" ] || { echo "not a directory: $scratch" >&2; exit 66; }
# Refuse to mount anything in the host's namespace.
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
  echo "refusing to run outside a private mount namespace" >&2
  exit 70
fi
if [ ! -f /etc/multipath.conf ] || [ ! -d /etc/multipath/conf.d ]; then
  # No mount points on this machine: lay a throw-away overlay over /etc to create them.
  mount -t tmpfs xsctl-mpt "$scratch"
  mkdir "$scratch/upper" "$scratch/work"
  mount -t overlay xsctl-mpt -o "lowerdir=/etc,upperdir=$scratch/upper,workdir=$scratch/work" /etc
  [ -f /etc/multipath.conf ] || : > /etc/multipath.conf
  mkdir -p /etc/multipath/conf.d
fi
mount --bind "$conf" /etc/multipath.conf
mount --bind "$confd" /etc/multipath/conf.d
exec multipath -t
