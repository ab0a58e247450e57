#!/bin/sh
# xsctl-controller: its own system user, the config readable by it, the state dir owned by it.
set -e
if ! getent group xsctl >/dev/null; then groupadd --system xsctl; fi
if ! getent passwd xsctl >/dev/null; then
  useradd --system --gid xsctl --home-dir /var/lib/xsctl --no-create-home --shell /usr/sbin/nologin --comment "xsctl controller" xsctl
fi
chown root:xsctl /etc/xsctl /etc/xsctl/controller.yaml
chmod 0750 /etc/xsctl
chmod 0640 /etc/xsctl/controller.yaml
mkdir -p /var/lib/xsctl
chown xsctl:xsctl /var/lib/xsctl
chmod 0750 /var/lib/xsctl
systemctl daemon-reload >/dev/null 2>&1 || true
