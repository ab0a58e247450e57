import type { DashboardServiceImplementation } from '@xsctl/proto/gen/xsctl/controller/v1/dashboard';
import { UnauthenticatedError } from '@xsctl/common/errors/index';
import { peerIdentity } from '@xsctl/common/grpc/index';
import type { ControllerContext } from '../../server/controller-context.js';
import { dashboardAccessFor } from '../../http/auth/dashboard-access.js';
import { DashboardDisabledError } from '../../http/auth/login-link-error.js';

/** Signs one-time dashboard login links for the calling CLI user (their name and role). */
export function dashboardService(ctx: ControllerContext): DashboardServiceImplementation {
  return {
    async createLoginLink(request, context) {
      const peer = peerIdentity(context);
      if (peer === null) throw new UnauthenticatedError('no xsctl certificate');
      const access = dashboardAccessFor(ctx);
      if (access.baseUrl === undefined) throw new DashboardDisabledError();
      const role = request.viewerOnly || peer.role !== 'operator' ? 'viewer' : 'operator';
      const { token, expiresAt } = access.sessions.issueLink({ name: peer.name, role, serial: peer.serial ?? '' });
      return {
        url: `${access.baseUrl}/login?token=${encodeURIComponent(token)}`,
        expiresAt: expiresAt.toISOString(),
        sessionMinutes: Math.round(access.sessions.sessionMs / 60_000),
        role,
        dashboardUrl: `${access.baseUrl}/`,
      };
    },
  };
}
