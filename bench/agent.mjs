// npm run bench:agent: footprint of the agent, packaged (the RPM's /usr/bin/xsctl-agent, Bun
// baseline runtime) and dev (Node, tsc output), in one run, against the issue's goals. Prints JSON:
//   coldStartMs     spawn to the first answered GetFacts (median of --starts runs)
//   coldStartCpuMs  the agent's own CPU time (utime+stime, /proc/PID/stat) to that answer: unlike
//                   wall times it holds on a machine other work keeps busy (see loadavg)
//   idle            memory after --calls GetFacts and a 1 s pause: rssMb (VmRSS, the goal's
//                   figure), anonMb (RssAnon: heap, JIT code), fileMb (RssFile: the executable's
//                   pages, clean and reclaimable), pssMb (smaps_rollup)
//   getFacts        p50/p90/p99 (ms) of --calls sequential GetFacts over loopback mTLS; cpuMsPerCall
//                   (the agent's CPU) and clientCpuMsPerCall (this process, the Node client's CPU:
//                   on 2 cores it competes with the agent, and its share is in every latency)
//   gc              (Bun rows) JSC's collections per 1000 calls during the measured start's calls
//                   (BUN_JSC_logGC: all, and those allocation started), the live heap a collection
//                   leaves (heapAfterCollectionKb: each pause grows with it), and the KB allocated per
//                   call from one more start with Bun's GC timer off: a figure no load moves,
//                   unlike the latencies (gcCounts, allocationProbe)
//   goals           each goal as {goal, value, met}
// Rows: the packaged agent fresh and holding a revocation list (as every agent of a pool does once
// the controller has sent one: it is parsed and verified at start), the dev build, and the
// floor: the same runtime with nothing but a bare grpc-js mTLS server (bench/lib/floor-server.mjs),
// also answering after one thread-pool file read as GetFacts does (--read-first: Bun's HTTP/2 is
// slower for an answer written in the same turn of the event loop as its request), and with an
// empty program.
// Placement: on a real pool the controller (the client) runs on another machine, so the dom0's
// agent has its CPU to itself. Here both share 2 cores: each answering row is measured twice,
//   placement "shared"  unpinned, the client and the agent scheduled over the same cores (the
//                       historical figure), and
//   placement "pinned"  the agent on CPU 1 (`taskset -c 1`), this client on CPU 0 (`taskset -a -p`,
//                       all its threads), as a dom0 sees it: the client's CPU per call (0.8-1.1 ms,
//                       clientCpuMsPerCall) no longer queues behind or in front of the agent's.
// The goals are judged on the pinned rows (`goalsJudgedOn`); the shared rows stay for comparison.
// Options: --rpm FILE (default: dist/packages/xsctl-agent-*.rpm, built if missing), --calls N, --starts N,
// --no-pin (shared rows only, e.g. on a 1-CPU machine).
// XSCTL_BENCH_AGENT_ENV='K=V ...': one more packaged fresh row per placement, with these variables
// added to the unit's environment (e.g. a JSC/Bun GC setting to try before it goes into the unit).
// XSCTL_BENCH_CPU_PROF=DIR: the packaged agent (fresh rows) writes a CPU profile per start into DIR
// (Bun's --cpu-prof through BUN_OPTIONS, with a .md summary beside it); the last start of a row is
// the one that answered --calls calls.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { createClient } from 'nice-grpc';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { mtlsChannel } from '@xsctl/common/grpc/index';
import { refreshCrl } from '@xsctl/common/pki/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { makeHostRoot } from '@xsctl/test/demo/make-host-root';
import { bunCompile } from '../packaging/bun-compile.mjs';
import { onInterrupt, removeOnExit } from './lib/harness.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { rpm: { type: 'string' }, calls: { type: 'string', default: '1000' }, starts: { type: 'string', default: '5' }, 'no-pin': { type: 'boolean', default: false } } });
const calls = Number(opts.calls);
const starts = Number(opts.starts);
const goals = { idleRssMb: 60, coldStartMs: 400, p99Ms: 5 };
const bun = join(repo, 'node_modules', '@oven', 'bun-linux-x64-baseline', 'bin', 'bun');
// Removed at exit (success, failure, SIGINT): runs used to leave every xsctl-bench-agent-* behind.
const work = removeOnExit(mkdtempSync(join(tmpdir(), 'xsctl-bench-agent-')));
/** The agent (or floor program) being measured: spawn() has no clean-up of its own on SIGINT. */
let running;
onInterrupt(async () => {
  if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
  const gone = new Promise((r) => running.once('exit', r));
  running.kill('SIGTERM');
  await gone;
});

