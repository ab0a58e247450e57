import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa, issueCertificate } from '@xsctl/common/pki/index';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

function httpsGet(url: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ...tls, servername: 'xsctl-controller' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const repo = join(import.meta.dirname, '..', '..');
const demoPool = join(repo, 'test', 'fixtures', 'demo-pool.yaml');
let pool: SimulatedPool;
// Per run, so that two runs on one machine do not share an agent port.
const agentPort = 20000 + (process.pid % 20000);

// `npx xsctl` exactly as an admin runs it from the repo root.
const xsctl = (args: string[], env: Record<string, string>) =>
  execa('npx', ['--no-install', 'xsctl', ...args], { cwd: repo, env: { ...env, PATH: process.env['PATH'] ?? '' }, extendEnv: false, reject: false });

beforeAll(async () => {
  const dir = await tempDir('xsctl-e2e-hosts-');
  pool = await startSimulatedPool({ dir, source: { pool: demoPool }, withoutAgents: ['xs-demo-3'], agentPort, http: true });
}, 120_000);

afterAll(async () => {
  await pool?.stop();
});

describe('xsctl hosts against a running controller', () => {
  it('merges XAPI records with agent facts and shows an unreachable agent as such', async () => {
    const r = await xsctl(['hosts', '--json'], pool.operatorEnv);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { hosts: { pool: string; xapi: Record<string, unknown>; agent: Record<string, unknown>; mismatches: string[] }[]; poolErrors: unknown[] };
    expect(out.poolErrors).toEqual([]);
    expect(out.hosts.map((h) => h.xapi['nameLabel'])).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
    const [master, slave, down] = out.hosts;
    expect(master?.xapi['isMaster']).toBe(true);
    expect(master?.agent['state']).toBe('ok');
    expect(master?.agent['poolRole']).toBe('master');
    expect(master?.agent['productVersion']).toBe(master?.xapi['productVersion']);
    expect(master?.agent['hostname']).toBe('xs-demo-1');
    expect(master?.mismatches).toEqual([]);
    expect(slave?.agent['poolRole']).toBe('slave');
    expect(slave?.agent['masterAddress']).toBe('127.0.0.11');
    expect(slave?.agent['endpoint']).toBe(`127.0.0.12:${String(agentPort)}`);
    expect(down?.agent['state']).toBe('unreachable');
    expect(down?.agent['errorCode']).toBe('GRPC_UNAVAILABLE');
    expect(down?.xapi['live']).toBe(true);
    expect(Number(master?.xapi['residentVms'])).toBeGreaterThan(0);
  });

  it('prints a table for people, and viewers may read', async () => {
    const r = await xsctl(['hosts'], pool.viewerEnv);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^POOL\s+HOST\s+ADDRESS/);
    expect(r.stdout).toMatch(/demo\s+xs-demo-1\s+127\.0\.0\.11\s+master/);
    expect(r.stdout).toMatch(/xs-demo-3 .* unreachable/);
    expect(r.stderr).toContain('asking the controller');
  });

  it('serves the same view read-only over HTTP', async () => {
    const base = pool.httpAddress ?? '';
    expect(base).toMatch(/^https:\/\//);
    const tls = { ca: await readFile(pool.viewerEnv['XSCTL_CA'] ?? ''), cert: await readFile(pool.viewerEnv['XSCTL_CERT'] ?? ''), key: await readFile(pool.viewerEnv['XSCTL_KEY'] ?? '') };
    const health = JSON.parse((await httpsGet(`${base}/healthz`, tls)).body) as { status: string; pools: { pool: string }[] };
    expect(health.status).toBe('ok');
    expect(health.pools.map((p) => p.pool)).toEqual(['demo']);
    const api = JSON.parse((await httpsGet(`${base}/api/hosts`, tls)).body) as { hosts: { xapi: { nameLabel: string } }[] };
    expect(api.hosts.map((h) => h.xapi.nameLabel)).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
    // The hosts page renders the pool watcher's view, which fills in once XAPI's events arrive.
    let page = '';
    for (let i = 0; i < 30 && !page.includes('data-host="xs-demo-3"'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 500));
      page = (await httpsGet(`${base}/hosts`, tls)).body;
    }
    expect(page).toContain('<td>xs-demo-2</td>');
    // xs-demo-3 runs no agent: its row is flagged whatever the probe has seen so far.
    expect(page).toMatch(/<tr class="bad" data-host="xs-demo-3">/);
    expect((await httpsGet(`${base}/metrics`, tls)).body).toMatch(/^xsctl_pool_watch_connected\{pool="demo"\} [01]$/m);
    expect((await httpsGet(`${base}/api/hosts`, tls, 'POST')).status).toBe(404);
    // No client certificate and no dashboard session: refused (TLS lets the browser in to log in).
    expect((await httpsGet(`${base}/healthz`, { ca: tls.ca })).status).toBe(401);
    expect((await httpsGet(`${base}/api/hosts`, { ca: tls.ca })).status).toBe(401);
  });

  it('explains a certificate from another CA', async () => {
    const other = await tempDir('xsctl-other-ca-');
    await initCa(other);
    const foreign = await issueCertificate(other, { kind: 'cli', name: 'mallory', role: 'operator' });
    const r = await xsctl(['hosts'], { ...pool.operatorEnv, XSCTL_CERT: foreign.cert, XSCTL_KEY: foreign.key });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/TLS handshake with the controller at 127\.0\.0\.1:\d+ failed/);
    expect(r.stderr).toContain('hint:');
  });

  it('explains an unreachable controller', async () => {
    const r = await xsctl(['hosts'], { ...pool.operatorEnv, XSCTL_CONTROLLER: '127.0.0.1:1' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/cannot reach the controller at 127\.0\.0\.1:1/);
    expect(r.stderr).toContain('is xsctl-controller running?');
  });
});
