import type { CapacityState } from './capacity-state.js';
import { playSequence, type SequenceResult, type SequenceSetup } from './sequence.js';

export interface SearchResult {
  /** The non-master hosts in the chosen order. */
  order: string[];
  result: SequenceResult;
  evaluated: number;
  exhaustive: boolean;
}

export interface SearchOptions {
  /** Every order of the other hosts is tried up to this many (default 6); a few heuristic orders beyond. */
  exhaustiveUpTo?: number;
  /** Keep this order (re-planning a running workflow). */
  fixedOrder?: readonly string[];
}

/** Fewest VMs with nowhere to go, then fewest waves (time), then fewest bytes, then fewest migrations. */
export function compareResults(a: SequenceResult, b: SequenceResult): number {
  return a.unplaced - b.unplaced || a.waves.length - b.waves.length || a.migratedBytes - b.migratedBytes || a.migrations - b.migrations;
}

/**
 * Chooses the order of the non-master hosts. Small pools: every order (the best one is found).
 * Larger pools: a constant number of orders (light hosts first, heavy first, alternating, by
 * name), each played once: the cost grows with VMs x hosts, not with the number of orders a
 * search would visit, so plan time scales with the pool.
 */
export function searchSequence(base: CapacityState, head: readonly string[], others: readonly string[], setup: SequenceSetup, options: SearchOptions = {}): SearchResult {
  const name = (ref: string): string => base.hosts.get(ref)?.name ?? ref;
  let best: { order: string[]; result: SequenceResult } | undefined;
  let evaluated = 0;
  const consider = (order: string[]): void => {
    const result = playSequence(base.clone(), head, order, setup);
    evaluated++;
    if (best === undefined || compareResults(result, best.result) < 0) best = { order, result };
  };
  let exhaustive = false;
  if (options.fixedOrder !== undefined) {
    const fixed = options.fixedOrder.filter((r) => others.includes(r));
    consider([...fixed, ...others.filter((r) => !fixed.includes(r))]);
  } else if (others.length <= (options.exhaustiveUpTo ?? 6)) {
    exhaustive = true;
    for (const p of permutations([...others].sort((a, b) => name(a).localeCompare(name(b))))) consider(p);
  } else {
    const load = new Map(others.map((h) => [h, base.usedBytes(h)]));
    const light = [...others].sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || name(a).localeCompare(name(b)));
    const alternating: string[] = [];
    for (let i = 0, j = light.length - 1; i <= j; i++, j--) {
      alternating.push(light[i]!);
      if (i !== j) alternating.push(light[j]!);
    }
    const seen = new Set<string>();
    for (const order of [light, [...light].reverse(), alternating, [...others].sort((a, b) => name(a).localeCompare(name(b)))]) {
      const key = order.join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      consider(order);
    }
  }
  const chosen = best!;
  return { ...chosen, evaluated, exhaustive };
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i] as T, ...rest];
  }
}
