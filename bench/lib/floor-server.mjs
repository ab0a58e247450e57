// The floor under the agent's footprint: a bare @grpc/grpc-js server with mTLS and one unary
// method, nothing of xsctl. bench/agent.mjs bundles and compiles it with the agent's runtime and
// measures it the same way: what the runtime plus grpc-js cost before any agent code.
//   floor-server --tls-ca F --tls-cert F --tls-key F [--read-first]   prints {"ready":true,"port":N}
// --read-first: answer after one small file read through the thread pool (fs.promises.readFile of
// /proc/self/stat), as GetFacts answers after reading /proc/uptime. Without it the answer is written
// in the same turn of the event loop as the request was read, a path that is slower under Bun's
// HTTP/2 (agent/src/host/read-host-facts.ts), so the bare floor is not a lower bound for the agent.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Server, ServerCredentials } from '@grpc/grpc-js';

const { values: o } = parseArgs({ options: { 'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, empty: { type: 'boolean' }, 'read-first': { type: 'boolean' } }, allowPositionals: true });
const json = { serialize: (v) => Buffer.from(JSON.stringify(v)), deserialize: (b) => JSON.parse(b.toString() || '{}') };
const server = new Server();
server.addService(
  { getFacts: { path: '/bench.Floor/GetFacts', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize } },
  {
    getFacts: o['read-first']
      ? (_call, callback) => readFile('/proc/self/stat', 'utf8').then((stat) => callback(null, { hostname: 'floor', uptimeSeconds: process.uptime(), stat: stat.length }), callback)
      : (_call, callback) => callback(null, { hostname: 'floor', uptimeSeconds: process.uptime() }),
  },
);
const creds = ServerCredentials.createSsl(readFileSync(o['tls-ca']), [{ private_key: readFileSync(o['tls-key']), cert_chain: readFileSync(o['tls-cert']) }], true);
server.bindAsync('127.0.0.1:0', creds, (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
});
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
