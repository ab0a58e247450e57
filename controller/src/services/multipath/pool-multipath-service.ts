import { MultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type {
  HostMultipathApply,
  HostMultipathConfig,
  HostMultipathDaemon,
  HostMultipathMaps,
  PoolMultipathServiceImplementation,
} from '@xsctl/proto/gen/xsctl/controller/v1/multipath';
import type { ControllerContext } from '../../server/controller-context.js';
import { hostError, hostName, resolveTargets } from './host-targets.js';

/**
 * Multipath through the agents. Apply and EnableDaemon go host by host; with confirm the first
 * failure stops the rollout (the remaining hosts are reported as skipped, never half-done in parallel).
 */
export function poolMultipathService(ctx: ControllerContext): PoolMultipathServiceImplementation {
  return {
    async listProfiles(request, { signal }) {
      const [host] = await resolveTargets(ctx, request.target, signal);
      if (host === undefined) return { host: '', result: undefined };
      const result = await host.agent.client(MultipathServiceDefinition).listProfiles({}, { signal });
      return { host: hostName(host), result };
    },

    async show(request, { signal }) {
      const hosts: HostMultipathConfig[] = [];
      for (const h of await resolveTargets(ctx, request.target, signal)) {
        try {
          hosts.push({ host: hostName(h), config: await h.agent.client(MultipathServiceDefinition).get({}, { signal }), error: undefined });
        } catch (err) {
          hosts.push({ host: hostName(h), config: undefined, error: hostError(err) });
        }
      }
      return { hosts };
    },

    async apply(request, { signal }) {
      const hosts: HostMultipathApply[] = [];
      let failed = false;
      for (const h of await resolveTargets(ctx, request.target, signal)) {
        if (failed && request.confirm) {
          hosts.push({ host: hostName(h), result: undefined, error: undefined, skipped: true });
          continue;
        }
        try {
          const result = await h.agent.client(MultipathServiceDefinition).apply(
            { profile: request.profile, confirm: request.confirm, layout: request.layout, skipReconfigure: request.skipReconfigure },
            { signal },
          );
          hosts.push({ host: hostName(h), result, error: undefined, skipped: false });
        } catch (err) {
          failed = true;
          ctx.logger.warn({ host: hostName(h), profile: request.profile, err: hostError(err) }, 'multipath apply failed');
          hosts.push({ host: hostName(h), result: undefined, error: hostError(err), skipped: false });
        }
      }
      return { hosts, ok: !failed };
    },

    async enableDaemon(request, { signal }) {
      const hosts: HostMultipathDaemon[] = [];
      let failed = false;
      for (const h of await resolveTargets(ctx, request.target, signal)) {
        try {
          hosts.push({ host: hostName(h), result: await h.agent.client(MultipathServiceDefinition).enableDaemon({ confirm: request.confirm }, { signal }), error: undefined });
        } catch (err) {
          failed = true;
          hosts.push({ host: hostName(h), result: undefined, error: hostError(err) });
          if (request.confirm) break;
        }
      }
      return { hosts, ok: !failed };
    },

    async listMaps(request, { signal }) {
      const hosts: HostMultipathMaps[] = [];
      for (const h of await resolveTargets(ctx, request.target, signal)) {
        try {
          hosts.push({ host: hostName(h), result: await h.agent.client(MultipathServiceDefinition).listMaps({}, { signal }), error: undefined });
        } catch (err) {
          hosts.push({ host: hostName(h), result: undefined, error: hostError(err) });
        }
      }
      return { hosts };
    },
  };
}