function packagedBinary() {
  let rpm = opts.rpm;
  const out = join(repo, 'dist', 'packages');
  const find = () => (existsSync(out) ? readdirSync(out).find((f) => /^xsctl-agent-.*\.x86_64\.rpm$/.test(f)) : undefined);
  if (rpm === undefined) {
    if (find() === undefined) execFileSync(process.execPath, [join(repo, 'packaging', 'build-agent-rpm.mjs'), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    rpm = join(out, find());
  }
  const dir = mkdtempSync(join(work, 'rpm-'));
  execFileSync('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', rpm], { cwd: dir });
  const runtime = JSON.parse(readFileSync(join(dir, 'usr', 'share', 'xsctl-agent', 'runtime.json'), 'utf8'));
  // The environment the RPM's unit gives the agent (Environment= lines), as systemd would.
  const unit = readFileSync(join(dir, 'usr', 'lib', 'systemd', 'system', 'xsctl-agent.service'), 'utf8');
  const env = Object.fromEntries([...unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/gm)].map((m) => [m[1], m[2]]));
  return { file: join(dir, 'usr', 'bin', 'xsctl-agent'), rpm, runtime, env };
}

/** A bench program bundled and compiled exactly as the agent is (packaging/bun-compile.mjs). */
async function compiled(name) {
  const bundle = join(work, `${name}.mjs`);
  await build({
    entryPoints: [join(repo, 'bench', 'lib', `${name}.mjs`)], outfile: bundle, bundle: true, platform: 'node', target: 'node20', format: 'esm', minifySyntax: true, logLevel: 'warning',
    banner: { js: "import { createRequire as __xsctlCreateRequire } from 'node:module';\nconst require = __xsctlCreateRequire(import.meta.url);" },
  });
  const file = join(work, name);
  bunCompile(bun, bundle, file, work);
  return file;
}

const cpuCount = availableParallelism();
const pin = !opts['no-pin'] && cpuCount >= 2;
const allCpus = `0-${cpuCount - 1}`;
const clientCpu = '0';
const agentCpu = '1';
/** Every thread of this process (-a: libuv's pool, V8's workers) to `cpus`. */
const pinSelf = (cpus) => execFileSync('taskset', ['-a', '-cp', cpus, String(process.pid)], { stdio: 'ignore' });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ticks = 100; // USER_HZ on Linux x86_64
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks; // utime, stime (fields 14, 15)
};
const kb = (text, key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
const mb = (k) => Number((k / 1024).toFixed(1));
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return { rssMb: mb(kb(status, 'VmRSS')), anonMb: mb(kb(status, 'RssAnon')), fileMb: mb(kb(status, 'RssFile')), pssMb: mb(kb(rollup, 'Pss')), threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1]) };
}

/**
 * JSC's collections during the --calls calls of the measured start, from BUN_JSC_logGC's stderr:
 * all of them and those started because the bytes allocated since the last one passed JSC's
 * allowance ("Requesting GC because bytes allocated this cycle: N exceed bytes allowed: M"), per
 * 1000 calls; the rest are Bun's GC timer (about one a second while the heap grows, so their share
 * grows with the machine's load). Without its JIT, JSC runs in its mini mode and each is a full
 * collection (no generational collector); the calls that meet one make the p99. Its pause grows
 * with the live heap, the median heap left after one (heapAfterCollectionKb, "=> NNNkb").
 */
