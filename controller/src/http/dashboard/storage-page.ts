import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { GetPoolStorageStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { html, type Html } from '../html.js';
import type { WitnessView } from './storage-witness.js';

export interface StoragePoolSection {
  pool: string;
  status: GetPoolStorageStatusResponse | undefined;
  error: string;
  witness: WitnessView | undefined;
}

function witnessSection(w: WitnessView | undefined): Html {
  if (w === undefined) return html`<p class="muted" data-field="witness">witness: this controller reports no witness data for the pool</p>`;
  return html`<div data-field="witness"><h3>Witness</h3>
<table><thead><tr><th>node</th><th>role</th><th>last seen</th><th>links</th></tr></thead><tbody>
${w.nodes.map((n) => html`<tr><td>${n.host}</td><td>${n.role}</td><td>${n.lastSeen}</td><td>${n.links.map((l) => html`<span class="pill ${l.up ? 'ok' : 'bad'}">${l.name}</span> `)}</td></tr>`)}
</tbody></table>
${w.lastFailover === undefined ? html`<p class="muted">no failover recorded</p>` : html`<p>last failover ${w.lastFailover.at}: ${w.lastFailover.from} → ${w.lastFailover.to} (${w.lastFailover.reason})${w.lastFailover.workflowId === undefined ? '' : html` <a href="/workflows/${w.lastFailover.workflowId}">timeline</a>`}</p>`}
${w.notes.map((n) => html`<p class="muted">${n}</p>`)}</div>`;
}

function poolSection(s: StoragePoolSection): Html {
  if (s.status === undefined) return html`<section data-pool="${s.pool}"><h2>${s.pool}</h2><p class="bad">${s.error}</p>${witnessSection(s.witness)}</section>`;
  const rows = s.status.hosts.flatMap((h) => {
    if (h.status === undefined) return [html`<tr class="bad"><td>${h.host}</td><td colspan="8">${h.errorCode}: ${h.errorMessage}</td></tr>`];
    const st = h.status;
    const resources = st.drbd.length === 0 ? [undefined] : st.drbd;
    return resources.map((r, i) => {
      const split = r?.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED;
      return html`<tr class="${split ? 'bad' : ''}">
${i === 0 ? html`<td rowspan="${resources.length}">${h.host}${h.isMaster ? ' (XAPI master)' : ''}</td><td rowspan="${resources.length}">${st.apparentRole}</td>` : ''}
<td>${r?.name ?? '-'}</td><td>${r === undefined ? '-' : `${r.role}/${r.peerRole}`}</td><td>${r === undefined ? '-' : `${r.disk}/${r.peerDisk}`}</td>
<td>${r?.connection ?? '-'}${r?.syncPercent === undefined ? '' : ` ${r.syncPercent.toFixed(1)}%`}</td>
<td data-field="split-brain">${split ? html`<span class="bad">SPLIT BRAIN</span> <span class="muted">${r?.splitBrainEvidence}</span>` : 'no'}</td>
${i === 0 ? html`<td rowspan="${resources.length}">${st.floatingIpPresent ? html`<span class="ok">${st.floatingIp} here</span>` : html`<span class="muted">${st.floatingIp || '-'}</span>`}</td>
<td rowspan="${resources.length}">${st.tgtdRunning ? `tgtd: ${st.targets.length} target(s)` : 'tgtd stopped'}${st.bootEnabled.length > 0 ? html` <span class="bad">enabled at boot: ${st.bootEnabled.join(', ')}</span>` : ''}</td>` : ''}
</tr>`;
    });
  });
  return html`<section data-pool="${s.pool}"><h2>${s.pool}</h2>
${s.status.problems.map((p) => html`<p class="bad">${p}</p>`)}
<table><thead><tr><th>host</th><th>storage role</th><th>DRBD resource</th><th>role (local/peer)</th><th>disk (local/peer)</th><th>connection</th><th>split brain</th><th>floating IP</th><th>target</th></tr></thead>
<tbody>${rows}</tbody></table>
${witnessSection(s.witness)}</section>`;
}

/** DRBD roles, floating IP, split brain and the witness per pool, as the agents report them. */
export function storagePage(sections: readonly StoragePoolSection[]): Html {
  return html`<h1>Storage</h1><p class="muted">DRBD, tgtd and the floating IP as each host's agent reports them (refreshed at most every 15 s).</p>${sections.map(poolSection)}`;
}
