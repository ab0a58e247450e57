import { describe, expect, it } from 'vitest';
import type { UpgradeEvent } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import { ProgressDisplay, renderPlan } from './render-upgrade.js';
import { optionsFrom } from './rolling.js';

const event = (kind: string, data: Record<string, unknown>, extra: Partial<UpgradeEvent> = {}): UpgradeEvent => ({
  id: 1, workflowId: 'w', at: '', kind, host: String(data['host'] ?? ''), step: String(data['step'] ?? ''), phase: '', fraction: 0, message: '', dataJson: JSON.stringify(data), state: 'running', ...extra,
});

describe('upgrade rendering', () => {
  it('shows one line per host with its step and a bar for its migrations', () => {
    const out: string[] = [];
    const d = new ProgressDisplay(false, (s) => out.push(s));
    d.handle(event('plan', { pool: 'demo', hosts: [{ name: 'a', order: 1, role: 'master', action: 'upgrade' }, { name: 'b', order: 2, role: 'slave', action: 'upgrade' }], migrations: [{ step: 1 }, { step: 1 }] }));
    d.handle(event('step-started', { host: 'a', step: 'host:u:migrate:v1', intent: { vm: 'v1', to: 'b' } }, { phase: 'migrate' }));
    d.handle(event('progress', { host: 'a', step: 'host:u:migrate:v1', vm: 'v1', to: 'b' }, { phase: 'migrate', fraction: 0.5 }));
    d.handle(event('step-done', { host: 'a', step: 'host:u:migrate:v1', outcome: { vm: 'v1' } }, { phase: 'migrate' }));
    const last = out.filter((l) => l.includes(' a ')).pop() ?? '';
    expect(last).toMatch(/1\/2 a\s+master migrate\s+\[#{10}-{10}\] 1\/2 VMs/);
    d.handle(event('host-done', { host: 'a', version: '8.3.0' }));
    expect(out.filter((l) => l.includes(' a ')).pop()).toMatch(/done .* 8\.3\.0/);
  });

  it('on a pipe prints one line per step change, none per progress tick; a replay prints nothing', () => {
    const out: string[] = [];
    const d = new ProgressDisplay(false, (s) => out.push(s));
    const plan = event('plan', { pool: 'demo', hosts: [{ name: 'a', order: 1, role: 'master', action: 'upgrade' }], migrations: [{ step: 1 }] });
    d.handle(plan);
    const afterPlan = out.length;
    d.handle(event('step-started', { host: 'a', step: 'host:u:disable' }, { phase: 'disable' }));
    d.handle(event('step-done', { host: 'a', step: 'host:u:disable' }, { phase: 'disable' }));
    d.handle(event('step-started', { host: 'a', step: 'host:u:migrate:v1', intent: { vm: 'v1', to: 'b' } }, { phase: 'migrate' }));
    for (const f of [0.1, 0.2, 0.3, 0.5, 0.8, 0.9]) d.handle(event('progress', { host: 'a', step: 'host:u:migrate:v1', vm: 'v1', to: 'b' }, { phase: 'migrate', fraction: f }));
    d.handle(event('step-done', { host: 'a', step: 'host:u:migrate:v1', outcome: { vm: 'v1' } }, { phase: 'migrate' }));
    // disable started, migrate started, migration done: three changes, three lines; no ANSI codes.
    expect(out.slice(afterPlan)).toHaveLength(3);
    expect(out.join('')).not.toContain('\x1b');
    const replayed: string[] = [];
    const r = new ProgressDisplay(false, (s) => replayed.push(s));
    r.handle(plan, { draw: false });
    r.handle(event('step-started', { host: 'a', step: 'host:u:disable' }, { phase: 'disable' }), { draw: false });
    expect(replayed).toEqual([]);
    r.render();
    expect(replayed.join('')).toMatch(/1\/1 a\s+master disable/);
  });

  it('renders the plan and parses the flags', () => {
    const text = renderPlan({
      pool: 'p',
      runnable: true,
      hosts: [{ name: 'a', uuid: 'u', role: 'master', order: 1, wave: 1, action: 'upgrade', version: '8.2' }],
      blockers: [],
      pinned: [],
      migrations: [{ step: 1, wave: 1, vm: 'v', from: 'a', to: 'b', memoryBytes: 2 ** 31, final: false, room: false }],
      totals: { migratedBytes: 2 ** 31, lowerBoundBytes: 2 ** 31, achievableLowerBoundBytes: 2 ** 31, migrations: 1, vmsMovedMoreThanOnce: 0, waves: 1, roomMoves: 0 },
      waves: [{ wave: 1, hosts: ['a'], migrations: 1, roomMoves: 0, migratedBytes: 2 ** 31, unplaced: 0, tightestHost: 'b', tightestFreeBytes: 2 ** 32 }],
      capacity: { holds: true, maxHostsDown: 1, memoryPolicy: 'xapi', makeRoom: true },
      endState: undefined,
      warnings: [],
    });
    expect(text).toMatch(/1\s+1\s+v\s+a\s+b\s+2\.0\s+moves again/);
    expect(text).toMatch(/Capacity proof \(xapi memory accounting, up to 1 host\(s\) down at once, room made for large VMs\): every running VM has a place at every wave/);
    expect(text).toMatch(/1\s+a\s+1\s+0\s+2\.0\s+0\s+b\s+4\.0/);
    expect(optionsFrom({ pool: 'p', exclude: ['h'], override: ['VM_REQUIRES_SR'], maxParallel: '3', maxHostsDown: '2', memoryPolicy: 'static-max', actionOption: ['version=8.3.0'] })).toMatchObject({ pool: 'p', exclude: ['h'], overrides: ['VM_REQUIRES_SR'], maxParallel: 3, maxHostsDown: 2, memoryPolicy: 'static-max', actionOptions: { version: '8.3.0' } });
    expect(() => optionsFrom({ pool: 'p', memoryPolicy: 'dynamic-max' })).toThrow(/memory-policy/);
    expect(() => optionsFrom({ pool: 'p', maxParallel: '0' })).toThrow(/positive integer/);
  });
});
