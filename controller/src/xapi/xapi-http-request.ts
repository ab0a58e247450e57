import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { assertXapiTransport, type XapiTransportPolicy } from './xapi-transport-policy.js';

/**
 * An HTTP(S) request to XAPI outside the xen-api client (the emergency slave-local login, the
 * pool database dump), under the same transport policy as that client: http:// only with
 * allowPlainHttp, and XAPI's certificate verified unless allowUnauthorized. Every such request
 * carries the password, so there is no other way to send one.
 */
export function xapiHttpRequest(url: URL, policy: XapiTransportPolicy, options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
  assertXapiTransport(url, policy);
  if (url.protocol === 'https:') return httpsRequest(url, { ...options, rejectUnauthorized: policy.allowUnauthorized !== true }, onResponse);
  return httpRequest(url, options, onResponse);
}
