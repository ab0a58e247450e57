/**
 * The dashboard's only static files, served from memory: one stylesheet, one small script (live
 * updates over server-sent events; every page also works without it) and an icon. No build step.
 */
export const stylesheet = `
:root{--bad:#b3261e;--bad-bg:#fde2e1;--warn-bg:#fff4d6;--ok:#1e6b34;--ok-bg:#e3f4e8;--line:#d0d4d9;--muted:#5f6670}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2125;background:#f7f8fa}
header{display:flex;align-items:center;gap:1.5em;padding:.6em 1.5em;background:#1d2733;color:#fff}
header a{color:#cfe3ff;text-decoration:none}header a[aria-current=page]{color:#fff;font-weight:600;border-bottom:2px solid #fff}
header nav{display:flex;gap:1.2em}header .who{margin-left:auto;font-size:.85em;color:#b9c3cf}
#live{font-size:.8em;padding:.1em .5em;border-radius:1em;background:#394657}#live.on{background:#1e6b34}
main{padding:1em 1.5em}
h1{font-size:1.3em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;background:#fff;margin-bottom:1em}
td,th{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;font-size:.9em}
th{background:#eef1f4}
tr.bad td{background:var(--bad-bg)}tr.warn td{background:var(--warn-bg)}
.bad{color:var(--bad);font-weight:600}.ok{color:var(--ok)}.muted{color:var(--muted)}
.pill{display:inline-block;padding:0 .5em;border-radius:1em;font-size:.85em;background:#e7eaee}
.pill.ok{background:var(--ok-bg)}.pill.bad{background:var(--bad-bg)}
.cards{display:flex;flex-wrap:wrap;gap:1em}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.8em 1em;min-width:18em}
.card h2{margin-top:0}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
pre{white-space:pre-wrap;margin:0;max-width:40em}
ol.timeline{list-style:none;padding:0;margin:0;border-left:3px solid var(--line)}
ol.timeline li{margin:0 0 .6em;padding:.3em .8em;position:relative;background:#fff;border:1px solid var(--line);border-left:none;margin-left:0}
ol.timeline li::before{content:"";position:absolute;left:-9px;top:.8em;width:12px;height:12px;border-radius:50%;background:#9aa4ae}
ol.timeline li.done::before{background:var(--ok)}ol.timeline li.failed::before{background:var(--bad)}
ol.timeline li.started::before{background:#2f6fde}ol.timeline li.compensated::before{background:#a36b00}
.step-head{display:flex;gap:1em;align-items:baseline;flex-wrap:wrap}
.step-head .name{font-family:ui-monospace,Menlo,monospace;font-weight:600}
details summary{cursor:pointer;color:var(--muted);font-size:.85em}
`;

export const liveScript = `'use strict';
// Live updates: the server pushes pool and workflow changes over server-sent events; this script
// re-fetches the current page's <main> (server-rendered) when something it shows changed.
(function () {
  var main = document.querySelector('main');
  var badge = document.getElementById('live');
  var page = document.body.getAttribute('data-page') || '';
  var workflow = document.body.getAttribute('data-workflow') || '';
  if (!main || typeof EventSource === 'undefined') return;
  var pending = null;
  var refreshes = 0;
  function refresh() {
    if (pending !== null) return;
    pending = setTimeout(function () {
      var url = location.pathname + (location.search ? location.search + '&' : '?') + 'fragment=1';
      fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) {
          pending = null;
          if (text === null) return;
          main.innerHTML = text;
          refreshes += 1;
          main.setAttribute('data-refreshes', String(refreshes));
        }, function () { pending = null; });
    }, 150);
  }
  var es = new EventSource('/events');
  es.addEventListener('open', function () { if (badge) { badge.textContent = 'live'; badge.className = 'on'; } });
  es.addEventListener('error', function () { if (badge) { badge.textContent = 'reconnecting'; badge.className = ''; } });
  es.addEventListener('pool', function () {
    if (page === 'pools' || page === 'hosts' || page === 'multipath') refresh();
  });
  es.addEventListener('workflow', function (e) {
    var d = {};
    try { d = JSON.parse(e.data); } catch (err) { return; }
    if (page === 'workflows' || page === 'pools' || page === 'storage' || (page === 'workflow' && d.workflowId === workflow)) refresh();
  });
})();
`;

export const icon = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d2733"/><path d="M4 4l8 8M12 4l-8 8" stroke="#cfe3ff" stroke-width="2"/></svg>';
