import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatXapiDate } from '../../clock.js';
import type { Credentials } from '../../method-registry.js';
import type { XapiDb } from '../../xapi-db.js';
import type { XapiValue } from '../../xapi-value.js';

/**
 * XAPI's `GET /pool/xmldbdump` (Pool_db_backup.pull_database_backup_handler), which
 * `xe pool-dump-database` and Xen Orchestra's pool metadata backup call: the whole database as
 * `<database><manifest><pair …/></manifest><table name="…"><row ref="…" …/></table>…</database>`,
 * the format the simulator's loader reads. As in Xapi_http.with_context, the caller proves itself
 * with a session_id (query or cookie) or HTTP Basic credentials, else gets 401; a task_id names
 * a task that is completed when the dump is written.
 */

export const poolXmlDbDumpPath = '/pool/xmldbdump';

/** Datamodel namespaces XAPI writes with a double underscore (name__label, memory__static_max, …). */
const namespaces = ['name', 'memory', 'actions', 'VCPUs', 'PV', 'HVM', 'qos', 'io', 'API_version'];

export function dumpFieldName(field: string): string {
  for (const ns of namespaces) if (field.startsWith(`${ns}_`) && field.length > ns.length + 1) return `${ns}__${field.slice(ns.length + 1)}`;
  return field;
}

/** Xml_spaces.protect: whitespace that XML attribute normalisation would lose. */
function protectSpaces(text: string): string {
  return text.replace(/%/g, '%%').replace(/\n/g, '%n').replace(/\r/g, '%r').replace(/\t/g, '%t').replace(/ {2}/g, '%_');
}

function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Sets as `('a' 'b')`, maps as `(('k' 'v'))`, scalars as text — the dump's s-expressions. */
function sexpr(value: XapiValue): string {
  if (Array.isArray(value)) return `(${value.map((v) => (Array.isArray(v) || (typeof v === 'object' && v !== null) ? sexpr(v) : quote(String(v)))).join(' ')})`;
  if (typeof value === 'object' && value !== null) {
    return `(${Object.entries(value)
      .map(([k, v]) => `(${quote(k)} ${Array.isArray(v) || (typeof v === 'object' && v !== null) ? sexpr(v) : quote(String(v))})`)
      .join(' ')})`;
  }
  return String(value);
}

export interface DumpOptions {
  schemaMajor?: number;
  schemaMinor?: number;
}

/** The database as `xe pool-dump-database` writes it. */
export function serializePoolDump(db: XapiDb, options: DumpOptions = {}): string {
  const parts: string[] = [
    '<database><manifest>',
    `<pair key="schema_major_vsn" value="${options.schemaMajor ?? 5}"/>`,
    `<pair key="schema_minor_vsn" value="${options.schemaMinor ?? 63}"/>`,
    `<pair key="generation_count" value="${db.generation}"/>`,
    '</manifest>',
  ];
  for (const cls of [...db.classNames].sort()) {
    const refs = db.refs(cls);
    if (refs.length === 0) {
      parts.push(`<table name="${escapeAttr(cls)}"/>`);
      continue;
    }
    parts.push(`<table name="${escapeAttr(cls)}">`);
    for (const ref of refs) {
      const record = db.tryGetRecord(cls, ref);
      if (record === undefined) continue;
      const attrs = [`ref="${escapeAttr(ref)}"`];
      for (const [field, value] of Object.entries(record)) attrs.push(`${dumpFieldName(field)}="${escapeAttr(protectSpaces(sexpr(value)))}"`);
      attrs.push(`_ref="${escapeAttr(ref)}"`);
      parts.push(`<row ${attrs.join(' ')}/>`);
    }
    parts.push('</table>');
  }
  parts.push('</database>');
  return parts.join('');
}

export interface DumpHandlerEnv {
  db: XapiDb;
  credentials: Credentials;
}

function sessionFrom(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('session_id');
  if (fromQuery !== null) return fromQuery;
  const cookie = /(?:^|;\s*)session_id=([^;]+)/.exec(req.headers.cookie ?? '');
  return cookie?.[1];
}

function basicAuth(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (m === null) return undefined;
  const text = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Serves GET /pool/xmldbdump; other methods on the path answer 405 (restore is not simulated). */
export function handlePoolXmlDbDump(req: IncomingMessage, res: ServerResponse, env: DumpHandlerEnv): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', connection: 'close' }).end();
    return;
  }
  const session = sessionFrom(req, url);
  const basic = basicAuth(req);
  const authorised =
    session !== undefined ? env.db.has('session', session) : basic !== undefined && basic.user === env.credentials.user && basic.password === env.credentials.password;
  if (!authorised) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="xapi"', connection: 'close' }).end();
    return;
  }
  const body = serializePoolDump(env.db);
  res.writeHead(200, { connection: 'close', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  const task = url.searchParams.get('task_id');
  if (task !== null && env.db.has('task', task)) {
    env.db.update('task', task, { status: 'success', progress: 1, finished: formatXapiDate(env.db.clock.now()) });
  }
}
