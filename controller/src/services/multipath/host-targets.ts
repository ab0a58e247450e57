import { RemoteError, ValidationError, XsctlError } from '@xsctl/common/errors/index';
import type { ControllerContext, ResolvedHost } from '../../server/controller-context.js';

export interface HostTarget {
  host: string;
  pool: string;
}

/** One host (searched in every pool unless `pool` is given), or every host of a pool. */
export async function resolveTargets(ctx: ControllerContext, target: HostTarget | undefined, signal?: AbortSignal): Promise<ResolvedHost[]> {
  const host = target?.host ?? '';
  const pool = target?.pool ?? '';
  if (host !== '') return [await ctx.resolveHost(host, pool === '' ? undefined : pool, signal)];
  if (pool !== '') return ctx.poolHosts(ctx.pool(pool), signal);
  throw new ValidationError('target', 'give a host or a pool');
}

/** The stable code and message of a failed agent call, for per-host results. */
export function hostError(err: unknown): { code: string; message: string } {
  if (err instanceof RemoteError || err instanceof XsctlError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export const hostName = (h: ResolvedHost) => h.nameLabel || h.hostname || h.address;
