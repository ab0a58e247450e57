import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { tempDir } from '@xsctl/common/testing/temp-dir';
import { Journal } from '../../journal/journal.js';
import { WorkflowEngine, type WorkflowContext, type WorkflowKind } from './workflow-engine.js';
import { WorkflowConflictError, WorkflowHalted } from './workflow-errors.js';

const logger = createLogger('test', { level: 'silent' });

/** A fake pool: the "real world" the steps change, which survives a controller crash. */
class World {
  ha = true;
  enabled: Record<string, boolean> = { a: true, b: true, c: true };
  version: Record<string, number> = { a: 1, b: 1, c: 1 };
  upgrades: Record<string, number> = { a: 0, b: 0, c: 0 };
  failOn: string | undefined;
  gate: Promise<void> | undefined;
}

function fakeKind(world: World): WorkflowKind {
  return {
    kind: 'fake-upgrade',
    async run(ctx: WorkflowContext) {
      await ctx.step('disable-ha', {
        check: async () => (world.ha ? undefined : { was: true }),
        run: async () => {
          world.ha = false;
          return { was: true };
        },
        compensation: () => ({ name: 'enable-ha', args: {} }),
      });
      for (const h of ['a', 'b', 'c']) {
        ctx.safePoint();
        await ctx.step(`disable:${h}`, {
          host: h,
          check: async () => (world.enabled[h] ? undefined : {}),
          run: async () => {
            world.enabled[h] = false;
            return {};
          },
          compensation: () => ({ name: `enable-host:${h}`, args: { host: h } }),
        });
        await ctx.step(`upgrade:${h}`, {
          host: h,
          intent: { to: 2 },
          check: async () => (world.version[h] === 2 ? { version: 2 } : undefined),
          run: async (io) => {
            if (world.gate !== undefined) await world.gate;
            if (io.signal.aborted) throw io.signal.reason;
            if (world.failOn === h) throw new Error(`${h} did not come back`);
            world.upgrades[h] = (world.upgrades[h] ?? 0) + 1;
            world.version[h] = 2;
            return { version: 2 };
          },
        });
        await ctx.step(`enable:${h}`, {
          host: h,
          check: async () => (world.enabled[h] ? {} : undefined),
          run: async () => {
            world.enabled[h] = true;
            return {};
          },
          releases: [`enable-host:${h}`],
        });
      }
      return { versions: { ...world.version } };
    },
    async compensate(name, args) {
      if (name === 'enable-ha') world.ha = true;
      else if (name.startsWith('enable-host:')) world.enabled[String(args['host'])] = true;
      else throw new Error(`unknown compensation ${name}`);
    },
  };
}

async function journalFile(): Promise<string> {
  return join(await tempDir('xsctl-wf-'), 'journal.sqlite');
}

