import type { PoolScsiServiceGetAluaReportResponse } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import { gib, html, type Html } from '../html.js';
import type { PoolView } from '../../watch/pool-view.js';

export interface MultipathPoolSection {
  view: PoolView;
  alua: PoolScsiServiceGetAluaReportResponse | undefined;
  error: string;
}

function pathsSection(v: PoolView): Html {
  const srs = v.srs.filter((sr) => sr.shared);
  if (srs.length === 0) return html`<p class="muted">no shared SRs</p>`;
  return html`<table><thead><tr><th>SR</th><th>type</th><th>size GiB</th><th>host</th><th>attached</th><th>multipathed</th><th>paths (active/total per LUN)</th></tr></thead><tbody>
${srs.flatMap((sr) =>
  sr.hosts.map((h, i) => {
    const degraded = h.paths.some((p) => p.active < p.total) || !h.attached;
    return html`<tr class="${degraded ? 'bad' : ''}" data-sr="${sr.name}">
${i === 0 ? html`<td rowspan="${sr.hosts.length}">${sr.name}</td><td rowspan="${sr.hosts.length}">${sr.type}</td><td rowspan="${sr.hosts.length}">${gib(sr.sizeBytes)}</td>` : ''}
<td>${h.host}</td><td>${h.attached ? 'yes' : 'no'}</td><td>${h.multipathed ? 'yes' : 'no'}</td>
<td data-field="paths">${h.paths.length === 0 ? html`<span class="muted">XAPI reports no path counts</span>` : h.paths.map((p) => html`<code>${p.scsiId}</code> ${p.active}/${p.total} `)}</td></tr>`;
  }),
)}</tbody></table>`;
}

function aluaSection(s: MultipathPoolSection): Html {
  if (s.alua === undefined) return html`<p class="bad">ALUA verdicts: ${s.error}</p>`;
  const rows = s.alua.hosts.flatMap((h) => {
    if (h.error !== undefined) return [html`<tr class="bad"><td>${h.host}</td><td colspan="5">${h.error.code}: ${h.error.message}</td></tr>`];
    const luns = h.result?.luns ?? [];
    if (luns.length === 0) return [html`<tr><td>${h.host}</td><td colspan="5" class="muted">no multipath maps</td></tr>`];
    return luns.map((l) => html`<tr class="${l.problems.length > 0 ? 'warn' : ''}"><td>${h.host}</td><td>${l.name} <code>${l.wwid}</code></td><td>${l.vendor} ${l.product}</td>
<td data-field="alua">${l.aluaInUse ? html`<span class="ok">ALUA in use</span>` : html`<span class="bad">not in use</span>`} (${l.mode})</td>
<td>${l.optimizedPaths.length} optimized, ${l.nonOptimizedPaths.length} non-optimized${l.groupsMatch ? '' : html` <span class="bad">groups do not follow ALUA</span>`}</td>
<td>${l.problems.join('; ')}</td></tr>`);
  });
  return html`<table><thead><tr><th>host</th><th>LUN</th><th>array</th><th>verdict</th><th>paths</th><th>problems</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Paths per SR as XAPI counts them (live) and the agents' ALUA verdict per LUN (cached). */
export function multipathPage(sections: readonly MultipathPoolSection[]): Html {
  return html`<h1>Multipath</h1>${sections.map((s) => html`<section data-pool="${s.view.name}"><h2>${s.view.name}</h2><h3>Paths per SR (XAPI)</h3>${pathsSection(s.view)}<h3>ALUA (agents)</h3>${aluaSection(s)}</section>`)}`;
}
