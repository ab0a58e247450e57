// What a server needs to enforce its peers: its TLS files and the revocation list, without the CA
// code of pki/ (which loads @peculiar/x509 at import; a revocation list loads it on first parse).
export * from './tls-files.js';
export * from './revocation-list.js';
