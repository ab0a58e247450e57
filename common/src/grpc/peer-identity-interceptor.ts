import { Metadata, ServerInterceptingCall, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';
import { identityFromCertificate, type PeerIdentity } from '../pki/identity.js';

export const peerNameKey = 'x-xsctl-peer-name';
export const peerKindKey = 'x-xsctl-peer-kind';
export const peerRoleKey = 'x-xsctl-peer-role';
export const peerSerialKey = 'x-xsctl-peer-serial';

type PeerFacts = (PeerIdentity & { serial?: string }) | null;

/**
 * The peer's identity per HTTP/2 session (one TLS connection). A connection's certificate cannot
 * change: HTTP/2 forbids TLS renegotiation (RFC 9113 9.2.1). Reading it (getPeerCertificate builds
 * the whole certificate object, fingerprints included) was ~10% of an agent's CPU per GetFacts
 * under Bun (bench/agent.mjs). Revocation is still checked on every call, from the serial.
 */
const perSession = new WeakMap<object, PeerFacts>();

/**
 * grpc-js hands the first interceptor its BaseServerInterceptingCall, which keeps the HTTP/2
 * stream in a field its types call private. Without it (another layout), nothing is cached.
 */
function sessionOf(call: ServerInterceptingCallInterface): object | undefined {
  const session = (call as unknown as { stream?: { session?: unknown } }).stream?.session;
  return typeof session === 'object' && session !== null ? session : undefined;
}

function readPeer(call: ServerInterceptingCallInterface): PeerFacts {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  const identity = identityFromCertificate(typeof cert?.subject?.CN === 'string' ? cert.subject.CN : undefined, cert?.subjectaltname);
  if (identity === null) return null;
  return typeof cert?.serialNumber === 'string' ? { ...identity, serial: cert.serialNumber } : identity;
}

function peerOf(call: ServerInterceptingCallInterface): PeerFacts {
  const session = sessionOf(call);
  if (session === undefined) return readPeer(call);
  if (perSession.has(session)) return perSession.get(session) ?? null;
  const peer = readPeer(call);
  perSession.set(session, peer);
  return peer;
}

/** The keys only this interceptor may set: a client's own copies are dropped first. */
const identityKeys = [peerNameKey, peerKindKey, peerRoleKey, peerSerialKey] as const;

/** Replaces whatever the client sent under the identity keys with what TLS verified. */
function stampIdentity(metadata: Metadata, peer: PeerFacts): void {
  for (const key of identityKeys) metadata.remove(key);
  if (peer === null) return;
  metadata.set(peerNameKey, peer.name);
  metadata.set(peerKindKey, peer.kind);
  if (peer.role !== null) metadata.set(peerRoleKey, peer.role);
  // For the revocation check in the auth middleware.
  if (peer.serial !== undefined) metadata.set(peerSerialKey, peer.serial);
}

/**
 * The request metadata grpc-js's BaseServerInterceptingCall (what the first interceptor is
 * handed) parsed from the headers in its constructor and hands the listener only in start(): a
 * field its types call private. Without it (another layout, or another interceptor first), the
 * interceptor wraps the call instead.
 */
function incomingMetadataOf(call: ServerInterceptingCallInterface): Metadata | undefined {
  const metadata = (call as unknown as { metadata?: unknown }).metadata;
  return metadata instanceof Metadata ? metadata : undefined;
}

/**
 * nice-grpc hides the TLS session, so this grpc-js interceptor copies the verified certificate's
 * identity into metadata. Client-sent copies of these keys are dropped first: only TLS speaks here.
 * The identity is written into the metadata the base call has already parsed, before any listener
 * can see it, and the base call itself is returned: wrapping it in a ServerInterceptingCall built
 * a wrapper, a responder, a listener and its closures per call, garbage the collector of a
 * JIT-less runtime pays for in the calls that meet a collection (bench/agent.mjs).
 */
export const peerIdentityInterceptor: ServerInterceptor = (_method, call) => {
  const incoming = incomingMetadataOf(call);
  if (incoming !== undefined) {
    stampIdentity(incoming, peerOf(call));
    // grpc-js's type asks for its ServerInterceptingCall class; it calls only the interface's methods.
    return call as ServerInterceptingCall;
  }
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata: Metadata, mdNext) => {
          stampIdentity(metadata, peerOf(call));
          mdNext(metadata);
        },
      }),
  });
};
