import type { FloatingIpConfig } from '../network/floating-ip.js';
import { iptables } from '../network/iptables.js';
import type { AgentContext } from '../server/agent-context.js';

/** tgtd's iSCSI portal: the agent starts tgtd without --iscsi portal options, so 3260 on every address. */
export const ISCSI_PORT = 3260;

/**
 * The rule that closes the portal on the floating IP to new logins while existing sessions go on
 * (`--syn`: only a connection's first segment). DROP, not REJECT: a refused connect makes
 * open-iscsi wait ISCSI_CONN_ERR_REOPEN_DELAY (3 s, usr/initiator.c) and libiscsi back off 1, 2,
 * 3 s (lib/connect.c iscsi_reconnect_cb), while a dropped SYN is re-sent by the initiator's kernel
 * after its initial RTO (1 s) and then lands on the new master, which has the address and sent its
 * GARP by then. Pacemaker's portblock agent blocks with DROP for the same reason.
 */
export function portalBlockRule(ip: FloatingIpConfig): string[] {
  return ['INPUT', '-d', `${ip.address}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', String(ISCSI_PORT), '--syn', '-j', 'DROP'];
}

/** Inserts the portal block (first in INPUT, before any ACCEPT). */
export async function blockPortal(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<void> {
  await iptables(ctx, ['-I', ...portalBlockRule(ip)], { signal, timeoutMs: 10_000 });
}

/** Removes every copy of the portal block (iptables -D removes one; exit 1: none left). */
export async function openPortal(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<number> {
  let removed = 0;
  // Bounded: a rule inserted by each of a few interrupted releases at most.
  for (let i = 0; i < 8; i++) {
    const r = await iptables(ctx, ['-D', ...portalBlockRule(ip)], { signal, timeoutMs: 10_000, okExitCodes: [1] });
    if (r.exitCode === 1) return removed;
    removed++;
  }
  return removed;
}

/** Whether the portal block is in place (iptables -C: exit 0 present, 1 absent); changes nothing, so a dry run may ask. */
export async function portalBlocked(ctx: AgentContext, ip: FloatingIpConfig, signal?: AbortSignal): Promise<boolean> {
  const r = await iptables(ctx, ['-C', ...portalBlockRule(ip)], { signal, timeoutMs: 10_000, okExitCodes: [1] });
  return r.exitCode === 0;
}
