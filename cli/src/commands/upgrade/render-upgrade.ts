import type { UpgradeEvent, UpgradePlan, UpgradeWorkflow } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import { formatTable } from '../../output/output.js';
import { painter, type Painter } from '../../output/colour.js';

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);

/** The plan as the admin reads it: order, blockers, every migration per step, totals against the bound. */
export function renderPlan(plan: UpgradePlan): string {
  const out: string[] = [];
  out.push(`Rolling upgrade plan for pool ${plan.pool}${plan.runnable ? '' : '  (NOT RUNNABLE: see blockers)'}`, '');
  out.push(
    formatTable(
      ['ORDER', 'WAVE', 'HOST', 'ROLE', 'VERSION', 'ACTION'],
      plan.hosts.map((h) => [h.order === 0 ? '-' : h.order, h.wave === 0 ? '-' : h.wave, h.name, h.role, h.version, h.action]),
    ),
  );
  if (plan.blockers.length > 0) {
    out.push('Blockers:');
    out.push(formatTable(['CHECK', 'HOST', 'VM', 'OVERRIDDEN', 'WHY'], plan.blockers.map((b) => [b.code, b.host, b.vm || '-', b.overridden ? 'yes' : 'no', b.message])));
  }
  if (plan.pinned.length > 0) {
    out.push("Shut down during their host's reboot and started again after (overridden):");
    for (const p of plan.pinned) out.push(`  step ${p.step}: ${p.vm} on ${p.host}${p.code ? ` (${p.code})` : ''}`);
    out.push('');
  }
  if (plan.migrations.length > 0) {
    out.push('Migrations:');
    out.push(formatTable(['WAVE', 'STEP', 'VM', 'FROM', 'TO', 'GiB', 'FINAL'], plan.migrations.map((m) => [m.wave, m.room ? 'room' : m.step, m.vm, m.from, m.to, gib(m.memoryBytes), m.final ? 'yes' : 'moves again'])));
  }
  if (plan.waves.length > 0 && plan.capacity !== undefined) {
    const c = plan.capacity;
    out.push(`Capacity proof (${c.memoryPolicy} memory accounting, up to ${c.maxHostsDown} host(s) down at once${c.makeRoom ? ', room made for large VMs' : ''}): ${c.holds ? 'every running VM has a place at every wave' : 'DOES NOT HOLD'}`);
    out.push(
      formatTable(
        ['WAVE', 'HOSTS DOWN', 'MOVES', 'ROOM', 'GiB', 'NOWHERE', 'TIGHTEST', 'LEFT GiB'],
        plan.waves.map((w) => [w.wave, w.hosts.join(','), w.migrations, w.roomMoves, gib(w.migratedBytes), w.unplaced, w.tightestHost, gib(w.tightestFreeBytes)]),
      ),
    );
  }
  const e = plan.endState;
  if (e !== undefined && e.hosts.length > 0) {
    out.push(`End state: used ${(e.minUsedFraction * 100).toFixed(0)}%..${(e.maxUsedFraction * 100).toFixed(0)}% per host (stddev ${(e.stddevUsedFraction * 100).toFixed(1)}%)`);
    out.push(formatTable(['HOST', 'VMS', 'USED GiB', 'FREE GiB', 'HEADROOM'], e.hosts.map((h) => [h.host, h.guests, gib(h.usedBytes), gib(h.freeBytes), `${(h.headroom * 100).toFixed(0)}%`])));
    for (const g of e.antiAffinity) out.push(`  anti-affinity ${g.group}: ${g.vms} VMs on ${g.hostsBefore} -> ${g.hostsAfter} hosts, at most ${g.maxPerHostBefore} -> ${g.maxPerHostAfter} per host${g.kept ? '' : ' (MORE CONCENTRATED)'}`);
  }
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  const t = plan.totals;
  if (t !== undefined) {
    out.push(
      `Totals: ${t.waves} wave(s), ${t.migrations} migrations (${t.roomMoves} to make room), ${gib(t.migratedBytes)} GiB migrated; bound ${gib(t.lowerBoundBytes)} GiB (every running VM once), ${gib(t.achievableLowerBoundBytes)} GiB with the master's VMs moving twice; ${t.vmsMovedMoreThanOnce} VMs move twice.`,
    );
  }
  return `${out.join('\n')}\n`;
}

interface HostLine {
  name: string;
  order: number;
  role: string;
  phase: string;
  state: 'waiting' | 'running' | 'done' | 'failed';
  migTotal: number;
  migDone: number;
  inflight: Map<string, { to: string; fraction: number }>;
  message: string;
}

function bar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

const parse = (json: string): Record<string, unknown> => {
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
};

/**
 * Live progress: one line per host with its current step and a bar for its migrations, redrawn in
 * place on a terminal; on a pipe, one line per change.
 */
