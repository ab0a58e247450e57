import { ValidationError } from '@xsctl/common/errors/index';
import type { FloatingIpSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { CommandFailedError } from '../exec/command-errors.js';
import type { AgentContext } from '../server/agent-context.js';
import { integerInRange, interfaceName, ipv4Address, prefixLength } from '../validate/validators.js';
import { stopGarpBurst } from './garp-burst.js';
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

/**
 * `ip addr show dev IF` as plain text (iproute 4.11 on a dom0 has no `-j`; the text layout is the
 * same from iproute 3.10 to today's): whether the address is on the interface, and its MAC.
 *   2: eth0: <BROADCAST,...> mtu 1500 qdisc pfifo_fast state UP qlen 1000
 *       link/ether 52:54:00:f4:0d:74 brd ff:ff:ff:ff:ff:ff
 *       inet 1.2.3.4/32 scope global eth0:1
 *       inet 10.0.0.5 peer 10.0.0.6/32 scope global eth0     (point-to-point: the local side comes first)
 * Only the first link in the text counts (the command names one device).
 */
export function parseIpAddrShow(text: string, address: string): { present: boolean; mac: string; prefixLength: number | null } {
  let links = 0;
  let mac = '';
  let prefix: number | null = null;
  let present = false;
  for (const line of text.split('\n')) {
    if (/^\d+:\s/.test(line)) {
      if (++links > 1) break;
      continue;
    }
    const t = line.trim().split(/\s+/);
    if (t[0]?.startsWith('link/') === true && mac === '') mac = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(t[1] ?? '') ? (t[1] ?? '').toLowerCase() : '';
    if (t[0] !== 'inet' || present) continue;
    const local = t[1] ?? '';
    const peerAt = t.indexOf('peer');
    const [addr, len] = local.includes('/') ? local.split('/') : [local, peerAt === -1 ? '32' : (t[peerAt + 1] ?? '').split('/')[1] ?? '32'];
    if (addr === address) {
      present = true;
      prefix = Number(len);
    }
  }
  return { present, mac, prefixLength: prefix };
}

export async function floatingIpState(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<{ present: boolean; mac: string }> {
  try {
    const r = await ctx.runner.run('ip', ['addr', 'show', 'dev', ip.iface], { signal, timeoutMs: 10_000 });
    const s = parseIpAddrShow(r.stdout, ip.address);
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

/**
 * Rule 4: never add an address that still answers. Idempotent. `dad`: a duplicate address
 * detection the caller started earlier (a promotion starts it with DRBD Primary, after the old
 * master was fenced or demoted) instead of one here, which costs its two probes' 2 s in line.
 * `present: false`: the caller has just read the address absent (a promotion's floating-ip step,
 * under its lock), so no second `ip addr show`.
 */
export async function addFloatingIp(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal, dad?: Promise<{ answers: boolean; by: string }>, present?: false): Promise<boolean> {
  if (present === undefined && (await floatingIpState(ctx, ip, signal)).present) return false;
  const found = await (dad ?? addressAnswers(ctx, ip, signal));
  if (found.answers) throw new FloatingIpInUseError(ip.address, ip.iface, found.by);
  await ctx.runner.run('ip', ['addr', 'add', `${ip.address}/${ip.prefixLength}`, 'dev', ip.iface], { signal, timeoutMs: 10_000 });
  ctx.logger.info({ address: ip.address, iface: ip.iface }, 'floating IP added');
  return true;
}

export async function removeFloatingIp(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<boolean> {
  // A bring-up's announcements still under way would point the neighbours back here afterwards.
  await stopGarpBurst(ctx, ip);
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
