import { connect } from 'node:tls';
import { isIP } from 'node:net';
import { loadTlsMaterial } from '@xsctl/common/pki/index';
import type { CliConfig } from '../config/cli-config.js';

export type ProbeResult = { kind: 'ok' } | { kind: 'tcp'; reason: string } | { kind: 'tls'; reason: string };

/**
 * gRPC reports every connection failure as UNAVAILABLE. To tell an admin *why*, open one TLS
 * connection with the same files: refused TCP, a server certificate we do not trust, or a client
 * certificate the controller rejects (TLS 1.3 sends that alert after the handshake, hence the wait).
 */
export async function probeTls(config: CliConfig, timeoutMs = 3000): Promise<ProbeResult> {
  const idx = config.controller.lastIndexOf(':');
  const host = config.controller.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(config.controller.slice(idx + 1));
  const m = await loadTlsMaterial(config.tls);
  const servername = config.serverName ?? (isIP(host) === 0 ? host : undefined);
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'ok' }), timeoutMs);
    const socket = connect({ host, port, ca: m.ca, cert: m.cert, key: m.key, ALPNProtocols: ['h2'], ...(servername === undefined ? {} : { servername }) });
    let handshaken = false;
    socket.on('secureConnect', () => {
      handshaken = true;
      // A rejected client certificate arrives as an alert (or a reset) on the first read.
      socket.resume();
      setTimeout(() => done({ kind: 'ok' }), 500);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (handshaken) done({ kind: 'tls', reason: `the controller rejected this client certificate (${err.message})` });
      else if (err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ETIMEDOUT' || err.code === 'ENOTFOUND') done({ kind: 'tcp', reason: err.message });
      else done({ kind: 'tls', reason: err.message });
    });
    socket.on('close', () => {
      if (handshaken) done({ kind: 'tls', reason: 'the controller closed the connection after the handshake: it rejected this client certificate' });
    });
  });
}
