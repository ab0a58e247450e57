#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { datamodel, DEFAULT_SIM_CREDENTIALS, startXapiSimulator, type SimulatorSource, type XapiRelease } from '../xapi-sim/index.js';

const usage = `usage: xsctl-xapi-sim (--dump FILE | --pool FILE) [--port N] [--listen ADDR] [--user NAME] [--password-file FILE]
                      [--host-listeners] [--release NAME|VERSION] [--protocol xmlrpc|jsonrpc-v1|jsonrpc-v2-code0|jsonrpc-v2]

Serves XAPI over a simulated pool, loaded from an \`xe pool-dump-database\` XML file (--dump) or a
YAML/JSON pool description (--pool): XML-RPC at http://ADDR:PORT/ (and /RPC2), JSON-RPC at /jsonrpc
where the pool's release has it. The release follows the master's product version unless --release
names one (a datamodel code name such as ely or stockholm, or a xapi version such as 24.39.0).
Prints one JSON line when ready, then runs until SIGTERM or SIGINT.

examples:
  xsctl-xapi-sim --pool test/fixtures/demo-pool.yaml --port 8080
  xsctl-xapi-sim --dump state1.xml --release stockholm
`;

function fail(message: string): never {
  process.stderr.write(`xsctl-xapi-sim: ${message}\n${usage}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        dump: { type: 'string' },
        pool: { type: 'string' },
        port: { type: 'string', default: '0' },
        listen: { type: 'string', default: '127.0.0.1' },
        user: { type: 'string' },
        'password-file': { type: 'string' },
        'host-listeners': { type: 'boolean', default: false },
        release: { type: 'string' },
        protocol: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  if ((values.dump === undefined) === (values.pool === undefined)) fail('give exactly one of --dump and --pool');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${values.port}`);
  const protocols = ['xmlrpc', 'jsonrpc-v1', 'jsonrpc-v2-code0', 'jsonrpc-v2'] as const;
  const protocol = values.protocol as (typeof protocols)[number] | undefined;
  if (protocol !== undefined && !protocols.includes(protocol)) fail(`bad --protocol ${values.protocol}`);
  let release: XapiRelease | undefined;
  if (values.release !== undefined) {
    if (/^\d+(\.\d+)+$/.test(values.release)) release = { kind: 'numbered', version: values.release };
    else if (datamodel().releases.some((r) => r.code === values.release)) release = { kind: 'named', code: values.release };
    else fail(`unknown --release ${values.release}`);
  }
  const source: SimulatorSource = values.dump !== undefined ? { dumpFile: values.dump } : { descriptionFile: values.pool! };

  let password = DEFAULT_SIM_CREDENTIALS.password;
  if (values['password-file'] !== undefined) {
    // Only the first line counts, so a trailing newline from `echo` is not part of the password.
    password = (await readFile(values['password-file'], 'utf8')).split(/\r?\n/)[0] ?? '';
    if (password === '') fail(`${values['password-file']} is empty`);
  }
  const sim = await startXapiSimulator({
    source,
    host: values.listen,
    port,
    credentials: { user: values.user ?? DEFAULT_SIM_CREDENTIALS.user, password },
    hostListeners: values['host-listeners'],
    ...(release === undefined ? {} : { release }),
    ...(protocol === undefined ? {} : { protocol }),
  });
  const pool = sim.db.getRecord('pool', sim.db.poolRef());
  process.stdout.write(`${JSON.stringify({ url: sim.url, pool: pool['name_label'], hosts: sim.db.count('host') })}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`xsctl-xapi-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
