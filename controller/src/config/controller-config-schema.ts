import { z } from 'zod';
import { defaultLimits, type RoleLimits } from '../limits/identity-limits.js';
import { poolStorageSchema } from './storage-config-schema.js';

/** A name that is safe in a URL path, a label and a file name. */
const simpleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a simple name (letters, digits, dot, dash, underscore)');
const hostPort = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT');
const path = z.string().min(1, 'must be a path');
const port = z.number().int().min(1).max(65535);

const roleLimits = (d: RoleLimits) =>
  z
    .strictObject({
      callsPerMinute: z.number().int().min(1).max(100_000).default(d.callsPerMinute),
      concurrent: z.number().int().min(1).max(1_000).default(d.concurrent),
      streams: z.number().int().min(1).max(1_000).default(d.streams),
    })
    .prefault({});

const xapiSchema = z
  .strictObject({
    url: z.string().regex(/^https?:\/\//, 'must be an http(s) URL'),
    user: z.string().min(1).default('root'),
    passwordFile: path.optional(),
    /** For labs only: prefer passwordFile. */
    password: z.string().optional(),
    /** Each of these lets the XAPI password travel unverified: never by default, a warning at start when set. */
    allowUnauthorized: z.boolean().default(false),
    allowPlainHttp: z.boolean().default(false),
    followMasterRedirect: z.boolean().default(false),
  })
  .refine((x) => x.passwordFile !== undefined || x.password !== undefined, { message: 'needs passwordFile (or password)', path: ['passwordFile'] })
  .refine((x) => !x.url.startsWith('http://') || x.allowPlainHttp, { message: 'http:// sends the XAPI password in clear: use https://, or set allowPlainHttp: true (labs, simulators)', path: ['url'] });

const poolSchema = z.strictObject({
  name: simpleName,
  xapi: xapiSchema,
  agentPort: port.default(7443),
  /** Two-node storage and failover (storage-config-schema.ts; cross-field checks in pool-storage-config.ts). */
  storage: poolStorageSchema.optional(),
});

/**
 * The controller config and inventory. Strict everywhere: an unknown key (a typo such as
 * `pasword`) is an error naming its path, never silently ignored.
 */
export const controllerConfigSchema = z.strictObject({
  listen: hostPort.default('127.0.0.1:7444'),
  http: z
    .strictObject({
      listen: hostPort.nullable().default(null),
      /** Lifetime of a dashboard session cookie made from a one-time login link. */
      sessionMinutes: z.number().int().min(1).max(24 * 60).default(60),
      /** Where login links point (the address a browser reaches), when not the listen address. */
      publicUrl: z.string().regex(/^https:\/\/[^/]+$/, 'must be https://HOST[:PORT] without a path').optional(),
    })
    .prefault({}),
  /** `crl`: the CA's revocation list (DIR/ca/crl.pem): enforced, re-read when it changes, handed to the agents. */
  tls: z.strictObject({ ca: path, cert: path, key: path, crl: path.optional() }),
  journal: path.default('xsctl-journal.sqlite'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How the controller follows pools for the dashboard and metrics. */
  watch: z
    .strictObject({
      /** Follow each pool through XAPI event.from. */
      xapiEvents: z.boolean().default(true),
      /** Seconds between agent probes (GetFacts) per host; 0 turns probing off. */
      agentProbeSeconds: z.number().int().min(0).max(3600).default(30),
    })
    .prefault({}),
  /** Per-identity limits (issue 10, defect 9): calls per minute, calls and streams in flight, per role. */
  limits: z
    .strictObject({
      viewer: roleLimits(defaultLimits.viewer),
      operator: roleLimits(defaultLimits.operator),
    })
    .prefault({}),
  /**
   * Switches for test harnesses only (issue 10, defect 13). `simulatedUpgrade` lets StartRollingUpgrade
   * and Plan take the `simulated` action, which calls a plugin only the XAPI simulator has; off, a
   * request naming it is refused with VALIDATION_FAILED on `options.action`.
   */
  /** Cap on one pool database dump (/pool/xmldbdump); past it the download stops and the partial file is deleted. */
  metadataBackup: z.strictObject({ maxMiB: z.number().int().min(1).max(65536).default(512) }).prefault({}),
  testing: z.strictObject({ simulatedUpgrade: z.boolean().default(false) }).prefault({}),
  pools: z
    .array(poolSchema)
    .min(1, 'must be a non-empty list')
    .superRefine((pools, ctx) => {
      const seen = new Set<string>();
      for (const [i, p] of pools.entries()) {
        if (seen.has(p.name)) ctx.addIssue({ code: 'custom', message: `pool ${p.name} is listed twice`, path: [i, 'name'] });
        seen.add(p.name);
      }
    }),
});

export type ControllerConfigInput = z.input<typeof controllerConfigSchema>;
export type ParsedControllerConfig = z.output<typeof controllerConfigSchema>;

/** `pools[0].xapi.url` from zod's path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out === '' ? '(top level)' : out;
}

/** One line per problem, each starting with the path of the bad key; never the bad value (it may be a password). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${formatPath([...i.path, k])}: unknown key`).join('; ');
      return `${formatPath(i.path)}: ${i.message}`;
    })
    .join('; ');
}
