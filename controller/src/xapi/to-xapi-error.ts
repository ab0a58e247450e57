import { XsctlError } from '@xsctl/common/errors/index';
import { XapiError } from './xapi-error.js';
import { XapiUnreachableError } from './xapi-unreachable-error.js';

/** Socket, DNS and TLS failure codes from node and undici: nothing answered as XAPI. */
const unreachableCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function unreachableCode(error: unknown): string | undefined {
  for (const candidate of [error, field(error, 'cause')]) {
    const code = field(candidate, 'code');
    if (typeof code === 'string' && unreachableCodes.has(code)) return code;
  }
  return undefined;
}

/**
 * Maps what xen-api throws to xsctl's typed errors. XAPI failures keep only code and params: the
 * xen-api error is not kept as `cause` because it carries the call's arguments, which may hold
 * secrets (plugin arguments, passwords), and the session id.
 */
export function toXapiError(method: string, error: unknown, url: string): unknown {
  if (error instanceof XsctlError) return error;
  const code = field(error, 'code');
  const params = field(error, 'params');
  if (typeof code === 'string' && Array.isArray(params)) return new XapiError(code, params.map(String), method);
  const socketCode = unreachableCode(error);
  if (socketCode !== undefined) return new XapiUnreachableError(url, socketCode, { cause: error });
  if (error instanceof Error) {
    // xen-api's transports: a non-2xx HTTP status, a reply that is neither JSON- nor XML-RPC,
    // or the connection dropped while logging in.
    if (error.name === 'UnsupportedTransport') return new XapiUnreachableError(url, 'not an XAPI endpoint', { cause: error });
    if (/^unexpect(ed)? statusCode/.test(error.message)) return new XapiUnreachableError(url, error.message, { cause: error });
    if (error.message === 'disconnected') return new XapiUnreachableError(url, 'disconnected', { cause: error });
  }
  return error;
}
