import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '@xsctl/common/errors/index';

export interface CliConfig {
  controller: string;
  /** Name expected in the controller certificate when it differs from the address. */
  serverName?: string;
  tls: { ca: string; cert: string; key: string };
}

export interface GlobalFlags {
  config?: string;
  controller?: string;
  serverName?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

const defaultFile = () => process.env['XSCTL_CONFIG'] ?? join(homedir(), '.config', 'xsctl', 'cli.yaml');

/** Flags beat environment beats the config file. */
export async function loadCliConfig(flags: GlobalFlags): Promise<CliConfig> {
  const file = flags.config ?? defaultFile();
  let fromFile: Partial<CliConfig> = {};
  try {
    fromFile = (parse(await readFile(file, 'utf8')) ?? {}) as Partial<CliConfig>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || flags.config !== undefined) {
      throw new ConfigError(file, 'cannot read the CLI config', { cause: err });
    }
  }
  const controller = flags.controller ?? process.env['XSCTL_CONTROLLER'] ?? fromFile.controller;
  const tls = {
    ca: flags.ca ?? process.env['XSCTL_CA'] ?? fromFile.tls?.ca,
    cert: flags.cert ?? process.env['XSCTL_CERT'] ?? fromFile.tls?.cert,
    key: flags.key ?? process.env['XSCTL_KEY'] ?? fromFile.tls?.key,
  };
  if (controller === undefined) throw new ConfigError(file, 'no controller address: pass --controller HOST:PORT or set it in the config');
  if (tls.ca === undefined || tls.cert === undefined || tls.key === undefined) {
    throw new ConfigError(file, 'no client certificate: pass --ca, --cert and --key (from `xsctl pki issue cli NAME`) or set tls in the config');
  }
  const serverName = flags.serverName ?? process.env['XSCTL_SERVER_NAME'] ?? fromFile.serverName;
  return { controller, tls: { ca: tls.ca, cert: tls.cert, key: tls.key }, ...(serverName === undefined ? {} : { serverName }) };
}
