// Shared by the benchmarks: a CA, certificates, a controller process, and small statistics.
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createChannel, createClientFactory } from 'nice-grpc';
import { initCa, issueCertificate, loadTlsMaterial } from '@xsctl/common/pki/index';
import { clientDeadlineMiddleware, clientErrorMiddleware, mtlsChannelCredentials } from '@xsctl/common/grpc/index';
import { spawnReady, spawnReadyExecutable } from '@xsctl/test/demo/spawn-ready';

const require = createRequire(import.meta.url);
export const bin = (pkg, file) => join(require.resolve(`${pkg}/package.json`), '..', 'dist', 'bin', file);

/**
 * What a bench created under /tmp, removed when the process exits: on success, after a failure
 * (process.exit(1)) and on SIGINT/SIGTERM (turned into an exit, so the 'exit' handler runs; the
 * child processes go with execa's `cleanup`). XSCTL_BENCH_KEEP=1 keeps them (the controller's log).
 * Before this every run of bench:fanout left its xsctl-bench-fanout-* directory behind.
 */
const scratch = new Set();
const cleanups = [];
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    if (process.env.XSCTL_BENCH_KEEP === '1') {
      for (const d of scratch) process.stderr.write(`kept ${d} (XSCTL_BENCH_KEEP=1)\n`);
      return;
    }
    // maxRetries: a child killed a moment ago may still be closing its log file.
    for (const d of scratch) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
  });
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(sig, () => {
      process.stderr.write(`${sig}: stopping the bench and removing its directories\n`);
      // What the stopping children make fail (a call to an agent just killed) is not the bench's error.
      const quiet = () => process.exit(code);
      process.on('uncaughtException', quiet);
      process.on('unhandledRejection', quiet);
      // Async clean-ups (a lab's namespaces and daemons) get 20 s, then the exit handler runs anyway.
      const done = Promise.allSettled(cleanups.map((fn) => fn()));
      void Promise.race([done, new Promise((r) => setTimeout(r, 20_000).unref())]).then(() => process.exit(code));
    });
  }
}

/** Removes `dir` (recursively) when the process exits, however it exits. Returns `dir`. */
export function removeOnExit(dir) {
  hookExit();
  scratch.add(dir);
  return dir;
}

/** Runs `fn` (async) on SIGINT/SIGTERM before the exit; returns a function that unregisters it. */
export function onInterrupt(fn) {
  hookExit();
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i !== -1) cleanups.splice(i, 1);
  };
}

export async function benchDir(name) {
  const dir = removeOnExit(await mkdtemp(join(tmpdir(), `xsctl-bench-${name}-`)));
  const pkiDir = join(dir, 'pki');
  await initCa(pkiDir, { name: `xsctl bench ${name} CA` });
  return { dir, pkiDir };
}

/** Starts xsctl-controller with `config` (tls filled in); resolves with its ports and pid. */
export async function startController(dir, pkiDir, config) {
  const tls = await issueCertificate(pkiDir, { kind: 'controller', name: 'xsctl-controller', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const file = join(dir, 'controller.json');
  await writeFile(file, JSON.stringify({ listen: '127.0.0.1:0', tls: { ca: tls.ca, cert: tls.cert, key: tls.key }, journal: join(dir, 'journal.sqlite'), logLevel: process.env.XSCTL_BENCH_LOG ?? 'warn', ...config }, null, 2));
  const script = bin('@xsctl/controller', 'xsctl-controller.js');
  const options = { logFile: join(dir, 'controller.log'), timeoutMs: 600_000 };
  // XSCTL_BENCH_CPU_PROF=DIR: the controller writes a V8 CPU profile there when it stops (open it
  // in Chrome DevTools or speedscope) -- how the fan-out's controller-side cost was found.
  const prof = process.env.XSCTL_BENCH_CPU_PROF;
  const proc = prof === undefined || prof === ''
    ? await spawnReady(script, ['--config', file], options)
    : await spawnReadyExecutable(process.execPath, ['--cpu-prof', '--cpu-prof-dir', prof, script, '--config', file], options, script);
  return { proc, pid: proc.child.pid, port: Number(proc.ready.port), http: proc.ready.http };
}

/** A gRPC client of a controller service as a CLI user. */
export async function cliClient(pkiDir, port, definition, role = 'viewer') {
  const files = await issueCertificate(pkiDir, { kind: 'cli', name: `bench-${role}`, role });
  const tls = await loadTlsMaterial(files);
  const channel = createChannel(`127.0.0.1:${port}`, mtlsChannelCredentials(tls), { 'grpc.ssl_target_name_override': 'xsctl-controller', 'grpc.default_authority': 'xsctl-controller' });
  const client = createClientFactory().use(clientDeadlineMiddleware(600_000)).use(clientErrorMiddleware).create(definition, channel);
  return { client, tls, files, close: () => channel.close() };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
export const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs `fn` over `items` with at most `limit` at once. */
export async function inBatches(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}
