import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '@xsctl/common/errors/index';
import { parsePoolStorageConfig, type PoolStorageConfig } from './pool-storage-config.js';

export interface PoolConfig {
  name: string;
  xapi: {
    url: string;
    user: string;
    /** Read from passwordFile when set; a literal `password` is accepted for labs only. */
    password: string;
    allowUnauthorized: boolean;
  };
  agentPort: number;
  /** Two-node hyperconverged storage served by the pool's own hosts (switchover, failover). */
  storage?: PoolStorageConfig | undefined;
}

export interface ControllerConfig {
  listen: string;
  http: { listen: string | null };
  tls: { ca: string; cert: string; key: string };
  journal: string;
  logLevel: string;
  pools: PoolConfig[];
}

function fail(file: string, reason: string): never {
  throw new ConfigError(file, reason);
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Reads the controller config and inventory (one YAML/JSON file). Relative paths are relative to the file. */
export async function loadControllerConfig(file: string): Promise<ControllerConfig> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(file, 'cannot read or parse the controller config', { cause: err });
  }
  if (raw === null || typeof raw !== 'object') fail(file, 'expected a mapping');
  const c = raw as Record<string, unknown>;
  const base = dirname(resolve(file));
  const path = (p: unknown, what: string): string => {
    if (typeof p !== 'string' || p === '') fail(file, `${what} must be a path`);
    return isAbsolute(p) ? p : resolve(base, p);
  };
  const tls = (c['tls'] ?? {}) as Record<string, unknown>;
  const poolsRaw = c['pools'];
  if (!Array.isArray(poolsRaw) || poolsRaw.length === 0) fail(file, 'pools must be a non-empty list');
  const pools: PoolConfig[] = [];
  for (const [i, p] of poolsRaw.entries()) {
    if (p === null || typeof p !== 'object') fail(file, `pools[${i}] must be a mapping`);
    const pool = p as Record<string, unknown>;
    const name = pool['name'];
    if (typeof name !== 'string' || !namePattern.test(name)) fail(file, `pools[${i}].name must be a simple name`);
    if (pools.some((q) => q.name === name)) fail(file, `pool ${name} is listed twice`);
    const x = (pool['xapi'] ?? {}) as Record<string, unknown>;
    if (typeof x['url'] !== 'string' || !/^https?:\/\//.test(x['url'])) fail(file, `pools[${i}].xapi.url must be an http(s) URL`);
    let password: string;
    if (typeof x['passwordFile'] === 'string') {
      const pf = path(x['passwordFile'], `pools[${i}].xapi.passwordFile`);
      try {
        password = (await readFile(pf, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        throw new ConfigError(pf, 'cannot read the XAPI password file', { cause: err });
      }
    } else if (typeof x['password'] === 'string') {
      password = x['password'];
    } else {
      fail(file, `pools[${i}].xapi needs passwordFile (or password)`);
    }
    const agentPort = pool['agentPort'] ?? 7443;
    if (typeof agentPort !== 'number' || !Number.isInteger(agentPort) || agentPort < 1 || agentPort > 65535) fail(file, `pools[${i}].agentPort must be a port`);
    const storage = parsePoolStorageConfig(pool['storage'], `pools[${i}]`, file, base);
    pools.push({
      name,
      xapi: { url: x['url'], user: typeof x['user'] === 'string' ? x['user'] : 'root', password, allowUnauthorized: x['allowUnauthorized'] === true },
      agentPort,
      ...(storage === undefined ? {} : { storage }),
    });
  }
  const http = (c['http'] ?? {}) as Record<string, unknown>;
  return {
    listen: typeof c['listen'] === 'string' ? c['listen'] : '127.0.0.1:7444',
    http: { listen: typeof http['listen'] === 'string' ? http['listen'] : null },
    tls: { ca: path(tls['ca'], 'tls.ca'), cert: path(tls['cert'], 'tls.cert'), key: path(tls['key'], 'tls.key') },
    journal: path(c['journal'] ?? 'xsctl-journal.sqlite', 'journal'),
    logLevel: typeof c['logLevel'] === 'string' ? c['logLevel'] : 'info',
    pools,
  };
}