describe('WorkflowEngine', () => {
  it('runs steps once, restores HA at the end, records intent and outcome', async () => {
    const world = new World();
    const journal = new Journal(':memory:');
    const engine = new WorkflowEngine({ journal, logger, kinds: [fakeKind(world)] });
    const wf = engine.start('fake-upgrade', 'p1', {}, 'alice');
    const done = await engine.wait(wf.id);
    expect(done.state).toBe('done');
    expect(done.result).toEqual({ versions: { a: 2, b: 2, c: 2 } });
    expect(world).toMatchObject({ ha: true, enabled: { a: true, b: true, c: true }, upgrades: { a: 1, b: 1, c: 1 } });
    const steps = engine.steps(wf.id);
    expect(steps.map((s) => s.name)).toEqual(['disable-ha', 'disable:a', 'upgrade:a', 'enable:a', 'disable:b', 'upgrade:b', 'enable:b', 'disable:c', 'upgrade:c', 'enable:c']);
    expect(steps.every((s) => s.status === 'done' && s.finishedAt !== '')).toBe(true);
    expect(engine.store.compensations(wf.id).map((c) => [c.name, c.status])).toEqual([
      ['enable-ha', 'done'],
      ['enable-host:a', 'released'],
      ['enable-host:b', 'released'],
      ['enable-host:c', 'released'],
    ]);
    const kinds = engine.events(wf.id).map((e) => e.kind);
    expect(kinds[0]).toBe('workflow-started');
    expect(kinds.at(-1)).toBe('workflow-finished');
  });

  it('refuses a second workflow on the same pool while one is active', async () => {
    const world = new World();
    let release!: () => void;
    world.gate = new Promise((r) => (release = r));
    const engine = new WorkflowEngine({ journal: new Journal(':memory:'), logger, kinds: [fakeKind(world)] });
    const wf = engine.start('fake-upgrade', 'p1', {}, 'alice');
    expect(() => engine.start('fake-upgrade', 'p1', {}, 'bob')).toThrow(WorkflowConflictError);
    const other = engine.start('fake-upgrade', 'p2', {}, 'bob');
    release();
    expect((await engine.wait(wf.id)).state).toBe('done');
    expect((await engine.wait(other.id)).state).toBe('done');
    const again = engine.start('fake-upgrade', 'p1', {}, 'carol');
    expect((await engine.wait(again.id)).state).toBe('done');
  });

  it('pauses at a safe point and resumes where it stopped', async () => {
    const world = new World();
    let release!: () => void;
    world.gate = new Promise((r) => (release = r));
    const engine = new WorkflowEngine({ journal: new Journal(':memory:'), logger, kinds: [fakeKind(world)] });
    const wf = engine.start('fake-upgrade', 'p1', {}, 'alice');
    await new Promise((r) => setTimeout(r, 20));
    engine.pause(wf.id);
    release();
    const paused = await engine.wait(wf.id);
    expect(paused.state).toBe('paused');
    expect(world.version).toEqual({ a: 2, b: 1, c: 1 });
    expect(world.enabled).toEqual({ a: true, b: true, c: true });
    expect(world.ha).toBe(false);
    engine.resume(wf.id);
    expect((await engine.wait(wf.id)).state).toBe('done');
    expect(world.upgrades).toEqual({ a: 1, b: 1, c: 1 });
    expect(world.ha).toBe(true);
  });

  it('abort runs the compensations in reverse order', async () => {
    const world = new World();
    let release!: () => void;
    world.gate = new Promise((r) => (release = r));
    const engine = new WorkflowEngine({ journal: new Journal(':memory:'), logger, kinds: [fakeKind(world)] });
    const wf = engine.start('fake-upgrade', 'p1', {}, 'alice');
    await new Promise((r) => setTimeout(r, 20));
    engine.abort(wf.id);
    release();
    const end = await engine.wait(wf.id);
    expect(end.state).toBe('aborted');
    expect(world.ha).toBe(true);
    expect(world.enabled).toEqual({ a: true, b: true, c: true });
    expect(world.version.a).toBe(1);
    const comp = engine.events(wf.id).filter((e) => e.kind === 'compensation-done').map((e) => e.data['name']);
    expect(comp).toEqual(['enable-host:a', 'enable-ha']);
  });

  it('a failure stops the run with the compensations done; resume continues after the fix', async () => {
    const world = new World();
    world.failOn = 'b';
    const engine = new WorkflowEngine({ journal: new Journal(':memory:'), logger, kinds: [fakeKind(world)] });
    const wf = engine.start('fake-upgrade', 'p1', {}, 'alice');
    const failed = await engine.wait(wf.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/b did not come back/);
    expect(world).toMatchObject({ ha: true, enabled: { a: true, b: true, c: true }, version: { a: 2, b: 1, c: 1 } });
    // The pool is free for the admin; a resumed run redoes the compensated steps.
    world.failOn = undefined;
    engine.resume(wf.id);
    expect((await engine.wait(wf.id)).state).toBe('done');
    expect(world).toMatchObject({ ha: true, enabled: { a: true, b: true, c: true }, upgrades: { a: 1, b: 1, c: 1 } });
  });

  it('survives a crash at every journal boundary: same end state, nothing repeated', async () => {
    // Count the boundaries of a clean run.
    let total = 0;
    {
      const engine = new WorkflowEngine({ journal: new Journal(':memory:'), logger, kinds: [fakeKind(new World())], onStepWrite: (n) => (total = n) });
      const wf = engine.start('fake-upgrade', 'p1', {}, 'alice');
      await engine.wait(wf.id);
    }
    expect(total).toBe(20);
    for (let n = 1; n <= total; n++) {
      const world = new World();
      const file = await journalFile();
      const j1 = new Journal(file);
      const first = new WorkflowEngine({
        journal: j1,
        logger,
        kinds: [fakeKind(world)],
        onStepWrite: (count) => {
          if (count === n) throw new WorkflowHalted('crash');
        },
      });
      const wf = first.start('fake-upgrade', 'p1', {}, 'alice');
      const crashed = await first.wait(wf.id);
      expect(crashed.state, `crash after write ${n}`).toBe('running');
      j1.close();

      const j2 = new Journal(file);
      const second = new WorkflowEngine({ journal: j2, logger, kinds: [fakeKind(world)] });
      expect(second.resumeAll()).toEqual([wf.id]);
      const end = await second.wait(wf.id);
      expect(end.state, `crash after write ${n}`).toBe('done');
      expect(world.upgrades, `crash after write ${n}`).toEqual({ a: 1, b: 1, c: 1 });
      expect(world.ha).toBe(true);
      expect(world.enabled).toEqual({ a: true, b: true, c: true });
      j2.close();
    }
  });
});
