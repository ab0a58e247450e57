import { readFile } from 'node:fs/promises';
import { ConfigError } from '@xsctl/common/errors/index';
import type { CommandRunner } from '../exec/command-runner.js';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { parseInventory } from '../host/parse-inventory.js';
import { interfaceName } from '../validate/validators.js';

/**
 * `management:PORT` (the default) binds the address of XAPI's management interface
 * (MANAGEMENT_INTERFACE in /etc/xensource-inventory, its first IPv4 address from `ip addr show`):
 * not 0.0.0.0, where the agent would also answer on the storage and replication networks.
 * Any other value is used as written.
 */
export async function resolveListen(listen: string, root: SandboxRoot, runner: CommandRunner, signal?: AbortSignal): Promise<string> {
  const m = /^management:(\d{1,5})$/.exec(listen);
  if (m === null) return listen;
  const inventory = parseInventory(await readFile(root.resolve('/etc/xensource-inventory'), 'utf8').catch(() => ''));
  const iface = inventory['MANAGEMENT_INTERFACE'] ?? '';
  if (iface === '') throw new ConfigError('listen', 'management: no MANAGEMENT_INTERFACE in /etc/xensource-inventory; set listen to an address:port');
  interfaceName('MANAGEMENT_INTERFACE', iface);
  const r = await runner.run('ip', ['addr', 'show', 'dev', iface], { timeoutMs: 10_000, ...(signal === undefined ? {} : { signal }) });
  const address = /^\s*inet (\d{1,3}(?:\.\d{1,3}){3})\//m.exec(r.stdout)?.[1];
  if (address === undefined) throw new ConfigError('listen', `management: ${iface} has no IPv4 address; set listen to an address:port`);
  return `${address}:${m[1] ?? ''}`;
}
