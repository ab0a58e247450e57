import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { NotFoundError } from '@xsctl/common/errors/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { tempDir } from '@xsctl/common/testing/temp-dir';
import { Journal } from '../../journal/journal.js';
import { WorkflowEngine, type WorkflowContext, type WorkflowEvent, type WorkflowKind } from './workflow-engine.js';
import { WorkflowHalted, WorkflowStateError } from './workflow-errors.js';

/**
 * The engine's resume decisions (resume, abort, resumeAll) and what a workflow's context does with
 * the journal, each on a scripted workflow whose expected journal follows from the script alone.
 */
const logger = createLogger('test', { level: 'silent' });

interface Script {
  run: (ctx: WorkflowContext) => Promise<unknown>;
  compensated: string[];
}

function scripted(script: Script, kind = 'script'): WorkflowKind {
  return {
    kind,
    run: (ctx) => script.run(ctx),
    async compensate(name) {
      script.compensated.push(name);
    },
  };
}

/** A gate a step waits on; it also gives way when the step's signal aborts (abort, shutdown). */
function gate(): { wait: (signal: AbortSignal) => Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return {
    open,
    wait: (signal) =>
      Promise.race([
        opened,
        new Promise<void>((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
      ]),
  };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
/** An engine over a journal in memory (or in `file`, shared by two engines: two controllers) running `script`. */
const engineOf = (script: Script, file = ':memory:'): WorkflowEngine => new WorkflowEngine({ journal: new Journal(file), logger, kinds: [scripted(script)] });
/** Pauses a workflow while its step waits on `g`, then lets the step finish: the row it ends with. */
const pauseAtGate = async (engine: WorkflowEngine, id: string, g: ReturnType<typeof gate>) => {
  await tick();
  engine.pause(id);
  g.open();
  return engine.wait(id);
};
const journalFile = async (): Promise<string> => join(await tempDir('xsctl-wf-resume-'), 'journal.sqlite');
const kinds = (engine: WorkflowEngine, id: string): string[] => engine.events(id).map((e) => e.kind);
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
  }
  return 'no error';
};

describe('resume', () => {
  it('refuses a workflow running in this process and a finished one; abort refuses a finished one', async () => {
    const g = gate();
    const script: Script = { compensated: [], run: async (ctx) => ctx.step('s1', { run: async (io) => (await g.wait(io.signal), { ok: true }) }) };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', {}, 'alice');
    await tick();
    expect(message(() => engine.resume(wf.id))).toBe(`WorkflowStateError: workflow ${wf.id} is running: cannot resume`);
    g.open();
    expect((await engine.wait(wf.id)).state).toBe('done');
    expect(message(() => engine.resume(wf.id))).toBe(`WorkflowStateError: workflow ${wf.id} is done: cannot resume`);
    expect(message(() => engine.abort(wf.id))).toBe(`WorkflowStateError: workflow ${wf.id} is done: cannot abort`);
    expect(message(() => engine.resume('nope'))).toBe(`NotFoundError: ${new NotFoundError('workflow', 'nope').message}`);
    expect(kinds(engine, wf.id)).not.toContain('resumed');
  });

  it('continues a workflow left running by a stopped controller, dropping the pause asked before the stop', async () => {
    // s1 waits; the admin asks for a pause; the controller stops before the safe point after s1.
    const file = await journalFile();
    const g = gate();
    let s1Runs = 0;
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        await ctx.step('s1', { check: async () => (s1Runs > 0 ? { ran: true } : undefined), run: async (io) => (s1Runs++, await g.wait(io.signal), { ran: true }) });
        ctx.safePoint();
        return ctx.step('s2', { run: async () => ({ s2: true }) });
      },
    };
    const first = engineOf(script, file);
    const wf = first.start('script', 'p1', {}, 'alice');
    await tick();
    first.pause(wf.id);
    await first.shutdown();
    expect(first.store.get(wf.id)).toMatchObject({ state: 'running', request: 'pause' });

    // A new controller: resume (not resumeAll). s1 may have run: its check says it did.
    const second = engineOf(script, file);
    expect(second.resume(wf.id)).toMatchObject({ state: 'running', request: '' });
    const end = await second.wait(wf.id);
    expect(end).toMatchObject({ state: 'done', result: { s2: true } });
    expect(s1Runs).toBe(1);
    expect(kinds(second, wf.id).slice(-5)).toEqual(['resumed', 'step-verified', 'step-started', 'step-done', 'workflow-finished']);
  });

  it('a failed workflow: refused while another is active on the pool (named), then resumed with its error cleared', async () => {
    let fail = true;
    const g = gate();
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        if (ctx.params === 'other') return ctx.step('wait', { run: async (io) => (await g.wait(io.signal), {}) });
        return ctx.step('s1', { run: async () => {
          if (fail) throw new Error('host b did not come back');
          return {};
        } });
      },
    };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', 'first', 'alice');
    expect(await engine.wait(wf.id)).toMatchObject({ state: 'failed', error: 'host b did not come back' });
    const other = engine.start('script', 'p1', 'other', 'bob');
    await tick();
    expect(message(() => engine.resume(wf.id))).toBe(`WorkflowStateError: workflow ${wf.id} is failed, and pool p1 has another active workflow ${other.id}: cannot resume`);
    expect(engine.get(wf.id).state).toBe('failed');
    g.open();
    await engine.wait(other.id);
    fail = false;
    expect(engine.resume(wf.id)).toMatchObject({ state: 'running', request: '', error: '' });
    expect(await engine.wait(wf.id)).toMatchObject({ state: 'done', error: '' });
  });

  it('a failed workflow whose state cannot be written: the store\'s error, not a conflict', async () => {
    const script: Script = { compensated: [], run: async () => { throw new Error('no'); } };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', {}, 'alice');
    await engine.wait(wf.id);
    vi.spyOn(engine.store, 'setState').mockImplementation(() => {
      throw new Error('disk I/O error');
    });
    expect(message(() => engine.resume(wf.id))).toBe('Error: disk I/O error');
  });
});

