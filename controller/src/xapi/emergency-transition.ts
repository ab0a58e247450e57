import { XapiError } from './xapi-error.js';
import { XapiUnreachableError } from './xapi-unreachable-error.js';
import type { XapiTransportPolicy } from './xapi-transport-policy.js';
import { xapiHttpRequest } from './xapi-http-request.js';

/**
 * `pool.emergency_transition_to_master` on one host, as `xe pool-emergency-transition-to-master`
 * does it: a slave-local session on that host's own xapi (session.slave_local_login_with_password,
 * which a slave answers itself while its master is dead), the call, then session.local_logout.
 * It bypasses the xen-api client on purpose: that client logs in with login_with_password and
 * reads the pool through the master, which is exactly what is gone. JSON-RPC over HTTP(S);
 * credentials never leave this function in an error.
 */
export interface EmergencyOptions extends XapiTransportPolicy {
  /** The surviving host's own address, e.g. https://10.0.0.6. */
  hostUrl: string;
  user: string;
  password: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

async function rpc(o: EmergencyOptions, method: string, params: unknown[]): Promise<unknown> {
  const url = new URL('/jsonrpc', o.hostUrl);
  const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 });
  const text = await new Promise<string>((resolve, reject) => {
    const req = xapiHttpRequest(url, o, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: o.timeoutMs ?? 30_000, signal: o.signal }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve(data));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new XapiUnreachableError(url.origin, err.message)));
    req.end(body);
  });
  const reply = JSON.parse(text) as { result?: unknown; error?: { message?: string; data?: unknown } };
  if (reply.error !== undefined) {
    const data = Array.isArray(reply.error.data) ? (reply.error.data as unknown[]).map(String) : [];
    throw new XapiError(reply.error.message ?? 'INTERNAL_ERROR', data, method);
  }
  return reply.result;
}

export async function emergencyTransitionToMaster(o: EmergencyOptions): Promise<void> {
  const session = String(await rpc(o, 'session.slave_local_login_with_password', [o.user, o.password]));
  try {
    await rpc(o, 'pool.emergency_transition_to_master', [session]);
  } finally {
    // The transition restarts xapi: the session is gone already, so a failed logout is expected.
    await rpc(o, 'session.local_logout', [session]).catch(() => undefined);
  }
}
