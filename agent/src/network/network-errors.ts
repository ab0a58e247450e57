import { XsctlError } from '@xsctl/common/errors/index';

/** Rule 4: the floating IP still answers ARP from another host; adding it would duplicate it. */
export class FloatingIpInUseError extends XsctlError {
  readonly code = 'FLOATING_IP_IN_USE';

  constructor(
    readonly address: string,
    readonly iface: string,
    readonly answeredBy: string,
  ) {
    super(`${address} still answers on ${iface}${answeredBy ? ` (from ${answeredBy})` : ''}: refusing to add a duplicate; remove it from the other node first`);
  }
}

export class InterfaceNotFoundError extends XsctlError {
  readonly code = 'INTERFACE_NOT_FOUND';

  constructor(readonly iface: string) {
    super(`network interface ${iface} does not exist on this host`);
  }
}

/** The firewall chain the storage rules go into does not exist (XenServer's is RH-Firewall-1-INPUT). */
export class FirewallChainNotFoundError extends XsctlError {
  readonly code = 'FIREWALL_CHAIN_NOT_FOUND';

  constructor(
    readonly chain: string,
    /** What iptables said (nf_tables builds word a missing chain oddly: "is incompatible"). */
    readonly stderr: string,
  ) {
    super(`iptables chain ${chain} does not exist in the filter table: name the chain the host's INPUT rules live in`);
  }
}

/** /etc/sysconfig/iptables is missing, has no filter table, or iptables-restore --test rejects the edit. */
export class FirewallFileInvalidError extends XsctlError {
  readonly code = 'FIREWALL_FILE_INVALID';

  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}; the runtime rules are in place but would not survive a reboot or \`service iptables restart\``, options);
  }
}

/**
 * iptables exited 4 (RESOURCE_PROBLEM): another program held the xtables lock (a call without
 * `-w`, or iptables-restore, which takes no `-w` on 1.4.21), or replaced the table between our
 * read and our commit (the kernel's EAGAIN). The call changed nothing; it can be retried once
 * that program is done.
 */
export class IptablesBusyError extends XsctlError {
  readonly code = 'IPTABLES_BUSY';

  constructor(
    readonly command: 'iptables' | 'iptables-restore',
    readonly args: readonly string[],
    /** iptables' first stderr line ("Another app is currently holding the xtables lock. ..."). */
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`${command} could not change the firewall: another program holds the xtables lock or changed the table at the same moment (exit 4${stderr ? `: ${stderr}` : ''}); nothing was changed, retry when it is done (firewalld, \`service iptables restart\`, another agent's or admin's iptables)`, options);
  }
}
