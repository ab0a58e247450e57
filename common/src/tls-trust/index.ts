// What a server needs to enforce its peers: its TLS files and the revocation list, without the CA
// code of pki/ (which loads @peculiar/x509 at import). A list is read without that library too.
export * from './tls-files.js';
export * from './revocation-list.js';
