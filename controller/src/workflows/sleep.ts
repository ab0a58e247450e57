/** A wait a workflow can be given (tests pass a shorter or virtual one). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/**
 * The workflows' wait. It rejects with the signal's own reason (WorkflowHalted at a shutdown,
 * WorkflowAbortedError on an abort), not node:timers' AbortError: the workflows tell a halt from a
 * failure by that reason (isHalted).
 */
export function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
