import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

/** The vendored reference client's probe driver (test/fixtures/xenapi-py/probe.py). */
const probeScript = fileURLToPath(new URL('../fixtures/xenapi-py/probe.py', import.meta.url));

export interface ProbeStep {
  id: string;
  mode?: 'xenapi' | 'raw' | 'raw_session' | 'wait_task' | 'sleep';
  method?: string;
  args?: unknown[];
  path?: string;
  seconds?: number;
  timeout?: number;
}

export type Tagged =
  | { s: string }
  | { i: number }
  | { b: boolean }
  | { f: number }
  | { dt: string }
  | { n: null }
  | { l: Tagged[] }
  | { d: Record<string, Tagged> };

export type ProbeOutcome = { ok: Tagged } | { failure: string[] } | { fault: [number, string] } | { exception: string };

/** Runs one plan with XenAPI.py under python3 and returns each step's outcome by id. */
export async function runXenApiPy(url: string, plan: { login: string[] | null; steps: ProbeStep[] }): Promise<Record<string, ProbeOutcome>> {
  const { stdout } = await execa('python3', [probeScript, url], { input: JSON.stringify(plan), timeout: 120_000 });
  return JSON.parse(stdout) as Record<string, ProbeOutcome>;
}

/** The plain value of a tagged result (DateTime as its text), for assertions that ignore wire types. */
export function plain(t: Tagged): unknown {
  if ('s' in t) return t.s;
  if ('i' in t) return t.i;
  if ('b' in t) return t.b;
  if ('f' in t) return t.f;
  if ('dt' in t) return t.dt;
  if ('n' in t) return null;
  if ('l' in t) return t.l.map(plain);
  return Object.fromEntries(Object.entries(t.d).map(([k, v]) => [k, plain(v)]));
}

export function ok(outcome: ProbeOutcome | undefined): Tagged {
  if (outcome === undefined || !('ok' in outcome)) throw new Error(`expected a value, got ${JSON.stringify(outcome)}`);
  return outcome.ok;
}

export interface RawResponse {
  status: number;
  type: string | null;
  body: string;
  json?: unknown;
}

/** One HTTP POST, for the wire shapes no client shows (JSON-RPC envelopes, HTTP 500s). */
export async function post(url: string, path: string, body: string, contentType = 'application/json'): Promise<RawResponse> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await res.text();
  const type = res.headers.get('content-type');
  let json: unknown;
  if (type === 'application/json') json = JSON.parse(text);
  return { status: res.status, type, body: text, json };
}
