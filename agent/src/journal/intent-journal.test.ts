import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageRole, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { storageSpec } from '@xsctl/test/storage/storage-spec';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { recoverIntents } from './intent-journal.js';

/**
 * Crash recovery, tested by killing a real child process (SIGKILL, nothing runs after it) at each
 * boundary of an operation, then running the recovery the next agent start runs.
 */
const dist = (p: string) => fileURLToPath(new URL(`../../dist/${p}`, import.meta.url));
const logger = pino({ level: 'silent' });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-intent-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts `script` (ESM) in a child; resolves when the marker file says the child reached `point`. */
async function runUntil(script: string, marker: string, point: string): Promise<{ child: ResultPromise }> {
  const child = execa(process.execPath, ['--input-type=module', '-e', script], { reject: false, timeout: 60_000 });
  for (let i = 0; i < 1200; i++) {
    const seen = await readFile(marker, 'utf8').catch(() => '');
    // Wrapped: an async function would wait for a returned subprocess (it is a thenable).
    if (seen.split('\n').includes(point)) return { child };
    if (child.exitCode !== null && child.exitCode !== undefined) break;
    await sleep(25);
  }
  child.kill('SIGKILL');
  const r = await child;
  throw new Error(`child never reached ${point}: ${String(r.stderr).slice(-1500)}`);
}

async function kill(child: ResultPromise): Promise<void> {
  child.kill('SIGKILL');
  const r = await child;
  expect(r.signal).toBe('SIGKILL');
}

const ctxOf = (root: string): AgentContext => ({ root: new SandboxRoot(root), runner: {} as CommandRunner, logger, stateDir: '/var/lib/xsctl-agent' });

describe('records a host crash tore', () => {
  it('an empty or zero-filled record (a rename that reached the disk before its data) is removed; a foreign file stays', async () => {
    const root = await mkdtemp(join(dir, 'torn-'));
    const intents = join(root, 'var/lib/xsctl-agent/intents');
    await mkdir(intents, { recursive: true });
    await writeFile(join(intents, 'a.json'), '');
    await writeFile(join(intents, 'b.json'), Buffer.alloc(183));
    await writeFile(join(intents, 'c.json'), 'not a record\n');
    expect(await recoverIntents(ctxOf(root))).toEqual([]);
    expect((await readdir(intents)).sort()).toEqual(['c.json']);
  });
});

describe('multipath.conf written, killed before its check: rolled back on the next start', () => {
  const old = 'defaults {\n\tuser_friendly_names no\n}\n';

  /** An XS7 sandbox; the child applies a profile with a multipath -t stub that stops at call N. */
  async function scenario(name: string, noCandidateCheck: boolean) {
    const root = join(dir, name);
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/xensource-inventory'), "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.2'\n");
    await writeFile(join(root, 'etc/multipath.conf'), old);
    const marker = join(root, 'marker');
    const script = (stopAt: number) => `
      import { appendFileSync } from 'node:fs';
      const keepAlive = setInterval(() => {}, 1000); // a stopped step waits on a promise alone
      const { SandboxRoot } = await import(${JSON.stringify(dist('fs/sandbox-root.js'))});
      const { applyProfile } = await import(${JSON.stringify(dist('multipath/apply-profile.js'))});
      const { readPlatform } = await import(${JSON.stringify(dist('multipath/platform.js'))});
      const { findProfile } = await import(${JSON.stringify(dist('multipath/profiles.js'))});
      const { pino } = await import('pino');
      let n = 0;
      const runner = { async run(command, args) {
        // Staged candidate files: the namespace for the check before the write cannot be made (no CAP_SYS_ADMIN).
        if (command === 'unshare' && ${JSON.stringify(noCandidateCheck)} && String(args[args.length - 3]).includes('/candidate-')) throw new Error('unshare: unshare failed: Operation not permitted');
        if (command === 'unshare') {
          n++;
          appendFileSync(${JSON.stringify(marker)}, 'check' + n + '\\n');
          if (n === ${stopAt}) await new Promise(() => {});
        }
        return { command, args, exitCode: 0, stdout: '', stderr: '', durationMs: 1 };
      } };
      const ctx = { root: new SandboxRoot(${JSON.stringify(root)}), runner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl-agent' };
      const platform = await readPlatform(ctx.root, runner);
      await applyProfile(ctx, platform, { profile: findProfile('euronas-essm'), confirm: true, skipReconfigure: true });
      appendFileSync(${JSON.stringify(marker)}, 'done\\n');
      clearInterval(keepAlive);
    `;
    return { root, marker, script };
  }

  // No namespace for the candidate: baseline, write, check. Else: baseline, candidate, write, check.
  it.each([
    ['no candidate check', true, 1, 'killed in the baseline check'],
    ['no candidate check', true, 2, 'killed in the check after the write'],
    ['candidate check', false, 1, 'killed in the baseline check'],
    ['candidate check', false, 2, 'killed in the candidate check'],
    ['candidate check', false, 3, 'killed in the check after the write'],
  ])('%s, %s: stop at check %i (%s)', async (label, noCandidateCheck, stopAt) => {
    const s = await scenario(`${label.replaceAll(' ', '-')}-${stopAt}`, noCandidateCheck);
    const { child } = await runUntil(s.script(stopAt), s.marker, `check${stopAt}`);
    const during = await readFile(join(s.root, 'etc/multipath.conf'), 'utf8');
    await kill(child);
    const recovered = await recoverIntents(ctxOf(s.root));
    const after = await readFile(join(s.root, 'etc/multipath.conf'), 'utf8');
    expect(after).toBe(old);
    const wasWritten = during !== old;
    // Written before the kill only at the check after the write; then the record puts it back.
    expect(wasWritten).toBe(stopAt === (noCandidateCheck ? 2 : 3));
    expect(recovered.map((r) => r.action)).toEqual(wasWritten ? ['restored'] : []);
    expect(await readdir(join(s.root, 'var/lib/xsctl-agent/intents')).then((n) => n.filter((x) => x.endsWith('.json'))).catch(() => [])).toEqual([]);
  }, 60_000);

  it('a confirmed write stays: no record is left for recovery to act on', async () => {
    const s = await scenario('confirmed', false);
    const { child } = await runUntil(s.script(99), s.marker, 'done');
    await child;
    expect(await recoverIntents(ctxOf(s.root))).toEqual([]);
    expect(await readFile(join(s.root, 'etc/multipath.conf'), 'utf8')).toContain('eSSM');
  }, 60_000);
});

