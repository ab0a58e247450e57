import { html, type Html } from '../html.js';
import type { PoolView } from '../../watch/pool-view.js';
import type { WorkflowRow } from '../../workflows/engine/workflow-store.js';

function versionsText(v: PoolView): Html {
  const entries = Object.entries(v.versions);
  if (entries.length === 0) return html`<span class="muted">-</span>`;
  if (entries.length === 1) return html`<span class="ok">${entries[0]?.[0]} on every host</span>`;
  return html`<span class="bad">mixed: ${entries.map(([ver, n]) => `${ver} ×${n}`).join(', ')}</span>`;
}

/** One card per pool: connection, master, hosts up, VMs, versions, hotfixes, HA/WLB, its active workflow. */
export function poolsPage(views: readonly PoolView[], active: ReadonlyMap<string, WorkflowRow>): Html {
  const cards = views.map((v) => {
    const up = v.hosts.filter((h) => h.live).length;
    const agentsOk = v.hosts.filter((h) => h.agent?.state === 'ok').length;
    const wf = active.get(v.name);
    return html`<section class="card" data-pool="${v.name}">
<h2>${v.name}${v.label !== '' && v.label !== v.name ? html` <span class="muted">(${v.label})</span>` : ''}</h2>
${v.connected ? html`<p><span class="pill ok">XAPI events: connected</span></p>` : html`<p><span class="pill bad">XAPI: ${v.error}</span></p>`}
<table><tbody>
<tr><th>master</th><td>${v.master || '-'}</td></tr>
<tr><th>hosts live</th><td data-field="hosts-live" class="${up === v.hosts.length ? 'ok' : 'bad'}">${up}/${v.hosts.length}</td></tr>
<tr><th>agents answering</th><td class="${agentsOk === v.hosts.length ? 'ok' : 'bad'}">${agentsOk}/${v.hosts.length}</td></tr>
<tr><th>VMs running</th><td data-field="vms-running">${v.vmsRunning}/${v.vmsTotal}</td></tr>
<tr><th>versions</th><td>${versionsText(v)}</td></tr>
<tr><th>hotfixes</th><td>${v.hotfixesUniform ? html`<span class="ok">uniform</span>` : html`<span class="bad">not uniform</span>`}</td></tr>
<tr><th>HA / WLB</th><td>${v.haEnabled ? 'on' : 'off'} / ${v.wlbEnabled ? 'on' : 'off'}</td></tr>
<tr><th>workflow</th><td>${wf === undefined ? html`<span class="muted">none active</span>` : html`<a href="/workflows/${wf.id}">${wf.kind} ${wf.state}</a>`}</td></tr>
</tbody></table>
<p class="muted">updated ${v.updatedAt || 'never'}</p>
</section>`;
  });
  return html`<h1>Pools</h1><div class="cards">${cards}</div>`;
}
