import type { ControllerContext } from '../../server/controller-context.js';
import { DashboardSessions } from './dashboard-sessions.js';

/** What the gRPC side (which issues login links) and the HTTPS side (which redeems them) share. */
export interface DashboardAccess {
  sessions: DashboardSessions;
  /** https://HOST:PORT of the running dashboard; undefined while it is not listening. */
  baseUrl: string | undefined;
}

const access = new WeakMap<ControllerContext, DashboardAccess>();

export function dashboardAccessFor(ctx: ControllerContext): DashboardAccess {
  let a = access.get(ctx);
  if (a === undefined) {
    a = { sessions: new DashboardSessions({ sessionMinutes: ctx.config.http.sessionMinutes }), baseUrl: undefined };
    access.set(ctx, a);
  }
  return a;
}