describe('storage role change killed between steps: torn down to slave on the next start', () => {
  const spec = storageSpec({ target: { initiatorAddresses: ['10.10.10.0/24'], incomingUser: { user: 'xsinit', password: 'Xs-CHAP-secret-42' } }, floatingIp: { interface: 'eth0' } });
  const steps = ['drbd-primary:iscsi1', 'tgtd', 'target', 'floating-ip', 'garp'];

  const script = (root: string, marker: string, role: StorageRole, stopAt: number) => `
    import { appendFileSync } from 'node:fs';
    const keepAlive = setInterval(() => {}, 1000);
    const { SandboxRoot } = await import(${JSON.stringify(dist('fs/sandbox-root.js'))});
    const { runRoleSteps } = await import(${JSON.stringify(dist('storage/assert-role.js'))});
    const { pino } = await import('pino');
    const ctx = { root: new SandboxRoot(${JSON.stringify(root)}), runner: {}, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl-agent' };
    const steps = ${JSON.stringify(steps)}.map((name, i) => ({ name, async run() {
      appendFileSync(${JSON.stringify(marker)}, 'step' + i + '\\n');
      if (i === ${stopAt}) await new Promise(() => {});
      return { outcome: 2 /* DONE */, detail: 'done' };
    } }));
    await runRoleSteps(ctx, ${role}, ${JSON.stringify(spec)}, steps, false);
    appendFileSync(${JSON.stringify(marker)}, 'done\\n');
    clearInterval(keepAlive);
  `;

  it.each<[StorageRole, number]>([
    ...steps.map((_, k): [StorageRole, number] => [StorageRole.STORAGE_ROLE_MASTER, k]),
    [StorageRole.STORAGE_ROLE_SLAVE, 0],
    [StorageRole.STORAGE_ROLE_SLAVE, 2],
  ])('role %i killed at step %i', async (role, stopAt) => {
    const root = join(dir, `role-${role}-${stopAt}`);
    await mkdir(root, { recursive: true });
    const marker = join(root, 'marker');
    const { child } = await runUntil(script(root, marker, role, stopAt), marker, `step${stopAt}`);
    await kill(child);
    const torn: StorageSpec[] = [];
    const recovered = await recoverIntents(ctxOf(root), { tearDown: async (s) => (torn.push(s), 'torn down') });
    expect(recovered).toHaveLength(1);
    const r = recovered[0]!;
    // The record follows the steps until the first one changed something (assert-role.ts), then
    // stays: it names the first change, which alone decides the tear-down.
    expect(r.intent).toMatchObject({ kind: 'storage-role', role, step: steps[0], changed: steps.slice(0, Math.min(stopAt, 1)) });
    // A master assertion that had changed nothing is left alone; anything else ends as slave.
    const expectTearDown = role === StorageRole.STORAGE_ROLE_SLAVE || stopAt > 0;
    expect(r.action).toBe(expectTearDown ? 'torn-down' : 'nothing-changed');
    expect(torn).toHaveLength(expectTearDown ? 1 : 0);
    if (expectTearDown) expect(torn[0]).toEqual({ ...spec, target: { ...spec.target!, incomingUser: undefined } });
    // The secret never reached the record.
    expect(JSON.stringify(r.intent)).not.toContain('Xs-CHAP-secret-42');
    expect(await recoverIntents(ctxOf(root), { tearDown: async () => 'again' })).toEqual([]);
  }, 60_000);

  it('a role change that ran to its end (even with a failed step) leaves no record', async () => {
    const root = join(dir, 'role-complete');
    await mkdir(root, { recursive: true });
    const marker = join(root, 'marker');
    const { child } = await runUntil(script(root, marker, StorageRole.STORAGE_ROLE_MASTER, 99), marker, 'done');
    await child;
    expect(await recoverIntents(ctxOf(root), { tearDown: async () => 'x' })).toEqual([]);
  }, 60_000);
});
