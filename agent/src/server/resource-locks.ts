import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** The call's deadline or cancel came while another call held a resource it needs. */
export class ResourceBusyError extends XsctlError {
  readonly code = 'RESOURCE_BUSY';

  constructor(
    readonly keys: readonly string[],
    readonly heldBy: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${keys.join(', ')} busy (held by ${heldBy || 'another call'}); gave up waiting`, options);
  }
}

interface Waiter {
  keys: readonly string[];
  owner: string;
  grant: () => void;
}

/**
 * One lock per resource (`file:/etc/drbd.conf`, `drbd:iscsi1`, `tgtd:0`, `multipath`, ...). A call
 * takes all its keys at once or waits, first come first served: a waiter is granted only when no
 * earlier waiter wants any of its keys, so neither deadlock (no call holds some keys while waiting
 * for others) nor overtaking is possible. Calls on other resources run concurrently.
 */
export class ResourceLocks {
  readonly #held = new Map<string, string>();
  readonly #queue: Waiter[] = [];

  /** Who holds each key now (for errors and tests). */
  holders(): ReadonlyMap<string, string> {
    return new Map(this.#held);
  }

  /** Waits for every key (deduplicated), then returns the release function. */
  async acquire(keys: readonly string[], owner: string, signal?: AbortSignal): Promise<() => void> {
    const wanted = [...new Set(keys)].sort();
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { keys: wanted, owner, grant: resolve };
      this.#queue.push(waiter);
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i === -1) return;
        this.#queue.splice(i, 1);
        const heldBy = wanted.map((k) => this.#held.get(k)).find((h) => h !== undefined) ?? '';
        reject(new ResourceBusyError(wanted, heldBy, { cause: signal?.reason }));
        this.#grant();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      waiter.grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#grant();
    });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of wanted) this.#held.delete(k);
      this.#grant();
    };
  }

  /** Runs `fn` holding the keys. */
  async with<T>(keys: readonly string[], owner: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(keys, owner, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #grant(): void {
    const claimed = new Set<string>();
    for (let i = 0; i < this.#queue.length; ) {
      const w = this.#queue[i]!;
      const free = w.keys.every((k) => !this.#held.has(k) && !claimed.has(k));
      if (free) {
        this.#queue.splice(i, 1);
        for (const k of w.keys) this.#held.set(k, w.owner);
        w.grant();
        continue;
      }
      // Keys an earlier waiter wants are reserved for it: later waiters must not overtake.
      for (const k of w.keys) claimed.add(k);
      i++;
    }
  }
}

const byRoot = new Map<string, ResourceLocks>();

/**
 * The locks of the agent serving `root`: every caller that changes the host under that root (the
 * gRPC middleware, the boot-time and peer-watch role assertions) shares them.
 */
export function resourceLocks(root: string): ResourceLocks {
  let locks = byRoot.get(root);
  if (locks === undefined) {
    locks = new ResourceLocks();
    byRoot.set(root, locks);
  }
  return locks;
}