function gcCounts(text, n) {
  const started = [...text.matchAll(/bytes allocated this cycle: (\d+) exceed bytes allowed: (\d+)/g)];
  const all = [...text.matchAll(/: START /g)].length;
  const after = [...text.matchAll(/=> (\d+)kb, p=/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return { collectionsPer1000Calls: Number(((all * 1000) / n).toFixed(1)), allocationStartedPer1000Calls: Number(((started.length * 1000) / n).toFixed(1)), heapAfterCollectionKb: after.length === 0 ? null : quantile(after, 0.5) };
}

/**
 * KB allocated per call, a figure no load moves: one more start with Bun's GC timer off
 * (BUN_GC_TIMER_DISABLE=1), so that every collection is started by allocation and logs the exact
 * bytes allocated since the last one; their sum over `probeCalls` calls after a warm-up, and JSC's
 * mean allowance (bytes allowed between collections).
 */
const probeCalls = 2000;

/** The `{"ready":...}` line a started agent (or floor server) prints on stdout once it listens. */
function readyLine(child, name) {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /^(\{"ready".*\})$/m.exec(buf);
      if (m) resolve(JSON.parse(m[1]));
    });
    child.on('exit', (c) => reject(new Error(`${name} exited ${c}`)));
  });
}
async function allocationProbe(file, args, env, definition, controllerTls) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, BUN_GC_TIMER_DISABLE: '1', BUN_JSC_logGC: '1' } });
  running = child;
  let text = '';
  child.stderr.on('data', (d) => {
    text += d;
  });
  const ready = await readyLine(child, 'allocation probe');
  const channel = mtlsChannel(`127.0.0.1:${ready.port}`, controllerTls, { kind: 'agent' });
  const client = createClient(definition, channel);
  for (let i = 0; i < 200; i++) await client.getFacts({});
  const from = text.length;
  for (let i = 0; i < probeCalls; i++) await client.getFacts({});
  const during = text.slice(from);
  channel.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const cycles = [...during.matchAll(/bytes allocated this cycle: (\d+) exceed bytes allowed: (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return {
    probeCalls,
    allocatedKbPerCall: Number((sum(cycles.map(([a]) => a)) / probeCalls / 1024).toFixed(2)),
    allowanceKb: cycles.length === 0 ? null : Number((sum(cycles.map(([, b]) => b)) / cycles.length / 1024).toFixed(0)),
  };
}

// The floor answers a JSON-coded method of its own; the client needs no generated code for it.
const json = { serialize: (v) => Buffer.from(JSON.stringify(v)), deserialize: (b) => JSON.parse(b.toString() || '{}') };
const FloorDefinition = { getFacts: { path: '/bench.Floor/GetFacts', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize, options: {} } };

/**
 * Starts `file` --starts times; each start is timed to its first answered GetFacts (none for an
 * empty program, only its memory); the last one then answers --calls calls and rests 1 s.
 */
async function measure(name, file, args, { definition, controllerTls, answers = true, env: rowEnv = {}, pinned = false, profile = false, gcLog = false }) {
  const prof = process.env.XSCTL_BENCH_CPU_PROF;
  const env = profile && prof !== undefined && prof !== '' ? { ...rowEnv, BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-dir=${prof}` } : rowEnv;
  const colds = [];
  const coldCpu = [];
  let result;
  // The client's threads to CPU 0 for this row, back to every CPU after it.
  if (pinned) pinSelf(clientCpu);
  try {
    for (let i = 0; i < starts; i++) {
      const t0 = performance.now();
      // The start that answers --calls calls logs JSC's collections (a Bun row): see gcCounts.
      const logGc = gcLog && answers && i === starts - 1;
      const stdio = ['ignore', 'pipe', logGc ? 'pipe' : 'ignore'];
      const childEnv = { ...process.env, ...env, ...(logGc ? { BUN_JSC_logGC: '1' } : {}) };
      // taskset execs the program: the pid is the agent's own (its /proc/PID/stat is read below).
      const child = pinned ? spawn('taskset', ['-c', agentCpu, file, ...args], { stdio, env: childEnv }) : spawn(file, args, { stdio, env: childEnv });
      let gcText = '';
      child.stderr?.on('data', (d) => {
        gcText += d;
      });
      running = child;
      const ready = await readyLine(child, name);
      const channel = answers ? mtlsChannel(`127.0.0.1:${ready.port}`, controllerTls, { kind: 'agent' }) : undefined;
      const client = channel === undefined ? undefined : createClient(definition, channel);
      await client?.getFacts({});
      colds.push(performance.now() - t0);
      coldCpu.push(cpuMs(child.pid));
      if (i === starts - 1) {
        const lat = [];
        const cpu0 = cpuMs(child.pid);
        const client0 = process.cpuUsage();
        const gcFrom = gcText.length;
        for (let n = 0; client !== undefined && n < calls; n++) {
          const s = performance.now();
          await client.getFacts({});
          lat.push(performance.now() - s);
        }
        const gcDuring = gcText.slice(gcFrom);
        const cpuPerCall = (cpuMs(child.pid) - cpu0) / calls;
        const client1 = process.cpuUsage(client0);
        const clientCpuPerCall = (client1.user + client1.system) / 1000 / calls;
        await sleep(1000);
        lat.sort((a, b) => a - b);
        result = { idle: memory(child.pid), ...(logGc ? { gc: gcCounts(gcDuring, calls) } : {}), ...(client === undefined ? {} : { getFacts: { calls, p50Ms: Number(quantile(lat, 0.5).toFixed(2)), p90Ms: Number(quantile(lat, 0.9).toFixed(2)), p99Ms: Number(quantile(lat, 0.99).toFixed(2)), cpuMsPerCall: Number(cpuPerCall.toFixed(3)), clientCpuMsPerCall: Number(clientCpuPerCall.toFixed(3)) } }) };
      }
      channel?.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  } finally {
    if (pinned) pinSelf(allCpus);
  }
  if (gcLog && answers && result?.gc !== undefined) Object.assign(result.gc, await allocationProbe(file, args, env, definition, controllerTls));
  colds.sort((a, b) => a - b);
  coldCpu.sort((a, b) => a - b);
  const coldStartMs = Number(quantile(colds, 0.5).toFixed(0));
  const row = { build: name, placement: pinned ? { kind: 'pinned', agentCpus: agentCpu, clientCpus: clientCpu } : { kind: 'shared', agentCpus: allCpus, clientCpus: allCpus }, coldStartMs, coldStartRunsMs: colds.map((c) => Number(c.toFixed(0))), coldStartCpuMs: quantile(coldCpu, 0.5), ...result };
  const met = (value, goal) => ({ goal, value, met: value <= goal });
  row.goals = { idleRssMb: met(row.idle.rssMb, goals.idleRssMb), ...(answers ? { coldStartMs: met(coldStartMs, goals.coldStartMs), p99Ms: met(row.getFacts.p99Ms, goals.p99Ms) } : {}) };
  return row;
}

const pki = await makeTestPki();
removeOnExit(pki.dir);
await pki.issue({ kind: 'agent', name: 'bench', ipAddresses: ['127.0.0.1'] });
const controllerTls = await pki.issue({ kind: 'controller', name: 'bench-ctl' });
const hostFacts = { hostname: 'bench', productBrand: 'XCP-ng', productVersion: '8.2.1', buildNumber: 'release/yangtze/master/58', installationUuid: 'b1c2', controlDomainUuid: 'd3e4', poolConf: 'master', uptimeSeconds: 1234 };
const fresh = await makeHostRoot(mkdtempSync(join(work, 'host-')), hostFacts);
// The list a controller sends (and the agent keeps in its state dir): parsed and verified at start.
const withCrl = await makeHostRoot(mkdtempSync(join(work, 'host-crl-')), hostFacts);
mkdirSync(join(withCrl, 'var/lib/xsctl-agent/trust'), { recursive: true });
copyFileSync((await refreshCrl(pki.dir)).file, join(withCrl, 'var/lib/xsctl-agent/trust/crl.pem'));

/** The agent as systemd starts it (`serve --config`, packaging/agent/agent.yaml's keys), on loopback. */
function agentArgs(root) {
  const config = join(mkdtempSync(join(work, 'config-')), 'agent.yaml');
  const tls = { ca: join(pki.dir, 'ca', 'ca.crt'), cert: join(pki.dir, 'bench.crt'), key: join(pki.dir, 'bench.key') };
  writeFileSync(config, `listen: 127.0.0.1:0\nroot: ${root}\ntls:\n  ca: ${tls.ca}\n  cert: ${tls.cert}\n  key: ${tls.key}\nlogLevel: warn\ncommandTimeoutMs: 30000\nstateDir: /var/lib/xsctl-agent\n`);
  return ['serve', '--config', config];
}

const packaged = packagedBinary();
const runtime = `${packaged.runtime.runtime === 'bun' ? 'Bun' : 'Node'} ${packaged.runtime.version}`;
const floorArgs = ['--tls-ca', join(pki.dir, 'ca', 'ca.crt'), '--tls-cert', join(pki.dir, 'bench.crt'), '--tls-key', join(pki.dir, 'bench.key')];
const placements = pin ? [false, true] : [false];
const extraEnv = (process.env.XSCTL_BENCH_AGENT_ENV ?? '').trim() === '' ? undefined : Object.fromEntries(process.env.XSCTL_BENCH_AGENT_ENV.trim().split(/\s+/).map((kv) => {
  const at = kv.indexOf('=');
  if (at < 1) throw new Error(`XSCTL_BENCH_AGENT_ENV: ${kv} is not NAME=VALUE`);
  return [kv.slice(0, at), kv.slice(at + 1)];
}));
const results = [];
for (const pinned of placements) {
  const gcLog = packaged.runtime.runtime === 'bun';
  results.push(await measure(`packaged (${runtime}, compiled), fresh`, packaged.file, agentArgs(fresh), { definition: HostServiceDefinition, controllerTls, env: packaged.env, pinned, profile: packaged.runtime.runtime === 'bun', gcLog }));
  results.push(await measure(`packaged (${runtime}, compiled), holding a revocation list`, packaged.file, agentArgs(withCrl), { definition: HostServiceDefinition, controllerTls, env: packaged.env, pinned, gcLog }));
  if (extraEnv !== undefined) results.push(await measure(`packaged (${runtime}, compiled), fresh, with ${process.env.XSCTL_BENCH_AGENT_ENV}`, packaged.file, agentArgs(fresh), { definition: HostServiceDefinition, controllerTls, env: { ...packaged.env, ...extraEnv }, pinned, gcLog }));
  results.push(await measure(`dev (Node ${process.versions.node}, tsc output), fresh`, process.execPath, [join(repo, 'agent', 'bin', 'xsctl-agent.js'), ...agentArgs(fresh)], { definition: HostServiceDefinition, controllerTls, pinned }));
}
// The floor with the unit's environment and without it (the JIT's share).
const floor = [];
const floorServer = await compiled('floor-server');
const emptyProgram = await compiled('empty-program');
for (const env of Object.keys(packaged.env).length === 0 ? [{}] : [packaged.env, {}]) {
  const how = Object.keys(env).length === 0 ? 'no environment' : Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
  for (const pinned of placements) {
    floor.push(await measure(`floor (${how}): the same Bun, compiled the same way, a bare grpc-js mTLS server (bench/lib/floor-server.mjs)`, floorServer, floorArgs, { definition: FloorDefinition, controllerTls, env, pinned, gcLog: true }));
    // The same server answering after one thread-pool file read, as GetFacts does (--read-first).
    if (Object.keys(env).length > 0) floor.push(await measure(`floor (${how}): the same bare server, answering after one thread-pool file read as GetFacts does (floor-server.mjs --read-first)`, floorServer, [...floorArgs, '--read-first'], { definition: FloorDefinition, controllerTls, env, pinned, gcLog: true }));
  }
  floor.push(await measure(`floor (${how}): the same Bun, compiled the same way, an empty program`, emptyProgram, [], { answers: false, env }));
}
// One line per answering row, so the two placements read side by side.
const summary = [...results, ...floor].filter((r) => r.getFacts !== undefined).map((r) => ({ build: r.build, placement: r.placement.kind, p50Ms: r.getFacts.p50Ms, p99Ms: r.getFacts.p99Ms, cpuMsPerCall: r.getFacts.cpuMsPerCall, clientCpuMsPerCall: r.getFacts.clientCpuMsPerCall, idleRssMb: r.idle.rssMb, coldStartMs: r.coldStartMs, ...(r.gc === undefined ? {} : { gcPer1000Calls: r.gc.collectionsPer1000Calls, heapAfterGcKb: r.gc.heapAfterCollectionKb, allocatedKbPerCall: r.gc.allocatedKbPerCall }) }));
const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
process.stdout.write(`${JSON.stringify({ bench: 'agent-footprint', rpm: packaged.rpm, unitEnvironment: packaged.env, goals, goalsJudgedOn: pin ? 'pinned rows: the agent on CPU 1, the client on CPU 0, as on a pool where the controller is remote' : 'shared rows (no pinning: --no-pin or 1 CPU)', loadavg, cpus: cpuCount, summary, results, floor }, null, 2)}\n`);
