import { ValidationError } from '@xsctl/common/errors/index';
import type { FloatingIpSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { CommandFailedError } from '../exec/command-errors.js';
import type { AgentContext } from '../server/agent-context.js';
import { integerInRange, interfaceName, ipv4Address, prefixLength } from '../validate/validators.js';
import { FloatingIpInUseError, InterfaceNotFoundError } from './network-errors.js';

export interface FloatingIpConfig {
  address: string;
  prefixLength: number;
  iface: string;
  garpCount: number;
}

export function normalizeFloatingIp(spec: FloatingIpSpec | undefined, field = 'floatingIp'): FloatingIpConfig {
  if (spec === undefined) throw new ValidationError(field, 'required');
  return {
    address: ipv4Address(`${field}.address`, spec.address),
    prefixLength: prefixLength(`${field}.prefixLength`, spec.prefixLength === 0 ? 24 : spec.prefixLength),
    iface: interfaceName(`${field}.interface`, spec.interface),
    garpCount: integerInRange(`${field}.garpCount`, spec.garpCount === 0 ? 3 : spec.garpCount, 1, 10),
  };
}

interface IpAddrJson {
  ifname: string;
  address?: string;
  operstate?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** `ip -j addr show dev IF`: whether the address is on the interface, and the interface's MAC. */
export function parseIpAddrJson(text: string, address: string): { present: boolean; mac: string; prefixLength: number | null } {
  const links = JSON.parse(text === '' ? '[]' : text) as IpAddrJson[];
  for (const link of links) {
    const hit = (link.addr_info ?? []).find((a) => a.family === 'inet' && a.local === address);
    return { present: hit !== undefined, mac: link.address ?? '', prefixLength: hit?.prefixlen ?? null };
  }
  return { present: false, mac: '', prefixLength: null };
}

export async function floatingIpState(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<{ present: boolean; mac: string }> {
  try {
    const r = await ctx.runner.run('ip', ['-j', 'addr', 'show', 'dev', ip.iface], { signal, timeoutMs: 10_000 });
    const s = parseIpAddrJson(r.stdout, ip.address);
    return { present: s.present, mac: s.mac };
  } catch (err) {
    if (err instanceof CommandFailedError && /does not exist|Cannot find device/i.test(err.stderr)) throw new InterfaceNotFoundError(ip.iface);
    throw err;
  }
}

/**
 * Duplicate address detection (iputils `arping -D`): exit 0 when nobody answers, 1 when a host
 * claims the address. The reply line names the answering MAC.
 */
export async function addressAnswers(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<{ answers: boolean; by: string }> {
  const r = await ctx.runner.run('arping', ['-D', '-c', '2', '-w', '3', '-I', ip.iface, ip.address], { signal, timeoutMs: 10_000, okExitCodes: [1] });
  const by = /\[([0-9A-Fa-f:]{17})\]/.exec(r.stdout)?.[1] ?? '';
  return { answers: r.exitCode === 1, by };
}

/** Rule 4: never add an address that still answers. Idempotent. */
export async function addFloatingIp(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<boolean> {
  if ((await floatingIpState(ctx, ip, signal)).present) return false;
  const dad = await addressAnswers(ctx, ip, signal);
  if (dad.answers) throw new FloatingIpInUseError(ip.address, ip.iface, dad.by);
  await ctx.runner.run('ip', ['addr', 'add', `${ip.address}/${ip.prefixLength}`, 'dev', ip.iface], { signal, timeoutMs: 10_000 });
  ctx.logger.info({ address: ip.address, iface: ip.iface }, 'floating IP added');
  return true;
}

export async function removeFloatingIp(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<boolean> {
  if (!(await floatingIpState(ctx, ip, signal)).present) return false;
  await ctx.runner.run('ip', ['addr', 'del', `${ip.address}/${ip.prefixLength}`, 'dev', ip.iface], { signal, timeoutMs: 10_000 });
  ctx.logger.info({ address: ip.address, iface: ip.iface }, 'floating IP removed');
  return true;
}

/** Gratuitous ARP (iputils `arping -U`): neighbours repoint the address at this host's MAC. */
export async function announceFloatingIp(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<number> {
  await ctx.runner.run('arping', ['-U', '-c', String(ip.garpCount), '-I', ip.iface, ip.address], { signal, timeoutMs: (ip.garpCount + 5) * 1_000 });
  return ip.garpCount;
}
