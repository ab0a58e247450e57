import type { IncomingMessage, ServerResponse } from 'node:http';
import { dispatch, type DispatchEnv } from './dispatch.js';
import { XapiFailure } from './xapi-failure.js';

const maxBodyBytes = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
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

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.writableEnded || res.destroyed) return;
  // xen-api compares the content type to exactly 'application/json' to tell JSON-RPC hosts
  // from XML-RPC-only ones, so no charset suffix.
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache, no-store' });
  res.end(body);
}

/** XAPI answers a request it cannot even parse with an HTTP 500 HTML page, not a JSON-RPC error. */
function sendHttp500(res: ServerResponse, reason: string): void {
  send(res, 500, 'text/html', `<html><body><h1>HTTP 500 internal server error</h1>${reason.replace(/[<>&]/g, '')}</body></html>`);
}

interface JsonRpcRequest {
  jsonrpc?: unknown;
  method?: unknown;
  params?: unknown;
  id?: unknown;
}

/**
 * XAPI's `/jsonrpc` endpoint. Version 2.0 requests get errors as {code: 1, message: <XAPI code>,
 * data: [params]}; version 1.0 requests (no `jsonrpc` field) get the bare [code, ...params] list.
 */
export async function handleJsonRpc(req: IncomingMessage, res: ServerResponse, env: DispatchEnv): Promise<void> {
  let request: JsonRpcRequest;
  try {
    request = JSON.parse(await readBody(req)) as JsonRpcRequest;
  } catch (error) {
    sendHttp500(res, error instanceof Error ? error.message : 'bad request');
    return;
  }
  if (typeof request !== 'object' || request === null || typeof request.method !== 'string') {
    sendHttp500(res, 'Jsonrpc.Malformed_method_request');
    return;
  }
  const v2 = request.jsonrpc === '2.0';
  const id = typeof request.id === 'number' || typeof request.id === 'string' ? request.id : 0;
  const params = Array.isArray(request.params) ? request.params : request.params === undefined ? [] : [request.params];

  const controller = new AbortController();
  const abort = (): void => controller.abort(new Error('request ended'));
  res.on('close', abort);
  env.closing.addEventListener('abort', abort, { once: true });
  try {
    const result = (await dispatch(env, request.method, params, controller.signal)) ?? '';
    send(res, 200, 'application/json', JSON.stringify(v2 ? { jsonrpc: '2.0', result, id } : { result, error: null, id }));
  } catch (error) {
    const failure =
      error instanceof XapiFailure
        ? error
        : new XapiFailure('INTERNAL_ERROR', [error instanceof Error ? error.message : String(error)]);
    const body = v2
      ? { jsonrpc: '2.0', error: { code: 1, message: failure.code, data: [...failure.params] }, id }
      : { result: null, error: [failure.code, ...failure.params], id };
    send(res, 200, 'application/json', JSON.stringify(body));
  } finally {
    res.off('close', abort);
    env.closing.removeEventListener('abort', abort);
  }
}
