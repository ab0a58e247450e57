import type { IncomingMessage, ServerResponse } from 'node:http';
import { dispatchCall, type DispatchEnv } from './dispatch.js';
import { isConnectionRefused, readBody, send, sendHttp500 } from './jsonrpc-endpoint.js';
import { currentRelease } from './pool-release.js';
import { toRpc } from './wire-value.js';
import { xmlParseErrorIsFault } from './xapi-release.js';
import { XapiFailure } from './xapi-failure.js';
import { encodeBare, encodeFailure, encodeParseFault, encodeSuccess, parseMethodCall, XmlRpcParseError, type XmlRpcCall } from './xmlrpc-codec.js';

/**
 * xapi's XML-RPC endpoint (api_server.ml `callback`), served at "/" and "/RPC2" and, because
 * Http_svr picks the handler with the longest matching URI prefix, at every other POST path
 * without a handler of its own (a release without /jsonrpc answers a JSON body posted there
 * here). Results are marshalled by the message's declared type; content type text/xml.
 */
export async function handleXmlRpc(req: IncomingMessage, res: ServerResponse, env: DispatchEnv): Promise<void> {
  let call: XmlRpcCall;
  try {
    call = parseMethodCall(await readBody(req));
  } catch (error) {
    if (error instanceof XmlRpcParseError && xmlParseErrorIsFault(currentRelease(env.db))) {
      send(res, 200, 'text/xml', encodeParseFault());
      return;
    }
    sendHttp500(res, error instanceof Error ? error.message : 'bad request');
    return;
  }
  const controller = new AbortController();
  const abort = (): void => controller.abort(new Error('request ended'));
  res.on('close', abort);
  env.closing.addEventListener('abort', abort, { once: true });
  try {
    const result = await dispatchCall(env, call.name, call.params, controller.signal);
    const rpc = toRpc(result.type, result.value, currentRelease(env.db));
    send(res, 200, 'text/xml', result.bare === true ? encodeBare(rpc) : encodeSuccess(rpc));
  } catch (error) {
    if (isConnectionRefused(error)) {
      res.destroy();
      return;
    }
    const failure =
      error instanceof XapiFailure ? error : new XapiFailure('INTERNAL_ERROR', [error instanceof Error ? error.message : String(error)]);
    send(res, 200, 'text/xml', encodeFailure(failure.code, failure.params));
  } finally {
    res.off('close', abort);
    env.closing.removeEventListener('abort', abort);
  }
}