export class ProgressDisplay {
  private readonly hosts = new Map<string, HostLine>();
  private drawn = 0;
  private header = '';
  private lastPrinted = new Map<string, string>();
  readonly notes: string[] = [];

  /** `paint` colours the state words; pass one only when the stream is a TTY and NO_COLOR is unset. */
  constructor(
    private readonly tty: boolean,
    private readonly write: (s: string) => void,
    private readonly paint: Painter = painter(false),
  ) {}

  /** Updates the display from one event; `draw: false` replays history without output (re-attach). */
  handle(e: UpgradeEvent, options: { draw?: boolean } = {}): void {
    const d = parse(e.dataJson);
    if (e.kind === 'plan') {
      const hosts = (d['hosts'] ?? []) as Array<{ name: string; order: number; role: string; action: string }>;
      const migrations = (d['migrations'] ?? []) as Array<{ step: number }>;
      for (const h of hosts.filter((x) => x.action === 'upgrade')) {
        this.hosts.set(h.name, { name: h.name, order: h.order, role: h.role, phase: 'waiting', state: 'waiting', migTotal: migrations.filter((m) => m.step === h.order).length, migDone: 0, inflight: new Map(), message: '' });
      }
      this.header = `pool ${String(d['pool'] ?? '')}: ${hosts.filter((x) => x.action === 'upgrade').length} hosts, ${migrations.length} migrations planned`;
    }
    const host = e.host === '' ? undefined : this.hosts.get(e.host);
    if (host !== undefined) {
      if (e.kind === 'step-started') {
        host.state = 'running';
        host.phase = e.phase;
        host.message = '';
        if (e.phase === 'migrate' && host.migTotal === 0) host.migTotal = 1;
        if (e.phase === 'migrate') {
          const intent = (d['intent'] ?? {}) as Record<string, unknown>;
          host.inflight.set(String(intent['vm'] ?? e.step), { to: String(intent['to'] ?? ''), fraction: 0 });
        }
      } else if (e.kind === 'step-done' || e.kind === 'step-verified') {
        if (e.phase === 'migrate') {
          const outcome = (d['outcome'] ?? {}) as Record<string, unknown>;
          host.inflight.delete(String(outcome['vm'] ?? ''));
          host.migDone = Math.min(host.migTotal, host.migDone + 1);
        }
        if (e.phase === 'enable') {
          host.state = 'done';
          host.phase = 'done';
        }
      } else if (e.kind === 'step-failed') {
        host.state = 'failed';
        host.message = e.message;
      } else if (e.kind === 'progress') {
        if (e.phase === 'migrate') host.inflight.set(String(d['vm'] ?? ''), { to: String(d['to'] ?? ''), fraction: e.fraction });
        else if (e.message !== '') host.message = e.message;
        else if (e.fraction > 0) host.message = `${Math.round(e.fraction * 100)}%`;
      } else if (e.kind === 'waiting') {
        host.message = e.message;
      } else if (e.kind === 'host-done') {
        host.state = 'done';
        host.phase = 'done';
        host.message = String(d['version'] ?? '');
      }
    }
    if (e.kind === 'confirmation-required') this.notes.push(`ACTION NEEDED on ${e.host}: ${e.message}`);
    if (e.kind === 'plan-adjusted') this.notes.push(`plan adjusted for ${e.host}: ${((d['moves'] ?? []) as string[]).join(', ')}`);
    if (e.kind === 'compensation-done' || e.kind === 'compensation-failed') this.notes.push(`${e.kind === 'compensation-done' ? 'restored' : 'COULD NOT restore'}: ${String(d['name'] ?? '')}${e.message === '' ? '' : ` (${e.message})`}`);
    if (e.kind === 'warning') this.notes.push(`warning: ${e.message}`);
    if (options.draw !== false) this.render(e.kind === 'workflow-finished' || e.kind === 'paused');
  }

  private line(h: HostLine): string {
    const total = this.hosts.size;
    const inflight = [...h.inflight.entries()];
    const frac = h.migTotal === 0 ? (h.state === 'done' ? 1 : 0) : (h.migDone + inflight.reduce((s, [, v]) => s + v.fraction, 0)) / h.migTotal;
    const migrations = h.migTotal === 0 ? 'no VMs to move' : `${bar(frac)} ${h.migDone}/${h.migTotal} VMs`;
    const now = inflight.map(([vm, v]) => `${vm} -> ${v.to} ${Math.round(v.fraction * 100)}%`).join(', ');
    const status = h.state === 'done' ? 'done' : h.state === 'failed' ? 'FAILED' : h.phase;
    const painted = h.state === 'done' ? this.paint.paint('green', status.padEnd(10)) : h.state === 'failed' ? this.paint.paint('red', status.padEnd(10)) : status.padEnd(10);
    return `${h.order}/${total} ${h.name.padEnd(14)} ${h.role === 'master' ? 'master' : '      '} ${painted} ${migrations}${now === '' ? '' : `  ${now}`}${h.message === '' ? '' : `  ${h.message}`}`;
  }

