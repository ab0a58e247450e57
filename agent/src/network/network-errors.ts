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
