import type { ChannelOptions } from '@grpc/grpc-js';
import { createChannel, type Channel } from 'nice-grpc';
import type { TlsMaterial } from '../tls-trust/tls-files.js';
import { mtlsChannelCredentials, type ServerCheck } from './mtls-credentials.js';
import { tlsTarget } from './tls-target.js';

export interface ChannelCheck extends Omit<ServerCheck, 'verifyName'> {
  /** The name the server's certificate must carry; without it, the address's host (tlsTarget). */
  serverName?: string;
}

/**
 * An mTLS channel to `address` whose server must hold a `check.kind` certificate naming
 * `serverName` (else the address's host): tlsTarget's channel options and its verifyName in one
 * place, so that no caller sends an IP address as SNI (DEP0123) or checks the certificate against
 * tlsTarget's placeholder name. `options` are more channel options (keepalive, message sizes).
 */
export function mtlsChannel(address: string, tls: TlsMaterial, check: ChannelCheck, options: ChannelOptions = {}): Channel {
  const { serverName, ...serverCheck } = check;
  const target = tlsTarget(address, serverName);
  const credentials = mtlsChannelCredentials(tls, target.verifyName === undefined ? serverCheck : { ...serverCheck, verifyName: target.verifyName });
  return createChannel(address, credentials, { ...target.channelOptions, ...options });
}
