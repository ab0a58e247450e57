import { lockKeysFor } from './method-locks.js';
import type { ResourceLocks } from './resource-locks.js';

/**
 * The resources a call changes (method-locks.ts), taken before its handler runs and given back
 * when it ends, however it ends: serverCallMiddleware's `hold`, inside the deadline, so the wait
 * counts against it and a call that cannot get its resources in time has changed nothing
 * (RESOURCE_BUSY when the caller or the server gives up first). Null for a method that changes
 * nothing another call could undo (GetFacts): no wait at all. One part of the server's single
 * middleware, not a layer of its own: a layer is a generator and two object spreads per call.
 */
export function lockHold(locks: ResourceLocks) {
  return (path: string, request: unknown, signal: AbortSignal): Promise<() => void> | null => {
    const keys = lockKeysFor(path, request);
    return keys === null ? null : locks.acquire(keys, path, signal);
  };
}
