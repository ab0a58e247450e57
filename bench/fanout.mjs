#!/usr/bin/env node
// Fan-out benchmark: prints JSON. 64 agents (separate processes, each on its own loopback address
// 127.2.0.N with its own sandbox root tree) serve one simulated pool; a pool precheck through the
// controller asks all of them at once. The same run also times one host's precheck on the same
// path (a one-host pool, same controller) and one agent's Run on its own, and prints
//   ratio = fan-out time / one host's precheck time      (goal <= 2)
// Each figure is the median of several runs after one warm-up run (channels open, as in a
// controller that has been running). All processes are on this machine: on 2 cores the 64 agents
// share the CPU that 64 dom0s would each have to themselves, so the ratio here is an upper bound.
// Usage: npm run build && npm run bench:fanout [-- --agents 64 --runs 3]
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueCertificate, loadTlsMaterial } from '@xsctl/common/pki/index';
import { createChannel, createClientFactory } from 'nice-grpc';
import { clientDeadlineMiddleware, clientErrorMiddleware, mtlsChannelCredentials } from '@xsctl/common/grpc/index';
import { PoolPrecheckServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { PrecheckServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { startXapiSimulator } from '@xsctl/test/xapi-sim/index';
import { makeHostRoot } from '@xsctl/test/demo/make-host-root';
import { spawnReady } from '@xsctl/test/demo/spawn-ready';
import { benchDir, bin, cliClient, inBatches, median, round, startController } from './lib/harness.mjs';

const { values } = parseArgs({ options: { agents: { type: 'string', default: '64' }, runs: { type: 'string', default: '3' } } });
const agents = Number(values.agents);
const runs = Number(values.runs);
const credentials = { user: 'root', password: 'bench-password' };
const agentPort = 21000 + (process.pid % 20000);
const hotfixes = ['XS82E001', 'XS82E002', 'XS82E003'];

const hostName = (i) => `fan${String(i).padStart(2, '0')}`;
const description = (name, hosts, net) => ({
  pool: { name, master: hosts[0].name },
  hosts: hosts.map((h) => ({ name: h.name, address: h.address, version: '8.2.1', brand: 'XCP-ng', memoryGiB: 256, cpus: 32, hotfixes })),
  srs: [{ name: `${name}-iscsi`, type: 'lvmoiscsi', shared: true, sizeGiB: 8192 }],
  vms: hosts.flatMap((h, i) => [0, 1].map((k) => ({ name: `${net}-vm-${i}-${k}`, memoryGiB: 4, vcpus: 2, host: h.name, disks: [{ sr: `${name}-iscsi`, sizeGiB: 20 }] }))),
});

async function main() {
  const { dir, pkiDir } = await benchDir('fanout');
  const big = Array.from({ length: agents }, (_, i) => ({ name: hostName(i + 1), address: `127.2.0.${i + 1}` }));
  const one = [{ name: 'solo01', address: '127.2.1.1' }];
  const started = [];
  const stopAll = async () => {
    for (const p of started.reverse()) await p.stop().catch(() => undefined);
  };
  try {
    const sims = [await startXapiSimulator({ source: { description: description('fan', big, 'f') }, credentials }), await startXapiSimulator({ source: { description: description('solo', one, 's') }, credentials })];
    // All at once: each issue holds the CA lock (common/src/pki/ca-lock.ts) around its
    // read-change-write of the register (ca/issued.json), so none is lost.
    const hostsAll = [...big, ...one];
    const issued = await Promise.all(hostsAll.map((h) => issueCertificate(pkiDir, { kind: 'agent', name: h.name, ipAddresses: [h.address] })));
    const certs = new Map(hostsAll.map((h, i) => [h.name, issued[i]]));
    // Each agent: its own sandbox root (a dom0's files), certificate and process.
    await inBatches([...big, ...one], 4, async (h) => {
      const root = join(dir, 'hosts', h.name, 'root');
      await makeHostRoot(root, { hostname: h.name, productBrand: 'XCP-ng', productVersion: '8.2.1', buildNumber: 'release/yangtze/master/58', installationUuid: `00000000-0000-4000-8000-${h.address.split('.').map((x) => x.padStart(3, '0')).join('')}`.slice(0, 36), controlDomainUuid: '', poolConf: 'master', uptimeSeconds: 86_400 });
      await mkdir(join(root, 'var/update/applied'), { recursive: true });
      for (const [k, hf] of hotfixes.entries()) {
        await writeFile(join(root, 'var/update/applied', `0000000${k}-0000-4000-8000-000000000000`), `<?xml version="1.0" ?><update name-label="${hf}" name-description="" after-apply-guidance="restartHost" uuid="0000000${k}-0000-4000-8000-000000000000"/>\n`);
      }
      const tls = certs.get(h.name);
      const p = await spawnReady(bin('@xsctl/agent', 'xsctl-agent.js'), ['serve', '--listen', `${h.address}:${agentPort}`, '--root', root, '--tls-ca', tls.ca, '--tls-cert', tls.cert, '--tls-key', tls.key], { logFile: join(dir, `agent-${h.name}.log`), timeoutMs: 600_000 });
      started.push(p);
    });
    const ctl = await startController(dir, pkiDir, {
      watch: { xapiEvents: false, agentProbeSeconds: 0 },
      pools: [
        { name: 'fan', xapi: { url: sims[0].url, user: credentials.user, password: credentials.password, allowPlainHttp: true }, agentPort },
        { name: 'solo', xapi: { url: sims[1].url, user: credentials.user, password: credentials.password, allowPlainHttp: true }, agentPort },
      ],
    });
    started.push(ctl.proc);
    const { client, close } = await cliClient(pkiDir, ctl.port, PoolPrecheckServiceDefinition);

    const time = async (fn) => {
      const t = performance.now();
      const r = await fn();
      return { ms: performance.now() - t, r };
    };
    const poolRun = (pool) => time(() => client.run({ pool, metadataBackupMaxAgeHours: 24 }));
    // Cold: the controller opens 64 channels (TLS handshakes) on the first run.
    const coldFan = await poolRun('fan');
    const coldOne = await poolRun('solo');
    const fan = [];
    const solo = [];
    for (let i = 0; i < runs; i++) {
      // Interleaved, so both see the same machine load.
      solo.push((await poolRun('solo')).ms);
      fan.push((await poolRun('fan')).ms);
    }
    const last = await poolRun('fan');
    const agentsOk = last.r.hosts.filter((h) => h.agentOk).length;

    // One agent's Run on its own, as the controller's own client would send it.
    const ctlTls = await loadTlsMaterial({ ca: join(pkiDir, 'ca', 'ca.crt'), cert: join(pkiDir, 'xsctl-controller.crt'), key: join(pkiDir, 'xsctl-controller.key') });
    const ch = createChannel(`${one[0].address}:${agentPort}`, mtlsChannelCredentials(ctlTls), { 'grpc.ssl_target_name_override': one[0].name, 'grpc.default_authority': one[0].name });
    const agent = createClientFactory().use(clientDeadlineMiddleware(120_000)).use(clientErrorMiddleware).create(PrecheckServiceDefinition, ch);
    await agent.run({ checks: [], bootDisk: '' });
    const agentRun = [];
    for (let i = 0; i < runs; i++) agentRun.push((await time(() => agent.run({ checks: [], bootDisk: '' }))).ms);
    ch.close();
    close();

    const fanMs = median(fan);
    const oneMs = median(solo);
    const cores = (await import('node:os')).cpus().length;
    // Roughly what the agents alone cost here: every agent's Run (as timed on its own) spread over
    // this machine's cores. On 64 dom0s they run side by side; here they queue for the same cores
    // (with the simulator and the controller), so the ratio cannot get much below this one here.
    const agentRunsPerCoreMs = (agents * median(agentRun)) / cores;
    const out = {
      benchmark: 'fanout',
      agents,
      agentsAnswered: agentsOk,
      findingsPerHost: last.r.hosts[0]?.findings.length ?? 0,
      runs,
      fanoutPoolPrecheckMs: round(fanMs),
      oneHostPoolPrecheckMs: round(oneMs),
      oneAgentRunMs: round(median(agentRun)),
      ratio: round(fanMs / oneMs, 2),
      ratioToAgentRun: round(fanMs / median(agentRun), 2),
      goal: { ratioAtMost: 2 },
      floorOnThisMachine: { agentRunsPerCoreMs: round(agentRunsPerCoreMs), ratio: round(agentRunsPerCoreMs / oneMs, 2) },
      pass: fanMs / oneMs <= 2 && agentsOk === agents,
      cold: { fanoutMs: round(coldFan.ms), oneHostMs: round(coldOne.ms) },
      samplesMs: { fanout: fan.map((x) => round(x)), oneHost: solo.map((x) => round(x)), agentRun: agentRun.map((x) => round(x)) },
      machine: { cores, loadAverage1m: round((await import('node:os')).loadavg()[0], 2) },
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    await Promise.all(sims.map((s) => s.close()));
  } finally {
    await stopAll();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:fanout failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
