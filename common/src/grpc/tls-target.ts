import { isIP } from 'node:net';
import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * What grpc-js sends as SNI when the name to verify is an IP address. grpc-js always sets Node's
 * `servername` (to `grpc.ssl_target_name_override`, else to the target's host), and an IP address
 * there is refused by RFC 6066 (section 3: "Literal IPv4 and IPv6 addresses are not permitted in
 * HostName") and deprecated by Node (DEP0123, to be ignored in a later version). No xsctl server
 * picks a certificate by SNI, so it carries a name under `.invalid` (RFC 6761 section 6.4: never
 * a real host); the certificate is still checked against the IP address (`verifyName`).
 */
export const ipTargetSni = 'ip-address.invalid';

export interface TlsTarget {
  /** Channel options for grpc-js's TLS (name override and authority), possibly none. */
  channelOptions: ChannelOptions;
  /**
   * The name (DNS name or IP address) the server's certificate must carry, when it is not the one
   * grpc-js hands to checkServerIdentity (the override): pass it as ServerCheck.verifyName.
   */
  verifyName?: string;
}

/** The host of `host:port` or `[v6]:port`; undefined for any other form (a `dns:` URI, a socket). */
export function targetHost(address: string): string | undefined {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (bracketed !== null) return bracketed[1];
  const plain = /^([^:[\]/]+):\d+$/.exec(address);
  return plain?.[1];
}

/**
 * How to reach `address` over TLS so that the certificate is checked against `serverName` (or, without
 * one, the address's host) and no IP address goes out as SNI: a DNS name is the override and
 * authority as before; an IP address (configured, or the target's own host) is verified through
 * `verifyName`, with ipTargetSni on the wire.
 */
export function tlsTarget(address: string, serverName?: string): TlsTarget {
  const name = serverName ?? targetHost(address);
  if (name === undefined) return { channelOptions: {} };
  if (isIP(name) !== 0) return { channelOptions: { 'grpc.ssl_target_name_override': ipTargetSni }, verifyName: name };
  if (serverName === undefined) return { channelOptions: {} };
  return { channelOptions: { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } };
}

/**
 * tlsTarget's decision for a plain TLS handshake with the same server (node:tls, the controller's
 * certificate probe): what grpc-js sends as SNI (the override, else the target's host) and the name
 * the certificate must carry. Undefined for a target whose host it cannot read.
 */
export function tlsHandshakeNames(address: string, serverName?: string): { servername: string; verifyName: string } | undefined {
  const target = tlsTarget(address, serverName);
  const servername = (target.channelOptions['grpc.ssl_target_name_override'] as string | undefined) ?? targetHost(address);
  if (servername === undefined) return undefined;
  return { servername, verifyName: target.verifyName ?? servername };
}
