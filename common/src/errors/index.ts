export { XsctlError, type XsctlErrorOptions } from './xsctl-error.js';
export { ValidationError } from './validation-error.js';
export { PermissionDeniedError } from './permission-denied-error.js';
export { UnauthenticatedError } from './unauthenticated-error.js';
export { NotFoundError } from './not-found-error.js';
export { ConfigError } from './config-error.js';
export { RemoteError } from './remote-error.js';
export { statusForCode, retryableStatuses } from './status-table.js';
