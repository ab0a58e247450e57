import { gib, html, type Html } from '../html.js';
import type { HostRow, PoolView } from '../../watch/pool-view.js';

const dayMs = 86_400_000;

/** Days left on the agent's certificate; under 30 days is flagged. */
function certificateCell(h: HostRow, now: number): Html {
  const at = h.agent?.certificateNotAfter ?? '';
  if (at === '') return html`<td class="muted">-</td>`;
  const days = Math.floor((Date.parse(at) - now) / dayMs);
  return html`<td class="${days < 30 ? 'bad' : ''}" title="${at}">${days < 0 ? 'EXPIRED' : `${days} d`}</td>`;
}

function agentCells(h: HostRow): Html {
  const a = h.agent;
  if (a === undefined) return html`<td class="muted">not probed yet</td><td>-</td><td>-</td>`;
  if (a.state !== 'ok') return html`<td class="bad" title="${a.error}">${a.state}</td><td>-</td><td>-</td>`;
  return html`<td class="ok">ok</td><td>${a.productVersion} <span class="muted">${a.buildNumber}</span> / agent ${a.agentVersion}</td><td>${(a.uptimeSeconds / 3600).toFixed(1)} h</td>`;
}

/** XAPI's view and the agent's facts side by side, per pool, with versions, hotfixes and certificates. */
export function hostsPage(views: readonly PoolView[], now = Date.now()): Html {
  const sections = views.map((v) => {
    const rows = v.hosts.map((h) => {
      const cls = !h.live || h.agent?.state !== 'ok' || h.mismatches.length > 0 ? 'bad' : h.missingHotfixes.length > 0 || !h.enabled ? 'warn' : '';
      return html`<tr class="${cls}" data-host="${h.name}">
<td>${h.name}</td><td>${h.isMaster ? 'master' : 'slave'}</td><td>${h.address}</td>
<td data-field="enabled">${h.enabled ? 'yes' : 'no'}</td><td data-field="live">${h.live ? 'yes' : 'no'}</td>
<td data-field="version">${h.brand} ${h.version} <span class="muted">${h.build}</span></td>
<td>${h.residentVms}</td><td>${gib(h.memoryFreeBytes)}/${gib(h.memoryTotalBytes)}</td>
${agentCells(h)}
<td>${h.hotfixes.length}${h.missingHotfixes.length > 0 ? html` <span class="bad">missing ${h.missingHotfixes.join(', ')}</span>` : ''}</td>
${certificateCell(h, now)}
<td>${h.mismatches.join('; ')}</td></tr>`;
    });
    const versions = Object.keys(v.versions);
    return html`<section data-pool="${v.name}"><h2>${v.name}</h2>
${v.connected ? '' : html`<p class="bad">XAPI: ${v.error}</p>`}
<p>${versions.length <= 1 ? html`<span class="pill ok">one version: ${versions[0] ?? '-'}</span>` : html`<span class="pill bad">versions differ: ${versions.join(', ')}</span>`}
 ${v.hotfixesUniform ? html`<span class="pill ok">hotfixes uniform</span>` : html`<span class="pill bad">hotfixes differ</span>`}</p>
<table><thead><tr><th>host</th><th>role</th><th>address</th><th>enabled</th><th>live</th><th>XAPI version</th><th>VMs</th><th>mem free/total GiB</th><th>agent</th><th>agent facts</th><th>uptime</th><th>hotfixes</th><th>agent cert</th><th>notes</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
  });
  return html`<h1>Hosts</h1>${sections}`;
}