  render(final = false): void {
    const lines = [this.header, ...[...this.hosts.values()].sort((a, b) => a.order - b.order).map((h) => this.line(h))].filter((l) => l !== '');
    if (this.tty) {
      const width = process.stderr.columns ?? 120;
      const clip = (s: string): string => (s.length > width - 1 ? `${s.slice(0, width - 2)}…` : s);
      this.write(`${this.drawn > 0 ? `\x1b[${this.drawn}F` : ''}${lines.map((l) => `\x1b[2K${clip(l)}`).join('\n')}\n`);
      this.drawn = lines.length;
      if (final) this.drawn = 0;
      return;
    }
    // On a pipe, a host line is printed when its step changes (not on every progress tick).
    for (const h of this.hosts.values()) {
      const key = `${h.phase}|${h.state}|${h.migDone}`;
      if (this.lastPrinted.get(h.name) === key) continue;
      this.lastPrinted.set(h.name, key);
      this.write(`${this.line(h)}\n`);
    }
  }
}

interface RunResult {
  hosts?: Array<{ name: string; order: number; versionBefore: string; versionAfter: string }>;
  moves?: Array<{ step: number; vm: string; from: string; to: string; bytes: number }>;
  pinned?: Array<{ vm: string; host: string }>;
  excluded?: string[];
  totals?: { migratedBytes: number; migrations: number; plannedBytes: number; lowerBoundBytes: number; masterTwiceBoundBytes?: number };
  uniformity?: { uniform: boolean; hosts: Record<string, string>; differences: string[] };
}

/** The end-of-run report: versions before and after, what moved where, totals, what was restored. */
export function renderSummary(w: UpgradeWorkflow): string {
  const out: string[] = [];
  out.push(`Rolling upgrade ${w.id} on pool ${w.pool}: ${w.state.toUpperCase()}${w.error === '' ? '' : `: ${w.error}`}`);
  const r = (w.resultJson === '' ? {} : JSON.parse(w.resultJson)) as RunResult;
  if (r.hosts !== undefined && r.hosts.length > 0) {
    out.push('', formatTable(['ORDER', 'HOST', 'BEFORE', 'AFTER'], r.hosts.map((h) => [h.order, h.name, h.versionBefore, h.versionAfter])).trimEnd());
  } else if (w.hosts.length > 0) {
    out.push('', formatTable(['ORDER', 'HOST', 'STEP', 'DONE'], w.hosts.map((h) => [h.order, h.name, h.phase, h.done ? 'yes' : 'no'])).trimEnd());
  }
  if (r.moves !== undefined && r.moves.length > 0) {
    out.push('', 'What moved where:', formatTable(['STEP', 'VM', 'FROM', 'TO', 'GiB'], r.moves.map((m) => [m.step, m.vm, m.from, m.to, gib(m.bytes)])).trimEnd());
  }
  for (const p of r.pinned ?? []) out.push(`${p.vm} was shut down while ${p.host} rebooted and started again`);
  if (r.totals !== undefined) {
    const twice = r.totals.masterTwiceBoundBytes === undefined ? '' : `, ${gib(r.totals.masterTwiceBoundBytes)} GiB with the master's VMs moving twice, which no order avoids`;
    out.push('', `Migrated ${gib(r.totals.migratedBytes)} GiB in ${r.totals.migrations} migrations (planned ${gib(r.totals.plannedBytes)} GiB; bound: ${gib(r.totals.lowerBoundBytes)} GiB with every VM moved once${twice}).`);
  }
  if (r.uniformity !== undefined) out.push(r.uniformity.uniform ? `Uniform: every host runs ${Object.values(r.uniformity.hosts)[0] ?? ''}` : `NOT uniform: ${r.uniformity.differences.join('; ')}`);
  const comps = w.compensations.filter((c) => c.status !== 'released');
  if (comps.length > 0) out.push(`Compensations: ${comps.map((c) => `${c.name} ${c.status}${c.error === '' ? '' : ` (${c.error})`}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function renderWorkflows(ws: readonly UpgradeWorkflow[]): string {
  if (ws.length === 0) return 'no rolling upgrades\n';
  return formatTable(
    ['ID', 'POOL', 'STATE', 'STARTED BY', 'CREATED', 'HOSTS', 'ERROR'],
    ws.map((w) => [w.id, w.pool, w.request === '' ? w.state : `${w.state} (${w.request} requested)`, w.startedBy, w.createdAt, w.hosts.map((h) => `${h.name}:${h.done ? 'done' : h.phase}`).join(' '), w.error]),
  );
}
