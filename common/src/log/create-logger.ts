import { pino, type Logger, type LoggerOptions } from 'pino';

const censor = '[redacted]';

/**
 * Field names that carry secrets, at any depth. pino's `redact` paths (fast-redact) take one `*`
 * per level and no recursive wildcard, so `*.*.password` stopped at depth 2 and a secret one level
 * deeper (a spec inside a request inside a log object) reached the log. The log formatter walks
 * the whole object instead.
 */
const secretKey = /^(?:password|passwd|secret|sharedsecret|chappassword|privatekey|credentials|sessionid|authorization|token|accesstoken)$/i;

/** Deeper than any log object we write; past it a subtree is dropped rather than walked. */
const maxDepth = 32;

/** A copy of `value` with every secret-named field censored (cycles and depth bounded). */
export function redactDeep(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= maxDepth) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  // Buffers, Dates, Errors and the like keep their own serialisation (pino's err serializer runs first).
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = secretKey.test(k) && v !== undefined && v !== '' ? censor : redactDeep(v, depth + 1, seen);
  }
  return out;
}

export function createLogger(name: string, options: { level?: string; destination?: number } = {}): Logger {
  const opts: LoggerOptions = {
    name,
    level: options.level ?? process.env['XSCTL_LOG_LEVEL'] ?? 'info',
    // A top-level `key` (a TLS key's PEM) as before; secret names below are the formatter's.
    redact: { paths: ['key', '*.privateKey'], censor },
    formatters: { log: (obj) => redactDeep(obj) as Record<string, unknown> },
  };
  // Logs go to stderr by default so stdout stays data.
  return pino(opts, pino.destination(options.destination ?? 2));
}
export type { Logger } from 'pino';
