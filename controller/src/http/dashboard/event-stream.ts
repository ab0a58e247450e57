import type { ServerResponse } from 'node:http';
import type { PoolHub } from '../../watch/pool-hub.js';
import type { PoolView } from '../../watch/pool-view.js';
import type { WorkflowEngine, WorkflowEvent } from '../../workflows/engine/workflow-engine.js';

/** What a `pool` event carries: enough for a script or a test to see the change without a page fetch. */
export function poolSummary(v: PoolView): Record<string, unknown> {
  return {
    pool: v.name,
    connected: v.connected,
    error: v.error,
    updatedAt: v.updatedAt,
    master: v.master,
    vmsRunning: v.vmsRunning,
    vmsTotal: v.vmsTotal,
    hosts: v.hosts.map((h) => ({ name: h.name, enabled: h.enabled, live: h.live, version: h.version, residentVms: h.residentVms, agent: h.agent?.state ?? 'unknown' })),
  };
}

export function workflowSummary(e: WorkflowEvent): Record<string, unknown> {
  const d = e.data;
  return { id: e.id, workflowId: e.workflowId, at: e.at, kind: e.kind, step: typeof d['step'] === 'string' ? d['step'] : '', host: typeof d['host'] === 'string' ? d['host'] : '' };
}

/**
 * Server-sent events for the dashboard: `pool` when a pool's XAPI objects or agents change,
 * `workflow` for every journaled workflow event; every pool's current state is sent on connect (progress ticks are left out: the timeline shows
 * steps). A comment line every 15 s keeps proxies from closing an idle stream.
 */
export function openEventStream(res: ServerResponse, sources: { hub: PoolHub; engine: WorkflowEngine }, onClose: (fn: () => void) => void): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
  });
  const send = (event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  res.write('retry: 2000\n\n');
  // The current state of every pool first: a client that connects (or reconnects) later than a
  // change still starts from the truth.
  for (const v of sources.hub.views()) send('pool', poolSummary(v));
  const onPool = (v: PoolView): void => send('pool', poolSummary(v));
  sources.hub.on('pool', onPool);
  const offWorkflow = sources.engine.onEvent((e) => {
    if (e.id !== 0) send('workflow', workflowSummary(e));
  });
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  ping.unref();
  onClose(() => {
    clearInterval(ping);
    sources.hub.off('pool', onPool);
    offWorkflow();
  });
}
