import { html, type Html } from '../html.js';
import type { WorkflowRow } from '../../workflows/engine/workflow-store.js';

const stateClass = (state: string): string => (state === 'failed' || state === 'aborted' ? 'bad' : state === 'done' ? 'ok' : '');

/** Every workflow in the journal, newest first: any kind (rolling upgrade, switchover, ...). */
export function workflowsPage(rows: readonly WorkflowRow[]): Html {
  if (rows.length === 0) return html`<h1>Workflows</h1><p class="muted">no workflows in the journal yet</p>`;
  return html`<h1>Workflows</h1><table><thead><tr><th>workflow</th><th>pool</th><th>kind</th><th>state</th><th>started by</th><th>created</th><th>updated</th><th>error</th></tr></thead><tbody>
${rows.map((w) => html`<tr data-workflow="${w.id}"><td><a href="/workflows/${w.id}">${w.id}</a></td><td>${w.pool}</td><td>${w.kind}</td><td class="${stateClass(w.state)}" data-field="state">${w.state}${w.request === '' ? '' : ` (${w.request} requested)`}</td><td>${w.startedBy}</td><td>${w.createdAt}</td><td>${w.updatedAt}</td><td>${w.error}</td></tr>`)}
</tbody></table>`;
}
