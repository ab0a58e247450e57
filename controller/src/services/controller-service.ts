import type { ControllerServiceImplementation } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { peerIdentity } from '@xsctl/common/grpc/index';
import type { ControllerContext } from '../server/controller-context.js';
import { listHostViews } from '../pools/list-host-views.js';

export function controllerService(ctx: ControllerContext): ControllerServiceImplementation {
  return {
    async listPools() {
      return { pools: ctx.config.pools.map((p) => ({ name: p.name, xapiUrl: p.xapi.url, agentPort: p.agentPort })) };
    },

    async listHosts(request, { signal }) {
      return listHostViews(ctx, request.pool, signal);
    },

    async reloadInventory() {
      const pools = await ctx.reloadConfig();
      return { pools };
    },

    async whoAmI(_request, context) {
      const peer = peerIdentity(context);
      return { name: peer?.name ?? '', kind: peer?.kind ?? '', role: peer?.role ?? '' };
    },
  };
}