describe('abort', () => {
  it('a paused workflow (not running here) is compensated and aborted at once', async () => {
    const g = gate();
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        await ctx.step('s1', { run: async (io) => (await g.wait(io.signal), {}), compensation: () => ({ name: 'undo-s1', args: {} }) });
        ctx.safePoint();
        return ctx.step('s2', { run: async () => ({}) });
      },
    };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', {}, 'alice');
    expect((await pauseAtGate(engine, wf.id, g)).state).toBe('paused');
    // The request stays in the journal: a controller that stops now aborts it on its next start.
    expect(engine.abort(wf.id)).toMatchObject({ state: 'aborting', request: 'abort' });
    expect(await engine.wait(wf.id)).toMatchObject({ state: 'aborted', error: 'aborted by the admin' });
    expect(script.compensated).toEqual(['undo-s1']);
    expect(kinds(engine, wf.id).slice(-5)).toEqual(['paused', 'abort-requested', 'compensation-started', 'compensation-done', 'workflow-finished']);
  });

  it('an abort another controller wrote to the journal stops the workflow at its next step', async () => {
    const g = gate();
    let s2Ran = false;
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        await ctx.step('s1', { run: async () => (await g.wait(new AbortController().signal), {}), compensation: () => ({ name: 'undo-s1', args: {} }) });
        return ctx.step('s2', { run: async () => ((s2Ran = true), {}) });
      },
    };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', {}, 'alice');
    await tick();
    engine.store.setRequest(wf.id, 'abort');
    g.open();
    expect((await engine.wait(wf.id)).state).toBe('aborted');
    expect(s2Ran).toBe(false);
    expect(script.compensated).toEqual(['undo-s1']);
  });
});

describe('resumeAll after a restart', () => {
  it('continues only the workflows left running or aborting whose kind it knows, once, and says so', async () => {
    const file = await journalFile();
    const g = gate();
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        if (ctx.params === 'quick') return {};
        await ctx.step('s1', { check: async () => undefined, run: async (io) => (await g.wait(io.signal), {}) });
        ctx.safePoint();
        return ctx.step('s2', { run: async () => ({}) });
      },
    };
    const first = new WorkflowEngine({ journal: new Journal(file), logger, kinds: [scripted(script), scripted(script, 'retired')] });
    const done = first.start('script', 'p1', 'quick', 'alice');
    await first.wait(done.id);
    const paused = first.start('script', 'p2', {}, 'alice');
    const crashed = first.start('script', 'p3', {}, 'alice');
    const unknown = first.start('retired', 'p4', {}, 'alice');
    await tick();
    first.pause(paused.id);
    await first.shutdown();
    // The paused one was still in s1 at the stop: mark it paused as a finished pause would.
    first.store.setState(paused.id, 'paused', { request: '' });

    const second = engineOf(script, file);
    expect(second.resumeAll()).toEqual([crashed.id]);
    expect(second.resumeAll()).toEqual([]);
    g.open();
    expect((await second.wait(crashed.id)).state).toBe('done');
    expect(second.events(crashed.id).find((e) => e.kind === 'controller-restarted')?.data).toEqual({ state: 'running' });
    expect([second.get(done.id).state, second.get(paused.id).state, second.get(unknown.id).state]).toEqual(['done', 'paused', 'running']);
    expect(kinds(second, done.id)).not.toContain('controller-restarted');
  });
});

