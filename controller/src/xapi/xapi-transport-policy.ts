import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/**
 * How far the controller may trust the road to XAPI. Every request to XAPI carries the pool's
 * root password (login_with_password, HTTP Basic, slave_local_login), so each of these must be
 * set in the pool's config on purpose, and the controller logs a warning for each one set.
 */
export interface XapiTransportPolicy {
  /** Accept a certificate nobody verified (XenServer's self-signed default): anyone on the path can read the password. */
  allowUnauthorized?: boolean;
  /** Send the password over plain http:// (labs and simulators). */
  allowPlainHttp?: boolean;
  /**
   * Follow HOST_IS_SLAVE to the master the answering host names, at login and when the master
   * moves. Without it the password only ever goes to the configured address.
   */
  followMasterRedirect?: boolean;
}

/** A request to XAPI that would expose the password, refused by the pool's transport policy. */
export class XapiInsecureTransportError extends XsctlError {
  readonly code = 'XAPI_INSECURE_TRANSPORT';

  constructor(
    readonly url: string,
    /** The config key that would allow it. */
    readonly setting: 'allowPlainHttp' | 'followMasterRedirect',
    reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`refusing to send the XAPI password to ${url}: ${reason} (set xapi.${setting}: true in the pool's config to allow it)`, options);
  }
}

/** Throws unless `url` may carry the password under `policy` (plain http:// needs allowPlainHttp). */
export function assertXapiTransport(url: URL, policy: XapiTransportPolicy): void {
  if (url.protocol === 'http:' && policy.allowPlainHttp !== true) {
    throw new XapiInsecureTransportError(url.origin, 'allowPlainHttp', 'http:// sends it in clear; use https://');
  }
}

/** The refusal for a HOST_IS_SLAVE answer when redirects are not allowed. */
export function redirectRefused(from: string, master: string, options?: XsctlErrorOptions): XapiInsecureTransportError {
  return new XapiInsecureTransportError(from, 'followMasterRedirect', `it is not the pool master and names ${master === '' ? 'no master' : master} instead; put the master's address in xapi.url`, options);
}

/** What the config allows that it should not by default, one line per setting (logged as warnings at start). */
export function transportWarnings(pool: string, url: string, policy: XapiTransportPolicy): string[] {
  const out: string[] = [];
  if (policy.allowUnauthorized === true && url.startsWith('https:')) out.push(`pool ${pool}: xapi.allowUnauthorized is set: XAPI's certificate is not verified, anyone on the path can read the password`);
  if (policy.allowPlainHttp === true && url.startsWith('http:')) out.push(`pool ${pool}: xapi.allowPlainHttp is set: the XAPI password travels in clear to ${new URL(url).origin}`);
  if (policy.followMasterRedirect === true) out.push(`pool ${pool}: xapi.followMasterRedirect is set: the XAPI password follows HOST_IS_SLAVE to whichever address a host names`);
  return out;
}
