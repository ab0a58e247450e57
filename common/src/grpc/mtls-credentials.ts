import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { TlsMaterial } from '../pki/tls-files.js';

/** Server side of every hop: a client certificate from our CA is required. */
export function mtlsServerCredentials(m: TlsMaterial): ServerCredentials {
  return ServerCredentials.createSsl(m.ca, [{ cert_chain: m.cert, private_key: m.key }], true);
}

export function mtlsChannelCredentials(m: TlsMaterial): ChannelCredentials {
  return ChannelCredentials.createSsl(m.ca, m.key, m.cert);
}
