// npm run bench:agent: footprint of the agent, packaged (the RPM's /usr/bin/xsctl-agent, Bun
// baseline runtime) and dev (Node, tsc output), in one run. Prints JSON:
//   coldStartMs  spawn to the first answered GetFacts (median of --starts runs)
//   idleRssMb    VmRSS of the agent after --calls GetFacts calls and a 1 s pause
//   getFacts     p50/p99 (ms) of --calls sequential GetFacts over loopback mTLS
//   coldStartCpuMs, getFacts.cpuMsPerCall: the agent's own CPU time (utime+stime from
//     /proc/PID/stat) to the first answer and per call: unlike wall times, these hold on a machine
//     that other work keeps busy (the loadavg printed says how busy it was)
// Options: --rpm FILE (default: dist/packages/xsctl-agent-*.rpm, built if missing), --calls N, --starts N.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createChannel, createClient } from 'nice-grpc';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { mtlsChannelCredentials } from '@xsctl/common/grpc/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { makeHostRoot } from '@xsctl/test/demo/make-host-root';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { rpm: { type: 'string' }, calls: { type: 'string', default: '1000' }, starts: { type: 'string', default: '5' } } });
const calls = Number(opts.calls);
const starts = Number(opts.starts);

function packagedBinary() {
  let rpm = opts.rpm;
  const out = join(repo, 'dist', 'packages');
  const find = () => (existsSync(out) ? readdirSync(out).find((f) => /^xsctl-agent-.*\.x86_64\.rpm$/.test(f)) : undefined);
  if (rpm === undefined) {
    if (find() === undefined) execFileSync(process.execPath, [join(repo, 'packaging', 'build-agent-rpm.mjs'), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    rpm = join(out, find());
  }
  const dir = mkdtempSync(join(tmpdir(), 'xsctl-bench-rpm-'));
  execFileSync('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', rpm], { cwd: dir });
  return { file: join(dir, 'usr', 'bin', 'xsctl-agent'), prefix: [], rpm };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ticks = 100; // USER_HZ on Linux x86_64
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks; // utime, stime (fields 14, 15)
};
const rssMb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

async function measure(name, file, prefix, pki, host, controllerTls) {
  const args = [...prefix, 'serve', '--listen', '127.0.0.1:0', '--root', host, '--tls-ca', join(pki.dir, 'ca', 'ca.crt'), '--tls-cert', join(pki.dir, 'bench.crt'), '--tls-key', join(pki.dir, 'bench.key'), '--log-level', 'warn'];
  const colds = [];
  const coldCpu = [];
  let result;
  for (let i = 0; i < starts; i++) {
    const t0 = performance.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const port = await new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        const m = /"port":(\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (c) => reject(new Error(`${name} exited ${c}`)));
    });
    const channel = createChannel(`127.0.0.1:${port}`, mtlsChannelCredentials(controllerTls));
    const client = createClient(HostServiceDefinition, channel);
    await client.getFacts({});
    colds.push(performance.now() - t0);
    coldCpu.push(cpuMs(child.pid));
    if (i === starts - 1) {
      const lat = [];
      const cpu0 = cpuMs(child.pid);
      for (let n = 0; n < calls; n++) {
        const s = performance.now();
        await client.getFacts({});
        lat.push(performance.now() - s);
      }
      const cpuPerCall = (cpuMs(child.pid) - cpu0) / calls;
      await sleep(1000);
      lat.sort((a, b) => a - b);
      result = { idleRssMb: Number(rssMb(child.pid).toFixed(1)), getFacts: { calls, p50Ms: Number(quantile(lat, 0.5).toFixed(2)), p99Ms: Number(quantile(lat, 0.99).toFixed(2)), cpuMsPerCall: Number(cpuPerCall.toFixed(3)) } };
    }
    channel.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  colds.sort((a, b) => a - b);
  coldCpu.sort((a, b) => a - b);
  return { build: name, coldStartMs: Number(quantile(colds, 0.5).toFixed(0)), coldStartRunsMs: colds.map((c) => Number(c.toFixed(0))), coldStartCpuMs: quantile(coldCpu, 0.5), ...result };
}

const pki = await makeTestPki();
await pki.issue({ kind: 'agent', name: 'bench', ipAddresses: ['127.0.0.1'] });
const controllerTls = await pki.issue({ kind: 'controller', name: 'bench-ctl' });
const host = await makeHostRoot(mkdtempSync(join(tmpdir(), 'xsctl-bench-host-')), {
  hostname: 'bench', productBrand: 'XCP-ng', productVersion: '8.2.1', buildNumber: 'release/yangtze/master/58',
  installationUuid: 'b1c2', controlDomainUuid: 'd3e4', poolConf: 'master', uptimeSeconds: 1234,
});
const packaged = packagedBinary();
const results = [
  await measure('packaged (Bun 1.4.5 baseline, --compile --smol)', packaged.file, [], pki, host, controllerTls),
  await measure(`dev (Node ${process.versions.node}, tsc output)`, process.execPath, [join(repo, 'agent', 'bin', 'xsctl-agent.js')], pki, host, controllerTls),
];
const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
process.stdout.write(`${JSON.stringify({ bench: 'agent-footprint', rpm: packaged.rpm, goals: { idleRssMb: 60, coldStartMs: 400, p99Ms: 5 }, loadavg, results }, null, 2)}\n`);
