import { html, type Html } from '../html.js';
import type { HttpIdentity } from '../auth/http-identity.js';

export type PageName = 'pools' | 'hosts' | 'storage' | 'multipath' | 'workflows' | 'workflow';

const nav: ReadonlyArray<[PageName, string, string]> = [
  ['pools', '/', 'Pools'],
  ['hosts', '/hosts', 'Hosts'],
  ['storage', '/storage', 'Storage'],
  ['multipath', '/multipath', 'Multipath'],
  ['workflows', '/workflows', 'Workflows'],
];

/** The page shell: navigation, who is logged in, the live badge; `main` is what live updates replace. */
export function layout(options: { page: PageName; title: string; who: HttpIdentity; main: Html; workflow?: string }): string {
  const current = options.page === 'workflow' ? 'workflows' : options.page;
  return `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · xsctl</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml"><link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/live.js" defer></script>
</head><body data-page="${options.page}" data-workflow="${options.workflow ?? ''}">
<header><strong>xsctl</strong><nav>${nav.map(([name, href, label]) => html`<a href="${href}"${name === current ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
<span id="live" title="live updates">static</span>
<span class="who">${options.who.name} (${options.who.role}, ${options.who.via}) · read-only</span></header>
<main>${options.main}</main>
</body></html>`.value}\n`;
}
