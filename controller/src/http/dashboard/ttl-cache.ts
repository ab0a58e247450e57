/**
 * Agent-backed sections (DRBD status, ALUA verdicts) fan out to every host; a page refreshed by
 * live updates must not do that on every XAPI event. Results are kept for `ttlMs`, and concurrent
 * askers share one call.
 */
export class TtlCache<T> {
  readonly #entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.value;
    const value = load();
    this.#entries.set(key, { at: now, value });
    value.catch(() => this.#entries.delete(key));
    return value;
  }
}
