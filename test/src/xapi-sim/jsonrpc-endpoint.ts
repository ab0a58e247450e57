import type { IncomingMessage, ServerResponse } from 'node:http';
import { dispatchCall, type DispatchEnv } from './dispatch.js';
import { currentProtocol } from './pool-release.js';
import { XapiFailure } from './xapi-failure.js';

const maxBodyBytes = 16 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.writableEnded || res.destroyed) return;
  // xen-api compares the content type to exactly 'application/json' (or 'text/xml') to tell
  // JSON-RPC hosts from XML-RPC-only ones, so no charset suffix, as xapi sends none.
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'X-Requested-With',
  });
  res.end(body);
}

/**
 * Http_svr.response_internal_error (ocaml/libs/http-lib/http_svr.ml): what xapi answers when a
 * handler raises anything but an API error, e.g. a request ocaml-rpc cannot parse.
 */
export function sendHttp500(res: ServerResponse, extra: string): void {
  const escaped = extra.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  send(
    res,
    500,
    'text/html',
    '<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try again. ' +
      `If the problem persists, please contact your support representative.<h1> Additional information </h1>${escaped}</body></html>`,
  );
}

type Version = 'v1' | 'v2';
interface ParsedRequest {
  version: Version;
  id: number | string;
  method: string;
  params: unknown[];
}

class MalformedRequest extends Error {}

/**
 * mirage/ocaml-rpc jsonrpc.ml version_id_and_call_of_string: `method` must be a string;
 * `jsonrpc` absent (v1) or "2.0" (v2); v1 needs a `params` list, v2 takes a list, an object
 * (one struct parameter), null or nothing; the `id` must be an int or a string (a missing or
 * null id is a notification, which xapi's jsoncallback rejects). Anything else raises
 * Malformed_method_request, which reaches Http_svr as an HTTP 500.
 */
function parseRequest(body: string): ParsedRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new MalformedRequest(error instanceof Error ? error.message : 'Blank input data');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MalformedRequest('Invalid request body');
  const d = json as Record<string, unknown>;
  if (!('method' in d)) throw new MalformedRequest('Required field method is missing');
  if (typeof d['method'] !== 'string') throw new MalformedRequest("Invalid field 'method' in request body");
  let version: Version;
  if (!('jsonrpc' in d)) version = 'v1';
  else if (d['jsonrpc'] === '2.0') version = 'v2';
  else throw new MalformedRequest("Invalid field 'jsonrpc' in request body");
  let params: unknown[];
  const p = d['params'];
  if (version === 'v1') {
    if (!('params' in d)) throw new MalformedRequest('Required field params is missing');
    if (!Array.isArray(p)) throw new MalformedRequest("Invalid field 'params' in request body");
    params = p;
  } else if (p === undefined || p === null) params = [];
  else if (Array.isArray(p)) params = p;
  else if (typeof p === 'object') params = [p];
  else throw new MalformedRequest("Invalid field 'params' in request body");
  const id = d['id'];
  if (id === undefined || id === null) throw new MalformedRequest("Invalid field 'id' in request body");
  if (!(typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)))) throw new MalformedRequest("Invalid field 'id' in request body");
  return { version, id, method: d['method'], params };
}

/**
 * The pre-2017 /jsonrpc (XenServer 6.2 to 7.2): ocaml-rpc of that time required an integer id
 * and params for both versions, and jsoncallback answered every request in the v1 shape with id 0.
 */
function parseOldRequest(body: string): ParsedRequest {
  const request = parseRequest(body);
  if (typeof request.id !== 'number') throw new MalformedRequest(body);
  const d = JSON.parse(body) as Record<string, unknown>;
  if (!Array.isArray(d['params']) && !(typeof d['params'] === 'object' && d['params'] !== null)) throw new MalformedRequest(body);
  return { ...request, version: 'v1', id: 0 };
}

/**
 * xapi's /jsonrpc (api_server.ml jsoncallback), as the simulated release offers it. A v2 error is
 * {code, message: <XAPI code>, data: [params]} (api_server.ml callback1, not for
 * system.listMethods); a v1 error is the bare [code, ...params] list with result null.
 */
export async function handleJsonRpc(req: IncomingMessage, res: ServerResponse, env: DispatchEnv): Promise<void> {
  const offer = currentProtocol(env.db);
  let request: ParsedRequest;
  try {
    const body = await readBody(req);
    request = offer === 'jsonrpc-v1' ? parseOldRequest(body) : parseRequest(body);
  } catch (error) {
    sendHttp500(res, `Jsonrpc.Malformed_method_request("${error instanceof Error ? error.message : 'bad request'}")`);
    return;
  }
  const controller = new AbortController();
  const abort = (): void => controller.abort(new Error('request ended'));
  res.on('close', abort);
  env.closing.addEventListener('abort', abort, { once: true });
  const { version, id } = request;
  try {
    const { value } = await dispatchCall(env, request.method, request.params, controller.signal);
    const result = value === undefined ? '' : value;
    send(res, 200, 'application/json', JSON.stringify(version === 'v2' ? { jsonrpc: '2.0', result, id } : { result, error: null, id }));
  } catch (error) {
    if (isConnectionRefused(error)) {
      res.destroy();
      return;
    }
    const failure =
      error instanceof XapiFailure ? error : new XapiFailure('INTERNAL_ERROR', [error instanceof Error ? error.message : String(error)]);
    const list = [failure.code, ...failure.params];
    let body: unknown;
    if (version === 'v2' && request.method !== 'system.listMethods') {
      body = { jsonrpc: '2.0', error: { code: offer === 'jsonrpc-v2-code0' ? 0 : 1, message: failure.code, data: [...failure.params] }, id };
    } else if (version === 'v2') {
      body = { jsonrpc: '2.0', error: list, id };
    } else {
      body = { result: null, error: list, id };
    }
    send(res, 200, 'application/json', JSON.stringify(body));
  } finally {
    res.off('close', abort);
    env.closing.removeEventListener('abort', abort);
  }
}

export function isConnectionRefused(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ECONNREFUSED';
}