describe('the workflow context', () => {
  it('outcome, emit, logger, resumedSince', async () => {
    let clock = Date.parse('2026-01-01T00:00:01.000Z');
    const at = (ms: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + ms).toISOString();
    const seen: unknown[] = [];
    const lines: string[] = [];
    let fail = true;
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        await ctx.step('s1', { run: async () => ({ n: 1 }) });
        seen.push(['outcome', ctx.outcome('s1'), ctx.outcome('nope')]);
        ctx.emit('note', { a: 1 });
        ctx.emit('tick', { b: 2 }, { persist: false });
        ctx.emit('kept', { c: 3 }, { persist: true });
        ctx.logger.info('hello');
        seen.push(['resumed', ctx.resumedSince(at(0)), ctx.resumedSince(at(1500)), ctx.resumedSince(at(2000)), ctx.resumedSince(at(2500))]);
        await ctx.step('s2', { run: async () => {
          if (fail) throw new Error('stop');
          return {};
        } });
        seen.push(['failed-outcome', ctx.outcome('s2')]);
      },
    };
    const engine = new WorkflowEngine({ journal: new Journal(':memory:'), logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }), kinds: [scripted(script)], now: () => new Date(clock) });
    const live: WorkflowEvent[] = [];
    engine.onEvent((e) => live.push(e));
    const wf = engine.start('script', 'p1', {}, 'alice');
    await engine.wait(wf.id);
    expect(engine.store.step(wf.id, 's2')?.status).toBe('failed');
    clock = Date.parse('2026-01-01T00:00:02.000Z');
    fail = false;
    engine.resume(wf.id);
    await engine.wait(wf.id);
    expect(seen).toEqual([
      ['outcome', { n: 1 }, undefined],
      ['resumed', false, false, false, false],
      ['outcome', { n: 1 }, undefined],
      // Resumed at 00:00:02.000: after 00:00:00 and 00:00:01.5, not after itself or later.
      ['resumed', true, true, false, false],
      ['failed-outcome', {}],
    ]);
    // 'tick' was not journaled; the others were.
    expect(kinds(engine, wf.id).filter((k) => ['note', 'tick', 'kept'].includes(k))).toEqual(['note', 'kept', 'note', 'kept']);
    expect(live.filter((e) => e.kind === 'tick').map((e) => [e.id, e.data])).toEqual([[0, { b: 2 }], [0, { b: 2 }]]);
    expect(lines.filter((l) => l.includes('hello')).map((l) => (JSON.parse(l) as { workflow?: string }).workflow)).toEqual([wf.id, wf.id]);
  });

  it('a failed step keeps its outcome out of outcome()', async () => {
    const seen: unknown[] = [];
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        await ctx.step('bad', { run: async () => { throw new WorkflowStateError('w', 'x', 'y'); } }).catch(() => undefined);
        seen.push(ctx.outcome('bad'));
      },
    };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', {}, 'alice');
    await engine.wait(wf.id);
    expect(seen).toEqual([undefined]);
    expect(engine.store.step(wf.id, 'bad')).toMatchObject({ status: 'failed', outcome: { error: 'PRECONDITION_FAILED: workflow w is x: cannot y', code: 'PRECONDITION_FAILED' } });
    expect(engine.events(wf.id).find((e) => e.kind === 'step-failed')?.data).toEqual({ step: 'bad', host: '', error: 'PRECONDITION_FAILED: workflow w is x: cannot y', code: 'PRECONDITION_FAILED' });
  });

  it('step events carry the step, its host, intent and outcome; progress is live only', async () => {
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        await ctx.step('plain', { run: async (io) => (io.progress({ pct: 50 }), undefined) });
        await ctx.step('on-host', { host: 'h1', intent: { to: 2 }, run: async (io) => (io.progress({ pct: 10 }), { v: 2 }) });
        try {
          await ctx.step('boom', { run: async () => { throw new Error('plain failure'); } });
        } catch {
          // the workflow goes on
        }
      },
    };
    const engine = engineOf(script);
    const live: WorkflowEvent[] = [];
    engine.onEvent((e) => live.push(e));
    const wf = engine.start('script', 'p1', {}, 'alice');
    await engine.wait(wf.id);
    const stepEvents = engine.events(wf.id).filter((e) => e.kind.startsWith('step-')).map((e) => [e.kind, e.data]);
    expect(stepEvents).toEqual([
      ['step-started', { step: 'plain', host: '', intent: {} }],
      ['step-done', { step: 'plain', host: '', outcome: null }],
      ['step-started', { step: 'on-host', host: 'h1', intent: { to: 2 } }],
      ['step-done', { step: 'on-host', host: 'h1', outcome: { v: 2 } }],
      ['step-started', { step: 'boom', host: '', intent: {} }],
      ['step-failed', { step: 'boom', host: '', error: 'plain failure', code: '' }],
    ]);
    expect(live.filter((e) => e.kind === 'progress').map((e) => [e.id, e.data])).toEqual([[0, { step: 'plain', host: '', pct: 50 }], [0, { step: 'on-host', host: 'h1', pct: 10 }]]);
    expect(engine.store.step(wf.id, 'boom')?.outcome).toEqual({ error: 'plain failure', code: '' });
  });

  it('after a crash inside a step: its check gets the intent with its notes; verified, it is not run again and its compensation is registered', async () => {
    const file = await journalFile();
    const checks: unknown[] = [];
    let runs = 0;
    let crash = true;
    const script: Script = {
      compensated: [],
      run: async (ctx) =>
        ctx.step('long', {
          intent: { to: 2 },
          check: async (recorded) => (checks.push(recorded), { task: recorded['task'] }),
          run: async (io) => {
            runs++;
            io.note({ task: 'OpaqueRef:task-1' });
            if (crash) throw new WorkflowHalted('crash');
            return { task: 'x' };
          },
          compensation: (o) => ({ name: 'undo-long', args: { task: o.task } }),
        }),
    };
    const first = engineOf(script, file);
    const wf = first.start('script', 'p1', {}, 'alice');
    // Halted inside the step (a pause-like stop, not a failure): nothing recorded as failed.
    expect((await first.wait(wf.id)).state).toBe('running');
    expect(first.store.step(wf.id, 'long')?.status).toBe('started');
    expect(kinds(first, wf.id)).not.toContain('step-failed');
    crash = false;
    const second = engineOf(script, file);
    second.resumeAll();
    expect(await second.wait(wf.id)).toMatchObject({ state: 'done', result: { task: 'OpaqueRef:task-1' } });
    expect(runs).toBe(1);
    expect(second.store.step(wf.id, 'long')?.status).toBe('done');
    expect(checks).toEqual([{ to: 2, task: 'OpaqueRef:task-1' }]);
    expect(second.events(wf.id).find((e) => e.kind === 'step-verified')?.data).toEqual({ step: 'long', host: '', outcome: { task: 'OpaqueRef:task-1' } });
    // Registered with the verified outcome, and run when the workflow finished.
    // (The store adds the step's name to the args.)
    expect(second.store.compensations(wf.id).map((c) => [c.name, c.args, c.status])).toEqual([['undo-long', { task: 'OpaqueRef:task-1', step: 'long' }, 'done']]);
    expect(script.compensated).toEqual(['undo-long']);
  });

  it('after a crash inside a step without a check, or whose check finds nothing done: it runs again; a done step is not checked again', async () => {
    const file = await journalFile();
    const log: string[] = [];
    let crash = true;
    const script: Script = {
      compensated: [],
      run: async (ctx) => {
        await ctx.step('first', { check: async () => (log.push('check first'), {}), run: async () => (log.push('run first'), {}) });
        await ctx.step('unchecked', { run: async () => {
          log.push('run unchecked');
          if (crash) throw new WorkflowHalted('crash');
          return {};
        } });
        return ctx.step('checked', { check: async () => (log.push('check checked'), undefined), run: async () => (log.push('run checked'), {}) });
      },
    };
    const first = engineOf(script, file);
    const wf = first.start('script', 'p1', {}, 'alice');
    await first.wait(wf.id);
    crash = false;
    const second = engineOf(script, file);
    second.resumeAll();
    expect((await second.wait(wf.id)).state).toBe('done');
    expect(log).toEqual(['run first', 'run unchecked', 'run unchecked', 'run checked']);
    expect(kinds(second, wf.id)).not.toContain('step-verified');
  });

  it('a pause reached inside a step pauses the workflow; it is not a failure', async () => {
    const g = gate();
    const script: Script = {
      compensated: [],
      run: async (ctx) => ctx.step('inner', { run: async () => {
        await g.wait(new AbortController().signal);
        ctx.safePoint();
        return {};
      } }),
    };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', {}, 'alice');
    expect((await pauseAtGate(engine, wf.id, g)).state).toBe('paused');
    expect(kinds(engine, wf.id)).not.toContain('step-failed');
  });

  it('a plain error thrown by a step after the controller began stopping is not recorded as the step failing', async () => {
    const g = gate();
    const script: Script = {
      compensated: [],
      run: async (ctx) => ctx.step('s', { run: async (io) => {
        await g.wait(io.signal).catch(() => undefined);
        throw new Error('connection reset');
      } }),
    };
    const engine = engineOf(script);
    const wf = engine.start('script', 'p1', {}, 'alice');
    await tick();
    await engine.shutdown();
    expect(engine.store.get(wf.id)?.state).toBe('running');
    expect(engine.store.step(wf.id, 's')?.status).toBe('started');
  });
});
