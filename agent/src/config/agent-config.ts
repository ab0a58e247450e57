import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ConfigError } from '@xsctl/common/errors/index';

export interface AgentConfig {
  listen: string;
  root: string;
  /** `crl`: a revocation list installed with the agent; the controller sends newer ones. */
  tls: { ca: string; cert: string; key: string; crl?: string };
  logLevel: string;
  commandTimeoutMs: number;
  /** Host path (under root) for backups, staging and quarantine. */
  stateDir: string;
  /** Host directories a file-backed LUN (`*.img`, `*.raw`) may lie in; none by default (DRBD and block devices only). */
  lunFileDirs: string[];
}

export const defaultAgentConfig: AgentConfig = {
  // XAPI's management address (resolveListen), not every interface.
  listen: 'management:7443',
  root: '/',
  tls: { ca: '/etc/xsctl/ca.crt', cert: '/etc/xsctl/agent.crt', key: '/etc/xsctl/agent.key' },
  logLevel: 'info',
  commandTimeoutMs: 30_000,
  stateDir: '/var/lib/xsctl-agent',
  lunFileDirs: [],
};

const allowedKeys = new Set(['listen', 'root', 'tls', 'logLevel', 'commandTimeoutMs', 'stateDir', 'lunFileDirs']);

/** YAML or JSON config; unknown keys are an error so a typo never silently falls back to a default. */
export async function loadAgentConfig(file: string | undefined, overrides: Partial<AgentConfig>): Promise<AgentConfig> {
  let fromFile: Partial<AgentConfig> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(file, 'cannot read config file', { cause: err });
    }
    const parsed: unknown = parse(text);
    if (parsed !== null && typeof parsed !== 'object') throw new ConfigError(file, 'expected a mapping');
    for (const key of Object.keys(parsed ?? {})) {
      if (!allowedKeys.has(key)) throw new ConfigError(file, `unknown key "${key}"`);
    }
    fromFile = (parsed ?? {}) as Partial<AgentConfig>;
  }
  const merged: AgentConfig = {
    ...defaultAgentConfig,
    ...fromFile,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
    tls: { ...defaultAgentConfig.tls, ...fromFile.tls, ...overrides.tls },
  };
  if (!merged.root.startsWith('/')) throw new ConfigError(file ?? '<flags>', 'root must be an absolute path');
  if (!Array.isArray(merged.lunFileDirs) || !merged.lunFileDirs.every((d) => typeof d === 'string' && /^\/(?:[A-Za-z0-9_+-][A-Za-z0-9_.+-]*\/?)+$/.test(d))) {
    throw new ConfigError(file ?? '<flags>', 'lunFileDirs: a list of absolute directories (letters, digits, _ . + -; no segment starting with a dot)');
  }
  return merged;
}
