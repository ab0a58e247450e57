import type { StorageFirewallSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import type { AgentContext } from '../server/agent-context.js';
import { port, storageSubnet } from '../validate/validators.js';
import { ValidationError } from '@xsctl/common/errors/index';
import { iptables } from './iptables.js';
import { FirewallChainNotFoundError } from './network-errors.js';

export interface FirewallConfig {
  subnet: string;
  drbdPorts: number[];
  iscsiPort: number;
  chain: string;
}

export function normalizeFirewall(spec: StorageFirewallSpec | undefined): FirewallConfig {
  if (spec === undefined) throw new ValidationError('firewall', 'required');
  const chain = spec.chain || 'RH-Firewall-1-INPUT';
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,28}$/.test(chain)) throw new ValidationError('firewall.chain', 'expected an iptables chain name');
  if (spec.drbdPorts.length === 0) throw new ValidationError('firewall.drbdPorts', 'at least one DRBD port');
  return {
    subnet: storageSubnet('firewall.subnet', spec.subnet),
    drbdPorts: [...new Set(spec.drbdPorts.map((p, i) => port(`firewall.drbdPorts[${i}]`, p)))],
    iscsiPort: port('firewall.iscsiPort', spec.iscsiPort === 0 ? 3260 : spec.iscsiPort),
    chain,
  };
}

/**
 * The how-to opens the whole replication subnet ("-A RH-Firewall-1-INPUT -s 10.10.10.0/24 -j ACCEPT");
 * we open only DRBD's ports and iSCSI from that subnet, as iptables-save lines.
 */
export function firewallRuleSpecs(fw: FirewallConfig): string[][] {
  return [...fw.drbdPorts, fw.iscsiPort].map((p) => ['-s', fw.subnet, '-p', 'tcp', '-m', 'tcp', '--dport', String(p), '-j', 'ACCEPT']);
}

export function renderFirewallRules(fw: FirewallConfig): string[] {
  return firewallRuleSpecs(fw).map((r) => `-A ${fw.chain} ${r.join(' ')}`);
}

/**
 * The chain must exist: `iptables -C` on a missing chain exits 1 like a missing rule (nf_tables
 * backend: "Bad rule"), and the insert would then fail with a less helpful message.
 */
async function requireChain(ctx: AgentContext, fw: FirewallConfig, signal?: AbortSignal): Promise<void> {
  // `-n -L` (not -S): old dom0 iptables (1.3.x) have no -S.
  const r = await iptables(ctx, ['-n', '-L', fw.chain], { signal, timeoutMs: 10_000, okExitCodes: [1, 2] });
  if (r.exitCode !== 0) throw new FirewallChainNotFoundError(fw.chain, r.stderr.trim().split('\n')[0] ?? '');
}

/** Whether one rule is in the chain (`iptables -C`: 0 present, 1 absent). */
async function rulePresent(ctx: AgentContext, fw: FirewallConfig, rule: readonly string[], signal?: AbortSignal): Promise<boolean> {
  const check = await iptables(ctx, ['-C', fw.chain, ...rule], { signal, timeoutMs: 10_000, okExitCodes: [1] });
  return check.exitCode === 0;
}

/** Inserts missing rules at the top of the chain (above its REJECT), checking each with `iptables -C`. */
export async function applyFirewall(ctx: AgentContext, fw: FirewallConfig, confirm: boolean, signal?: AbortSignal): Promise<{ added: string[]; present: string[] }> {
  await requireChain(ctx, fw, signal);
  const added: string[] = [];
  const present: string[] = [];
  // Inserted at position 1 in reverse, so the chain lists them in the rendered order.
  for (const rule of [...firewallRuleSpecs(fw)].reverse()) {
    const line = `-A ${fw.chain} ${rule.join(' ')}`;
    if (await rulePresent(ctx, fw, rule, signal)) {
      present.unshift(line);
      continue;
    }
    if (confirm) await iptables(ctx, ['-I', fw.chain, '1', ...rule], { signal, timeoutMs: 10_000 });
    added.unshift(line);
  }
  if (confirm && added.length > 0) ctx.logger.info({ chain: fw.chain, added }, 'firewall rules inserted');
  return { added, present };
}

/** Deletes the storage rules that are present (each with `iptables -D`); other rules stay. */
export async function removeFirewall(ctx: AgentContext, fw: FirewallConfig, confirm: boolean, signal?: AbortSignal): Promise<{ removed: string[]; absent: string[] }> {
  await requireChain(ctx, fw, signal);
  const removed: string[] = [];
  const absent: string[] = [];
  for (const rule of firewallRuleSpecs(fw)) {
    const line = `-A ${fw.chain} ${rule.join(' ')}`;
    if (!(await rulePresent(ctx, fw, rule, signal))) {
      absent.push(line);
      continue;
    }
    if (confirm) await iptables(ctx, ['-D', fw.chain, ...rule], { signal, timeoutMs: 10_000 });
    removed.push(line);
  }
  if (confirm && removed.length > 0) ctx.logger.info({ chain: fw.chain, removed }, 'firewall rules removed');
  return { removed, absent };
}
