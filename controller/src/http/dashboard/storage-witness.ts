import type { ControllerContext } from '../../server/controller-context.js';

/** The controller as witness of a two-node storage pair, as the storage page shows it. */
export interface WitnessView {
  /** What the controller last heard from each node, per link. */
  nodes: Array<{ host: string; role: string; lastSeen: string; links: Array<{ name: string; up: boolean }> }>;
  lastFailover?: { at: string; from: string; to: string; reason: string; workflowId?: string };
  notes: string[];
}

export type WitnessSource = (ctx: ControllerContext, pool: string, signal: AbortSignal) => Promise<WitnessView | undefined>;

let source: WitnessSource | undefined;

/**
 * The seam for the failover work (issue 11): the witness/decider registers its source here and
 * the storage page renders it. Until then the page says the controller reports no witness data.
 */
export function registerWitnessSource(fn: WitnessSource): void {
  source = fn;
}

export async function witnessFor(ctx: ControllerContext, pool: string, signal: AbortSignal): Promise<WitnessView | undefined> {
  return source === undefined ? undefined : source(ctx, pool, signal);
}
