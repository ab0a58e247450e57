import type { StorageFirewallSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import type { AgentContext } from '../server/agent-context.js';
import { ipv4Cidr, port } from '../validate/validators.js';
import { ValidationError } from '@xsctl/common/errors/index';

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
    subnet: ipv4Cidr('firewall.subnet', spec.subnet),
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

/** Inserts missing rules at the top of the chain (above its REJECT), checking each with `iptables -C`. */
export async function applyFirewall(ctx: AgentContext, fw: FirewallConfig, confirm: boolean, signal?: AbortSignal): Promise<{ added: string[]; present: string[] }> {
  const added: string[] = [];
  const present: string[] = [];
  for (const rule of firewallRuleSpecs(fw)) {
    const line = `-A ${fw.chain} ${rule.join(' ')}`;
    const check = await ctx.runner.run('iptables', ['-C', fw.chain, ...rule], { signal, timeoutMs: 10_000, okExitCodes: [1] });
    if (check.exitCode === 0) {
      present.push(line);
      continue;
    }
    if (confirm) await ctx.runner.run('iptables', ['-I', fw.chain, '1', ...rule], { signal, timeoutMs: 10_000 });
    added.push(line);
  }
  if (confirm && added.length > 0) ctx.logger.info({ chain: fw.chain, added }, 'firewall rules inserted');
  return { added, present };
}
