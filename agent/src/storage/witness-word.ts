import type { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { AgentContext } from '../server/agent-context.js';

/** What the witness last said about the storage master (PeerWatchSpec.witness_role). */
export interface WitnessSaid {
  /** MASTER: this node; SLAVE: its peer; UNSPECIFIED: nobody the witness knows. */
  role: StorageRole;
  /** performance.now() when the call carrying it arrived. */
  at: number;
  /** How long it may be relied on: the call's self-fence bound (see `witnessWordValidMs`). */
  validMs: number;
}

/**
 * How long a witness's word is good for: the self-fence bound it came with. A node the witness
 * has not called for that long would stop serving anyway (self-fence), and a failover that
 * promotes the peer starts only after the witness has missed this node for longer (detectAfterMs >
 * selfFenceAfterMs, checked at config load). With self-fencing off (0) the controller's default
 * bound, 1.5 s: such a pool fences by power, and a word a few polls old says nothing more.
 */
export function witnessWordValidMs(selfFenceAfterMs: number): number {
  return selfFenceAfterMs > 0 ? selfFenceAfterMs : 1_500;
}

/**
 * The witness's latest word on who the storage master is, as the peer watch heard it (every
 * GetPeerView carries it) and the boot-time role reads it (boot-role.ts): the one place both
 * share. In memory only: a word heard before this agent started says nothing about now.
 */
export class WitnessWord {
  #last: WitnessSaid | null = null;

  heard(role: StorageRole, validMs: number, at = performance.now()): void {
    this.#last = { role, at, validMs };
  }

  latest(): WitnessSaid | null {
    return this.#last;
  }
}

const words = new WeakMap<AgentContext, WitnessWord>();

/** The witness word of one agent (its context): the peer watch and the boot-time role get the same one. */
export function witnessWordOf(ctx: AgentContext): WitnessWord {
  let w = words.get(ctx);
  if (w === undefined) {
    w = new WitnessWord();
    words.set(ctx, w);
  }
  return w;
}
