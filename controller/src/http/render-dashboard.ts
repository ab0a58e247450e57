import { AgentState, type ListHostsResponse } from '@xsctl/proto/gen/xsctl/controller/v1/controller';

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A server-rendered, script-free page: it must work from a jump host with a text browser. */
export function renderDashboard(view: ListHostsResponse): string {
  const rows = view.hosts
    .map((h) => {
      const x = h.xapi;
      const a = h.agent;
      const ok = a?.state === AgentState.AGENT_STATE_OK;
      const cls = !ok || h.mismatches.length > 0 ? ' class="warn"' : '';
      return `<tr${cls}><td>${esc(h.pool)}</td><td>${esc(x?.nameLabel)}</td><td>${esc(x?.address)}</td><td>${x?.isMaster ? 'master' : 'slave'}</td><td>${x?.enabled ? 'yes' : 'no'}</td><td>${x?.live ? 'yes' : 'no'}</td><td>${esc(`${x?.productBrand ?? ''} ${x?.productVersion ?? ''}`)}</td><td>${ok ? 'ok' : esc(a?.errorCode ?? 'unknown')}</td><td>${esc(h.mismatches.join('; '))}</td></tr>`;
    })
    .join('\n');
  const errors = view.poolErrors.map((e) => `<p class="warn">pool ${esc(e.pool)}: ${esc(e.code)}: ${esc(e.message)}</p>`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>xsctl</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.warn{background:#fde2e1}</style>
</head><body><h1>xsctl pools</h1>
${errors}
<table><thead><tr><th>pool</th><th>host</th><th>address</th><th>role</th><th>enabled</th><th>live</th><th>version</th><th>agent</th><th>notes</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}
