import { gib, html, type Html } from '../html.js';
import type { CompensationRow, StepRow, WorkflowRow } from '../../workflows/engine/workflow-store.js';
import { phaseOf } from '../../services/upgrade/upgrade-events.js';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function duration(s: StepRow): string {
  if (s.finishedAt === '') return 'running';
  const ms = Date.parse(s.finishedAt) - Date.parse(s.startedAt);
  if (!Number.isFinite(ms)) return '';
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

/** A JSON value, compact, for the intent/outcome columns (they are small objects). */
function json(v: unknown): Html {
  if (v === undefined || v === null) return html`<span class="muted">-</span>`;
  const text = JSON.stringify(v, null, 1).replace(/\n\s*/g, ' ');
  return text.length <= 160 ? html`<code>${text}</code>` : html`<details><summary>${text.slice(0, 100)}…</summary><pre>${JSON.stringify(v, null, 2)}</pre></details>`;
}

function migrations(steps: readonly StepRow[]): Html {
  const moves = steps.filter((s) => phaseOf(s.name) === 'migrate');
  if (moves.length === 0) return html``;
  let total = 0;
  const rows = moves.map((s) => {
    const outcome = (s.outcome ?? {}) as Record<string, unknown>;
    const bytes = s.status === 'done' ? num(outcome['bytes']) : num(s.intent['bytes']);
    if (s.status === 'done' && outcome['moved'] !== false) total += bytes;
    return html`<tr class="${s.status === 'failed' ? 'bad' : ''}" data-step="${s.name}"><td>${str(s.intent['vm'])}</td><td>${str(s.intent['from'])}</td><td>${str(s.intent['to'])}</td><td>${gib(num(s.intent['bytes']))}</td><td data-field="status">${s.status}${outcome['moved'] === false ? ` (${str(outcome['note'])})` : ''}</td><td>${duration(s)}</td></tr>`;
  });
  return html`<h2>Migrations</h2><table><thead><tr><th>VM</th><th>from</th><th>to</th><th>memory GiB</th><th>status</th><th>took</th></tr></thead><tbody>${rows}</tbody></table>
<p data-field="migrated">${moves.filter((s) => s.status === 'done').length}/${moves.length} done, ${gib(total)} GiB migrated</p>`;
}

/**
 * One workflow's timeline from the journal: every step in order with the intent recorded before
 * its side effect and the outcome recorded after, the migrations with their sizes, and the
 * compensations. Live updates re-render it as steps advance.
 */
export function workflowPage(w: WorkflowRow, steps: readonly StepRow[], compensations: readonly CompensationRow[]): Html {
  const done = steps.filter((s) => s.status === 'done').length;
  return html`<h1>${w.kind} <code>${w.id}</code></h1>
<p>pool <strong>${w.pool}</strong>, started by ${w.startedBy} at ${w.createdAt}; state
<span class="pill ${w.state === 'done' ? 'ok' : w.state === 'failed' || w.state === 'aborted' ? 'bad' : ''}" data-field="state">${w.state}</span>
${w.request === '' ? '' : html`<span class="pill">${w.request} requested</span>`}
<span data-field="steps-done">${done}</span> of ${steps.length} steps done${w.error === '' ? '' : html`; <span class="bad">${w.error}</span>`}</p>
${migrations(steps)}
<h2>Timeline</h2>
<ol class="timeline" data-field="timeline">
${steps.map((s) => html`<li class="${s.status}" data-step="${s.name}" data-status="${s.status}">
<div class="step-head"><span class="name">${s.name}</span>${s.host === '' ? '' : html`<span>${s.host}</span>`}<span class="pill">${s.status}</span><span class="muted">${s.startedAt} · ${duration(s)}</span></div>
<div>intent: ${json(s.intent)}</div>
<div>outcome: ${s.finishedAt === '' ? html`<span class="muted">not recorded yet</span>` : json(s.outcome)}</div>
</li>`)}
</ol>
${compensations.length === 0 ? '' : html`<h2>Compensations</h2><table><thead><tr><th>name</th><th>status</th><th>args</th></tr></thead><tbody>${compensations.map((c) => html`<tr class="${c.status === 'failed' ? 'bad' : ''}"><td>${c.name}</td><td>${c.status}</td><td>${json(c.args)}</td></tr>`)}</tbody></table>`}`;
}
