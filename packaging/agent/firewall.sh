#!/bin/sh
# xsctl-agent firewall: opens (or closes) the agent's port in the dom0 firewall.
#   firewall open [PORT]   add one ACCEPT rule to /etc/sysconfig/iptables (idempotent)
#   firewall close         remove it again
# The rule goes into RH-Firewall-1-INPUT just before the chain's final REJECT, where the dom0's
# own rules (22, 80, 443) sit, and carries the comment "xsctl-agent" so close finds exactly it.
# When the iptables service is running the same rule is applied live; nothing is restarted.
# Live calls wait for the xtables lock (-w: other tools on a dom0 run iptables too, and without it
# iptables 1.4.21 fails at once while one holds the lock), bounded by timeout(1): 1.4.21's bare -w
# waits without end, and a scriptlet must not hang yum.
# PORT defaults to the port of "listen:" in /etc/xsctl/agent.yaml, else 7443.
set -eu
file=${XSCTL_IPTABLES_FILE:-/etc/sysconfig/iptables}
chain=RH-Firewall-1-INPUT
tag=xsctl-agent

port_from_config() {
  p=$(sed -n 's/^listen:.*:\([0-9][0-9]*\)["'"'"']*[[:space:]]*$/\1/p' /etc/xsctl/agent.yaml 2>/dev/null | head -n 1)
  echo "${p:-7443}"
}

ipt() {
  timeout 20 iptables -w "$@"
}

rule() {
  echo "-A $chain -p tcp -m conntrack --ctstate NEW -m tcp --dport $1 -m comment --comment $tag -j ACCEPT"
}

open_port() {
  port=$1
  case $port in ''|*[!0-9]*) echo "firewall: bad port '$port'" >&2; exit 64 ;; esac
  [ -f "$file" ] || { echo "firewall: $file not found; open TCP $port by hand" >&2; exit 0; }
  line=$(rule "$port")
  if grep -qxF -- "$line" "$file"; then exit 0; fi
  tmp=$(mktemp "$file.xsctl.XXXXXX")
  # Drop an older xsctl-agent rule (another port), then insert before the chain's REJECT (or COMMIT).
  grep -v -- "--comment $tag " "$file" | awk -v line="$line" -v chain="$chain" '
    !done && ($0 ~ "^-A " chain " .*-j REJECT" || $0 == "COMMIT") { print line; done = 1 }
    { print }
    END { if (!done) exit 3 }' > "$tmp" || { rm -f "$tmp"; echo "firewall: no $chain REJECT or COMMIT line in $file; open TCP $port by hand" >&2; exit 0; }
  chmod 0600 "$tmp"
  mv -f "$tmp" "$file"
  if command -v iptables >/dev/null 2>&1 && systemctl is-active --quiet iptables 2>/dev/null; then
    ipt -C "$chain" -p tcp -m conntrack --ctstate NEW -m tcp --dport "$port" -m comment --comment "$tag" -j ACCEPT 2>/dev/null ||
      ipt -I "$chain" 1 -p tcp -m conntrack --ctstate NEW -m tcp --dport "$port" -m comment --comment "$tag" -j ACCEPT || :
  fi
}

close_port() {
  [ -f "$file" ] || exit 0
  ports=$(sed -n "s/.*--dport \([0-9][0-9]*\) -m comment --comment $tag .*/\1/p" "$file")
  if grep -q -- "--comment $tag " "$file"; then
    tmp=$(mktemp "$file.xsctl.XXXXXX")
    grep -v -- "--comment $tag " "$file" > "$tmp" || :
    chmod 0600 "$tmp"
    mv -f "$tmp" "$file"
  fi
  if command -v iptables >/dev/null 2>&1 && systemctl is-active --quiet iptables 2>/dev/null; then
    for port in $ports; do
      while ipt -D "$chain" -p tcp -m conntrack --ctstate NEW -m tcp --dport "$port" -m comment --comment "$tag" -j ACCEPT 2>/dev/null; do :; done
    done
  fi
}

case ${1:-} in
  open) open_port "${2:-$(port_from_config)}" ;;
  close) close_port ;;
  *) echo "usage: firewall open [PORT] | close" >&2; exit 64 ;;
esac
