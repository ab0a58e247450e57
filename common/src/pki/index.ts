export * from './identity.js';
export * from './certificate-authority.js';
export * from './tls-files.js';
export { PkiError } from './pki-error.js';
export { writeFileAtomic } from './write-secret-file.js';
