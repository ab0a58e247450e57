/** What of Bun's global this needs: `Bun.shrink()` (absent under Node). */
interface ShrinkingRuntime {
  shrink?: () => void;
}

/**
 * Drops the compiled bytecode of every function once the agent has started, and gives the freed
 * memory back: Bun's `Bun.shrink()` (JSC's VM::shrinkFootprintWhenIdle: deleteAllCode, a full
 * collection, the allocator's free pages returned). Functions compile again on their next call, so
 * only what still runs (the call path) comes back; the code that ran once at start (config and
 * YAML parsing, the CLI parser, the revocation list's ASN.1, the boot storage-role check) does not.
 *
 * Why it matters here: without its JIT, JavaScriptCore runs in its "mini" mode, where every
 * collection is a full one (no generational collector), so each one marks the whole live heap
 * and its pause grows with it; the calls that meet a collection are GetFacts' p99. Measured on the
 * packaged agent (bench/agent.mjs's allocation probe, pinned): the live heap after a collection
 * 7.0 -> 4.6 MB, the collector's pause per collection 8.5-8.9 -> 5.5-5.7 ms on a loaded machine,
 * RssAnon 18.9 -> 15.9 MB. Returns whether the runtime had it (Node: nothing to do).
 */
export function releaseStartupCode(runtime: ShrinkingRuntime | undefined = (globalThis as { Bun?: ShrinkingRuntime }).Bun): boolean {
  if (typeof runtime?.shrink !== 'function') return false;
  runtime.shrink();
  return true;
}
