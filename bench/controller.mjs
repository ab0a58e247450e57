#!/usr/bin/env node
// Controller scale benchmark: prints JSON. One controller process follows 50 simulated pools of
// 16 hosts and 40 VMs each through XAPI event.from (the XAPI simulators run in this process, one
// HTTP server per pool), and serves the dashboard's event stream (/events), which this process
// reads as a CLI user. Then, pool after pool, a host is disabled or enabled through XAPI
// (host.disable/host.enable) and the time until that change shows up on the event stream is taken:
//   lag = from just before the XAPI call is sent to the `pool` event that carries the change
// (so it includes the XAPI call itself). Also a burst: one change in every pool at once.
// RSS is the controller's resident set (VmRSS, and the peak VmHWM) after the run.
// Goals: RSS <= 400 MB, lag <= 1 s (p95 and max reported).
// Agent probing is off (no agents run here; host addresses are on 127.3.x.y and nothing listens).
// Usage: npm run build && npm run bench:controller [-- --pools 50 --hosts 16 --vms 40 --changes 200]
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { startXapiSimulator } from '@xsctl/test/xapi-sim/index';
import { XapiClient } from '@xsctl/controller/xapi/index';
import { issueCertificate, loadTlsMaterial } from '@xsctl/common/pki/index';
import { benchDir, inBatches, percentile, median, round, startController } from './lib/harness.mjs';

const { values } = parseArgs({ options: { pools: { type: 'string', default: '50' }, hosts: { type: 'string', default: '16' }, vms: { type: 'string', default: '40' }, changes: { type: 'string', default: '200' } } });
const poolCount = Number(values.pools);
const hostCount = Number(values.hosts);
const vmCount = Number(values.vms);
const changes = Number(values.changes);
const credentials = { user: 'root', password: 'bench-password' };

function description(p) {
  const name = `p${String(p).padStart(2, '0')}`;
  const hosts = Array.from({ length: hostCount }, (_, h) => ({ name: `${name}-h${String(h + 1).padStart(2, '0')}`, address: `127.3.${p}.${h + 1}`, version: '8.2.1', brand: 'XCP-ng', memoryGiB: 256, cpus: 32, hotfixes: ['XS82E001'] }));
  return {
    pool: { name, master: hosts[0].name },
    hosts,
    srs: [{ name: `${name}-iscsi`, type: 'lvmoiscsi', shared: true, sizeGiB: 8192 }],
    vms: Array.from({ length: vmCount }, (_, v) => ({ name: `${name}-vm${v}`, memoryGiB: 4, vcpus: 2, host: hosts[v % hostCount].name, disks: [{ sr: `${name}-iscsi`, sizeGiB: 20 }] })),
  };
}

/** The dashboard's event stream, parsed; `onPool` gets each pool event's data. */
function openEvents(url, tls, onPool) {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: tls.ca, cert: tls.cert, key: tls.key, servername: 'localhost', headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`/events answered ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (!block.startsWith('event: pool')) continue;
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data !== undefined) onPool(JSON.parse(data), performance.now());
        }
      });
      resolve(() => req.destroy());
    });
    req.on('error', reject);
    req.end();
  });
}

async function rssOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: round(kb('VmRSS') / 1024), peakMB: round(kb('VmHWM') / 1024) };
}

async function main() {
  const { dir, pkiDir } = await benchDir('controller');
  const sims = await inBatches(Array.from({ length: poolCount }, (_, i) => i + 1), 8, (p) => startXapiSimulator({ source: { description: description(p) }, credentials }));
  let ctl;
  try {
    ctl = await startController(dir, pkiDir, {
      http: { listen: '127.0.0.1:0' },
      watch: { xapiEvents: true, agentProbeSeconds: 0 },
      pools: sims.map((s, i) => ({ name: `p${String(i + 1).padStart(2, '0')}`, xapi: { url: s.url, user: credentials.user, password: credentials.password, allowPlainHttp: true } })),
    });
    const tls = await loadTlsMaterial(await issueCertificate(pkiDir, { kind: 'cli', name: 'bench-viewer', role: 'viewer' }));
    // Latest state per pool as the stream told it, and waiters for a given host state.
    const latest = new Map();
    const waiters = new Set();
    const close = await openEvents(`${ctl.http}/events`, tls, (data, at) => {
      latest.set(data.pool, data);
      for (const w of waiters) w(data, at);
    });
    // Every pool read in full (its first snapshot) before measuring.
    const t0 = performance.now();
    while ([...latest.values()].filter((d) => d.connected && d.hosts.length === hostCount).length < poolCount) {
      if (performance.now() - t0 > 300_000) throw new Error(`only ${latest.size} pools on the stream after 300 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const warmMs = performance.now() - t0;
    const clients = await inBatches(sims, 8, (s) => XapiClient.connect({ url: s.url, ...credentials, allowPlainHttp: true }));
    const hostRefs = await Promise.all(clients.map(async (c) => [...(await c.getAllRecords('host'))].map(([ref, h]) => ({ ref, name: h.name_label, enabled: h.enabled }))));

    /** Flips one host and resolves with the lag until the stream shows it. */
    const change = (p, h) => {
      const pool = `p${String(p + 1).padStart(2, '0')}`;
      const host = hostRefs[p][h];
      const want = !host.enabled;
      host.enabled = want;
      return new Promise((resolve, reject) => {
        const started = performance.now();
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`${pool}/${host.name}: no event within 30 s`));
        }, 30_000);
        const w = (data, at) => {
          if (data.pool !== pool || data.hosts.find((x) => x.name === host.name)?.enabled !== want) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolve(at - started);
        };
        waiters.add(w);
        clients[p].call(want ? 'host.enable' : 'host.disable', [host.ref]).catch(reject);
      });
    };

    // Steady: one change at a time, across the pools in turn.
    const steady = [];
    for (let i = 0; i < changes; i++) {
      steady.push(await change(i % poolCount, (i * 7) % hostCount));
      await new Promise((r) => setTimeout(r, 20));
    }
    // Burst: a change in every pool at the same moment, three times.
    const burst = [];
    for (let k = 0; k < 3; k++) burst.push(...(await Promise.all(Array.from({ length: poolCount }, (_, p) => change(p, (k * 5 + 3) % hostCount)))));
    const rss = await rssOf(ctl.pid);
    close();
    await Promise.all(clients.map((c) => c.close()));
    const all = [...steady, ...burst];
    const out = {
      benchmark: 'controller',
      pools: poolCount,
      hostsPerPool: hostCount,
      vmsPerPool: vmCount,
      firstSnapshotOfAllPoolsMs: round(warmMs),
      controllerRssMB: rss.rssMB,
      controllerPeakRssMB: rss.peakMB,
      lagMs: {
        steady: { samples: steady.length, p50: round(median(steady)), p95: round(percentile(steady, 95)), max: round(Math.max(...steady)) },
        burst: { samples: burst.length, p50: round(median(burst)), p95: round(percentile(burst, 95)), max: round(Math.max(...burst)) },
      },
      goal: { rssMBAtMost: 400, lagMsAtMost: 1000 },
      pass: rss.peakMB <= 400 && Math.max(...all) <= 1000,
      machine: { cores: (await import('node:os')).cpus().length, loadAverage1m: round((await import('node:os')).loadavg()[0], 2) },
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await ctl?.proc.stop();
    await Promise.all(sims.map((s) => s.close()));
  }
}

main().catch((err) => {
  process.stderr.write(`bench:controller failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
