export * from './identity.js';
export * from './certificate-authority.js';
export * from './validity.js';
export * from './pki-layout.js';
export * from './cert-registry.js';
export * from './revocation.js';
// The TLS files and the revocation list a server enforces, apart so an agent loads no CA code.
export * from '../tls-trust/index.js';
export { PkiError } from './pki-error.js';
export { withCaLock, CaLockedError, caLockName, type CaLockOptions } from './ca-lock.js';
export { writeFileAtomic } from './write-secret-file.js';
