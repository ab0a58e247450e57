import { ServerInterceptingCall, type ServerInterceptor, type Metadata } from '@grpc/grpc-js';
import { identityFromCertificate } from '../pki/identity.js';

export const peerNameKey = 'x-xsctl-peer-name';
export const peerKindKey = 'x-xsctl-peer-kind';
export const peerRoleKey = 'x-xsctl-peer-role';
export const peerSerialKey = 'x-xsctl-peer-serial';

/**
 * nice-grpc hides the TLS session, so this grpc-js interceptor copies the verified certificate's
 * identity into metadata. Client-sent copies of these keys are dropped first: only TLS speaks here.
 */
export const peerIdentityInterceptor: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata: Metadata, mdNext) => {
          for (const key of [peerNameKey, peerKindKey, peerRoleKey, peerSerialKey]) metadata.remove(key);
          const cert = call.getAuthContext()?.sslPeerCertificate;
          const identity = identityFromCertificate(
            typeof cert?.subject?.CN === 'string' ? cert.subject.CN : undefined,
            cert?.subjectaltname,
          );
          if (identity !== null) {
            metadata.set(peerNameKey, identity.name);
            metadata.set(peerKindKey, identity.kind);
            if (identity.role !== null) metadata.set(peerRoleKey, identity.role);
            // For the revocation check in the auth middleware.
            if (typeof cert?.serialNumber === 'string') metadata.set(peerSerialKey, cert.serialNumber);
          }
          mdNext(metadata);
        },
      }),
  });
