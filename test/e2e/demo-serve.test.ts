import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { XapiClient } from '@xsctl/controller/xapi/index';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * `npm run demo -- --serve`: the demo's pool, agents and controller stay up; the login link is
 * printed on a `dashboard: ` line; the dashboard's event stream shows a change made in XAPI;
 * /metrics counts what the demo did; SIGTERM stops every process it started.
 */
const repo = join(import.meta.dirname, '..', '..');
let demo: ResultPromise | undefined;

afterAll(async () => {
  if (demo !== undefined && demo.exitCode === null) {
    demo.kill('SIGKILL');
    await demo;
  }
});

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, ca: Buffer, cookie = ''): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: cookie === '' ? {} : { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Server-sent events as they arrive, parsed. */
function events(url: string, ca: Buffer, cookie: string, onEvent: (name: string, data: Record<string, unknown>) => void): () => void {
  const req = request(url, { ca, headers: { cookie, accept: 'text/event-stream' } }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name !== undefined && data !== undefined) onEvent(name, JSON.parse(data) as Record<string, unknown>);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return () => req.destroy();
}

const refused = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

describe('npm run demo -- --serve', () => {
  it('serves the dashboard until SIGTERM, then stops everything', async () => {
    const dir = await tempDir('xsctl-e2e-demo-serve-');
    const agentPort = 20000 + ((process.pid + 23) % 20000);
    demo = execa(process.execPath, [join(repo, 'test', 'dist', 'bin', 'xsctl-demo.js'), '--serve'], { env: { XSCTL_DEMO_DIR: dir, XSCTL_DEMO_AGENT_PORT: String(agentPort) }, reject: false, all: false });
    const stderr: string[] = [];
    createInterface({ input: demo.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: demo!.stdout as NodeJS.ReadableStream }).on('line', (l) => {
        if (l.startsWith('dashboard: ')) resolve(l.slice('dashboard: '.length));
      });
      void demo!.then((r) => reject(new Error(`demo exited ${r.exitCode}: ${stderr.join('\n')}`)));
    });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/login\?token=[\w-]+\.[\w-]+$/);
    const ca = await readFile(join(dir, 'pki', 'ca', 'ca.crt'));
    const login = await get(url, ca);
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0] ?? '';
    expect(cookie).toMatch(/^xsctl_session=/);

    // Wait for the demo's own upgrade to end; then change the pool through XAPI and see it on the stream.
    await expect.poll(() => stderr.some((l) => l.includes('serving: the pool, agents and controller keep running')), { timeout: 240_000, interval: 500 }).toBe(true);
    const seen: Array<{ at: number; data: Record<string, unknown> }> = [];
    const close = events(new URL('/events', url).href, ca, cookie, (name, data) => {
      if (name === 'pool') seen.push({ at: Date.now(), data });
    });
    const config = JSON.parse(await readFile(join(dir, 'controller.yaml'), 'utf8')) as { pools: Array<{ xapi: { url: string } }> };
    const xapi = await XapiClient.connect({ url: config.pools[0]?.xapi.url ?? '', user: 'root', password: 'demo-password', allowPlainHttp: true });
    const hosts = await xapi.getAllRecords('host');
    const [ref] = [...hosts].find(([, h]) => h.name_label === 'xs-demo-2') ?? [];
    await new Promise((r) => setTimeout(r, 500));
    await xapi.call('host.disable', [ref as never]);
    const enabledOf = (d: Record<string, unknown>) => (d['hosts'] as Array<{ name: string; enabled: boolean }>).find((h) => h.name === 'xs-demo-2')?.enabled;
    await expect.poll(() => seen.some((e) => enabledOf(e.data) === false), { timeout: 10_000, interval: 100 }).toBe(true);
    await xapi.call('host.enable', [ref as never]);
    await expect.poll(() => seen.filter((e) => enabledOf(e.data) === false).length > 0 && enabledOf(seen[seen.length - 1]!.data) === true, { timeout: 10_000, interval: 100 }).toBe(true);
    await xapi.close();
    close();

    // The demo ran one rolling upgrade to the end: the histogram has one observation.
    const metrics = await get(new URL('/metrics', url).href, ca, cookie);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^xsctl_workflow_duration_seconds_count\{kind="rolling-upgrade",state="done"\} 1$/m);
    expect(metrics.body).toMatch(/^xsctl_host_up\{pool="demo",host="xs-demo-1",view="xapi"\} 1$/m);
    expect(metrics.body).toMatch(/^xsctl_workflow_step_duration_seconds_count\{kind="rolling-upgrade",phase="enable",status="done"\} 3$/m);

    const controllerPort = Number(new URL(url).port);
    demo.kill('SIGTERM');
    const r = await demo;
    expect(r.exitCode, stderr.join('\n')).toBe(0);
    expect(stderr.join('\n')).toContain('SIGTERM: stopping the controller, agents and XAPI simulator');
    expect(await refused('127.0.0.1', controllerPort)).toBe(true);
    for (const a of ['127.0.0.11', '127.0.0.12', '127.0.0.13']) expect(await refused(a, agentPort)).toBe(true);
  }, 360_000);
});
