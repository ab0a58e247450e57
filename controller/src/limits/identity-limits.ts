import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';
import type { Role } from '@xsctl/common/pki/index';

/** What one identity (a CLI certificate, or a dashboard session's user) may do at once and per minute. */
export interface RoleLimits {
  /** Calls started per minute (gRPC calls and HTTPS requests together). */
  callsPerMinute: number;
  /** Calls in flight at once, streams excepted. */
  concurrent: number;
  /** Long-lived streams open at once (workflow watches, the dashboard's event stream). */
  streams: number;
}

export type Limits = Readonly<Record<Role, RoleLimits>>;

/**
 * Defaults. A person at the CLI makes a few calls a minute and a dashboard one request per page;
 * a viewer must not be able to fan ListHosts or prechecks out to every dom0 and to XAPI as fast
 * as the network allows.
 */
export const defaultLimits: Limits = {
  viewer: { callsPerMinute: 120, concurrent: 4, streams: 8 },
  operator: { callsPerMinute: 600, concurrent: 16, streams: 32 },
};

/** A call refused because its caller is over one of its limits. Retry after `retryAfterMs`. */
export class RateLimitedError extends XsctlError {
  readonly code = 'RATE_LIMITED';

  constructor(
    readonly identity: string,
    readonly limit: 'rate' | 'concurrency' | 'streams',
    readonly retryAfterMs: number,
    options?: XsctlErrorOptions,
  ) {
    super(
      limit === 'rate'
        ? `${identity} made too many calls; try again in ${Math.ceil(retryAfterMs / 1000)} s`
        : `${identity} has too many ${limit === 'streams' ? 'streams' : 'calls'} in flight; wait for one to finish`,
      options,
    );
  }
}

export interface Caller {
  name: string;
  role: Role;
}

/**
 * Per-identity rate (rate-limiter-flexible, one fixed window per minute) and concurrency (a count
 * of calls in flight), shared by the gRPC server and HTTPS so one identity has one budget.
 */
export class IdentityLimits {
  readonly #rate: Record<Role, RateLimiterMemory>;
  readonly #inFlight = new Map<string, number>();
  readonly #limits: Limits;
  readonly #onLimited: ((caller: Caller, limit: RateLimitedError['limit']) => void) | undefined;

  constructor(limits: Limits = defaultLimits, onLimited?: (caller: Caller, limit: RateLimitedError['limit']) => void) {
    this.#limits = limits;
    this.#onLimited = onLimited;
    this.#rate = {
      viewer: new RateLimiterMemory({ keyPrefix: 'viewer', points: limits.viewer.callsPerMinute, duration: 60 }),
      operator: new RateLimiterMemory({ keyPrefix: 'operator', points: limits.operator.callsPerMinute, duration: 60 }),
    };
  }

  /** Takes one call (or stream) slot for `caller`; the returned function gives it back (idempotent). */
  async acquire(caller: Caller, kind: 'call' | 'stream'): Promise<() => void> {
    const who = `${caller.name} (${caller.role})`;
    const key = `${caller.role}:${caller.name}:${kind}`;
    const max = kind === 'stream' ? this.#limits[caller.role].streams : this.#limits[caller.role].concurrent;
    // Concurrency first: a refused call must not spend the caller's rate budget.
    if ((this.#inFlight.get(key) ?? 0) >= max) throw this.#refuse(caller, new RateLimitedError(who, kind === 'stream' ? 'streams' : 'concurrency', 1_000));
    try {
      await this.#rate[caller.role].consume(caller.name);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      throw this.#refuse(caller, new RateLimitedError(who, 'rate', res.msBeforeNext));
    }
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.#inFlight.delete(key);
      else this.#inFlight.set(key, left);
    };
  }

  #refuse(caller: Caller, error: RateLimitedError): RateLimitedError {
    this.#onLimited?.(caller, error.limit);
    return error;
  }
}
