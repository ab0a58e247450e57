import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '@xsctl/common/errors/index';
import { parsePoolStorageConfig, type PoolStorageConfig } from './pool-storage-config.js';
import { controllerConfigSchema, describeIssues } from './controller-config-schema.js';
import type { Limits } from '../limits/identity-limits.js';

/** The transport settings of a pool's XAPI, for every door that sends its password. */
export const xapiTransportOf = (pool: PoolConfig): { allowUnauthorized: boolean; allowPlainHttp: boolean; followMasterRedirect: boolean } => ({
  allowUnauthorized: pool.xapi.allowUnauthorized,
  allowPlainHttp: pool.xapi.allowPlainHttp,
  followMasterRedirect: pool.xapi.followMasterRedirect,
});

export interface PoolConfig {
  name: string;
  xapi: {
    url: string;
    user: string;
    /** Read from passwordFile when set; a literal `password` is accepted for labs only. */
    password: string;
    /** Each of these exposes the password and must be set on purpose; the controller warns at start. */
    allowUnauthorized: boolean;
    allowPlainHttp: boolean;
    followMasterRedirect: boolean;
  };
  agentPort: number;
  /** Two-node hyperconverged storage served by the pool's own hosts (switchover, failover). */
  storage?: PoolStorageConfig | undefined;
}

export interface ControllerConfig {
  listen: string;
  http: { listen: string | null; sessionMinutes: number; publicUrl?: string };
  /** `crl`: the CA's revocation list (ca/crl.pem), re-read when it changes and handed to the agents. */
  tls: { ca: string; cert: string; key: string; crl: string | null };
  journal: string;
  logLevel: string;
  watch: { xapiEvents: boolean; agentProbeSeconds: number };
  /** Per-identity call limits; absent in hand-made configs of tests: the defaults apply. */
  limits?: Limits;
  /** Cap on one metadata dump, in bytes; absent (hand-made configs of tests): the 512 MiB default. */
  metadataBackup?: { maxBytes: number };
  /** Test-harness switches; absent means all off (a hand-made config of a test, or production). */
  testing?: { simulatedUpgrade: boolean };
  pools: PoolConfig[];
}

/**
 * Reads the controller config and inventory (one YAML/JSON file), validated by
 * controllerConfigSchema: unknown keys are refused with their path. Relative paths are relative
 * to the file.
 */
export async function loadControllerConfig(file: string): Promise<ControllerConfig> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(file, 'cannot read or parse the controller config', { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, 'expected a mapping');
  const parsed = controllerConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error));
  const c = parsed.data;
  const base = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const pools: PoolConfig[] = [];
  for (const p of c.pools) {
    let password: string;
    if (p.xapi.passwordFile !== undefined) {
      const pf = abs(p.xapi.passwordFile);
      try {
        password = (await readFile(pf, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        throw new ConfigError(pf, 'cannot read the XAPI password file', { cause: err });
      }
    } else {
      password = p.xapi.password ?? '';
    }
    // The storage section has its own parser (two-node failover, controller/src/config/pool-storage-config.ts).
    const storage = parsePoolStorageConfig(p.storage, `pools[${c.pools.indexOf(p)}]`, file, base);
    pools.push({
      name: p.name,
      xapi: { url: p.xapi.url, user: p.xapi.user, password, allowUnauthorized: p.xapi.allowUnauthorized, allowPlainHttp: p.xapi.allowPlainHttp, followMasterRedirect: p.xapi.followMasterRedirect },
      agentPort: p.agentPort,
      ...(storage === undefined ? {} : { storage }),
    });
  }
  return {
    listen: c.listen,
    http: { listen: c.http.listen, sessionMinutes: c.http.sessionMinutes, ...(c.http.publicUrl === undefined ? {} : { publicUrl: c.http.publicUrl }) },
    tls: { ca: abs(c.tls.ca), cert: abs(c.tls.cert), key: abs(c.tls.key), crl: c.tls.crl === undefined ? null : abs(c.tls.crl) },
    journal: c.journal === ':memory:' ? c.journal : abs(c.journal),
    logLevel: c.logLevel,
    watch: c.watch,
    limits: c.limits,
    metadataBackup: { maxBytes: c.metadataBackup.maxMiB * 1024 * 1024 },
    testing: c.testing,
    pools,
  };
}
