import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { launchChromium, type Browser } from '../src/browser/launch-chromium.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The dashboard in a real browser (Debian's headless Chromium driven by playwright-core) against
 * the demo pool while a rolling upgrade runs: log in with a one-time link, every page loads
 * without console errors, the workflow timeline advances through server-sent events without a
 * reload, and a screenshot is kept in test/artifacts/. Assertions are on the DOM.
 */
const repo = join(import.meta.dirname, '..', '..');
const xsctlBin = join(repo, 'cli', 'bin', 'xsctl.js');
const artifacts = join(repo, 'test', 'artifacts');

let pool: SimulatedPool;
let browser: Browser;
let upgrade: ResultPromise | undefined;
const consoleErrors: string[] = [];

const xsctl = (args: string[], env: Record<string, string>) => execa(process.execPath, [xsctlBin, ...args], { env, reject: false });

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function watchConsole(page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
}

beforeAll(async () => {
  // Slower than the demo (300x) so the browser sees the run in progress on a loaded machine.
  process.env['XSCTL_SIM_CLOCK_FACTOR'] = '100';
  const dir = await tempDir('xsctl-e2e-dashboard-');
  pool = await startSimulatedPool({ dir, source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') }, http: true, agentPort: 20000 + ((process.pid + 11) % 20000) });
  browser = await launchChromium({ trustCertFile: join(pool.pkiDir, 'xsctl-controller.crt') });
  await mkdir(artifacts, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (upgrade !== undefined) {
    upgrade.kill('SIGTERM');
    await upgrade;
  }
  await pool?.stop();
  delete process.env['XSCTL_SIM_CLOCK_FACTOR'];
});

describe('dashboard in Chromium', () => {
  it('logs in with a one-time link, shows every page, and follows a rolling upgrade live', async () => {
    const link = await xsctl(['dashboard', 'open', '--viewer', '--json'], pool.viewerEnv);
    expect(link.exitCode, link.stderr).toBe(0);
    const { url, role } = JSON.parse(link.stdout) as { url: string; role: string };
    expect(role).toBe('viewer');

    const page = await browser.context.newPage();
    watchConsole(page);
    await page.goto(url);
    // The link redirected to the pools page with a session cookie.
    expect(new URL(page.url()).pathname).toBe('/');
    await expect(page.locator('h1').textContent()).resolves.toBe('Pools');
    expect(await page.locator('header .who').textContent()).toContain('demo-viewer (viewer, session)');
    await page.locator('section.card[data-pool="demo"] [data-field="hosts-live"]').filter({ hasText: '3/3' }).waitFor({ timeout: 20_000 });
    // The live badge turns on when the event stream is open.
    await page.locator('#live.on').waitFor({ timeout: 10_000 });

    // The link works once: a second browser page with it is refused.
    const second = await browser.context.newPage();
    const again = await second.goto(url);
    expect(again?.status()).toBe(401);
    expect(await second.locator('[data-problem]').getAttribute('data-problem')).toBe('already-used');
    await second.close();

    await page.goto(new URL('/hosts', url).href);
    await page.locator('tr[data-host]').nth(2).waitFor();
    expect(await page.locator('tr[data-host]').count()).toBe(3);
    expect(await page.locator('tr[data-host="xs-demo-1"] td').nth(1).textContent()).toBe('master');
    // Each agent answered and its certificate (valid for a year) was read from a TLS handshake.
    await eventually(async () => {
      await page.reload();
      return (await page.locator('tr[data-host] td[title]').count()) === 3;
    }, 45_000);
    // The days left on the certificate file the agent serves, read here from the file itself.
    const notAfter = Date.parse(new X509Certificate(await readFile(join(pool.pkiDir, 'xs-demo-2.crt'))).validTo);
    expect(await page.locator('tr[data-host="xs-demo-2"] td[title]').textContent()).toBe(`${Math.floor((notAfter - Date.now()) / 86_400_000)} d`);
    for (const name of ['Storage', 'Multipath']) {
      await page.goto(new URL(`/${name.toLowerCase()}`, url).href);
      expect(await page.locator('h1').textContent()).toBe(name);
    }
    expect(await page.locator('tr[data-sr="iscsi-shared"]').count()).toBe(3);

    // Start the upgrade (as the operator, from the CLI), then watch it in the browser.
    upgrade = execa(process.execPath, [xsctlBin, 'upgrade', '--rolling', '--pool', 'demo', '--action', 'simulated', '--override', 'VM_REQUIRES_SR', '--poll-interval', '100', '--yes', '--json'], { env: pool.operatorEnv, reject: false });
    await page.goto(new URL('/workflows', url).href);
    const row = page.locator('tr[data-workflow] a').first();
    await row.waitFor({ timeout: 60_000 });
    await row.click();
    await page.locator('ol.timeline').waitFor();
    expect(await page.locator('body').getAttribute('data-page')).toBe('workflow');
    const doneAt = async (): Promise<number> => Number(await page.locator('[data-field="steps-done"]').textContent());
    const first = await doneAt();
    // The timeline advances without a reload: the live script swaps <main> on workflow events.
    // (Polled from here: the page's CSP forbids the string evaluation waitForFunction would use.)
    await eventually(async () => (await doneAt()) > first + 2, 90_000);
    expect(Number(await page.locator('main').getAttribute('data-refreshes'))).toBeGreaterThan(0);
    const migrating = page.locator('table tr[data-step*=":migrate:"]');
    await migrating.first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(artifacts, 'dashboard-workflow-running.png'), fullPage: true });

    // Until the end: every host's enable step done, the state done, each step with an outcome.
    await page.locator('[data-field="state"]').filter({ hasText: /^done$/ }).waitFor({ timeout: 240_000 });
    const steps = page.locator('ol.timeline li[data-step]');
    const statuses = await steps.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 'done' && s !== 'compensated')).toEqual([]);
    expect(await page.locator('li[data-step$=":enable"]').count()).toBe(3);
    expect(await page.locator('[data-field="migrated"]').textContent()).toMatch(/^(\d+)\/\1 done/);
    await page.screenshot({ path: join(artifacts, 'dashboard-workflow-done.png'), fullPage: true });
    expect((await stat(join(artifacts, 'dashboard-workflow-done.png'))).size).toBeGreaterThan(10_000);

    const r = await upgrade;
    upgrade = undefined;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(consoleErrors).toEqual([]);
  }, 420_000);

  it('refuses a browser without a session or a certificate, and a forged link', async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    const base = `https://${pool.httpAddress?.replace(/^https?:\/\//, '') ?? ''}`;
    const res = await page.goto(`${base}/hosts`);
    expect(res?.status()).toBe(401);
    expect(await page.locator('h1').textContent()).toBe('Log in to the xsctl dashboard');
    const forged = await page.goto(`${base}/login?token=eyJuIjoibWFsbG9yeSIsInIiOiJvcGVyYXRvciIsImUiOjk5OTk5OTk5OTk5OTksImoiOiJ4In0.AAAA`);
    expect(forged?.status()).toBe(401);
    expect(await page.locator('[data-problem]').getAttribute('data-problem')).toBe('bad-signature');
  }, 60_000);
});
