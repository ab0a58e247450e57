import type { FloatingIpServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import type { AgentContext } from '../server/agent-context.js';
import { applyFirewall, normalizeFirewall, renderFirewallRules } from './firewall.js';
import { persistFirewall } from './persist-firewall.js';
import { addFloatingIp, announceFloatingIp, floatingIpState, normalizeFloatingIp, removeFloatingIp } from './floating-ip.js';

export function floatingIpService(ctx: AgentContext): FloatingIpServiceImplementation {
  return {
    async getFloatingIp(request, { signal }) {
      return floatingIpState(ctx, normalizeFloatingIp(request.ip, 'ip'), signal);
    },
    async addFloatingIp(request, { signal }) {
      return { changed: await addFloatingIp(ctx, normalizeFloatingIp(request.ip, 'ip'), signal) };
    },
    async removeFloatingIp(request, { signal }) {
      return { changed: await removeFloatingIp(ctx, normalizeFloatingIp(request.ip, 'ip'), signal) };
    },
    async announceFloatingIp(request, { signal }) {
      return { sent: await announceFloatingIp(ctx, normalizeFloatingIp(request.ip, 'ip'), signal) };
    },
    async renderStorageFirewall(request) {
      return { rules: renderFirewallRules(normalizeFirewall(request.firewall)) };
    },
    async applyStorageFirewall(request, { signal }) {
      const fw = normalizeFirewall(request.firewall);
      // The file first: a rejected edit fails the call before the runtime changes.
      const kept = await persistFirewall(ctx, fw, false, signal);
      const runtime = await applyFirewall(ctx, fw, request.confirm, signal);
      const persisted = request.confirm ? await persistFirewall(ctx, fw, true, signal) : kept;
      return { ...runtime, persistedPath: persisted.path, persistedAdded: persisted.added, persistedBackup: persisted.backup };
    },
  };
}
