import type { CapacityState } from './capacity-state.js';
import { placeWave, type Move, type Unplaced } from './place-wave.js';
import type { WaveRoles } from './roles.js';

export interface SequenceSetup {
  /** Upgraded before the run (already at the newest version). */
  upgraded: ReadonlySet<string>;
  excluded: ReadonlySet<string>;
  /** VMs that never move (pinned by an override, or blocked). */
  stay: ReadonlySet<string>;
  /** Extra memory dom0 takes on each host once it runs the new release. */
  dom0Growth: ReadonlyMap<string, number>;
  /** Hosts out at once (the master is always alone). */
  maxHostsDown: number;
  makeRoom: boolean;
}

export interface WaveResult {
  wave: number;
  hosts: string[];
  moves: Move[];
  unplaced: Unplaced[];
  /** Free memory per host once the wave's hosts are empty (they hold nothing). */
  freeAfter: Map<string, number>;
}

export interface SequenceResult {
  waves: WaveResult[];
  unplaced: number;
  migratedBytes: number;
  migrations: number;
}

/**
 * Plays the whole upgrade on `state` (mutated): `head` (the master) alone first, then `order` in
 * waves of up to maxHostsDown hosts. A wave that does not fit is shrunk from its end (those hosts
 * go to the next wave) until it fits or holds one host. After each wave its hosts are upgraded
 * and enabled again, with dom0's growth reserved. The capacity proof of the plan is this replay.
 */
export function playSequence(state: CapacityState, head: readonly string[], order: readonly string[], setup: SequenceSetup): SequenceResult {
  const upgraded = new Set(setup.upgraded);
  const waves: WaveResult[] = [];
  const result: SequenceResult = { waves, unplaced: 0, migratedBytes: 0, migrations: 0 };
  const queue = head.map((h) => [h]);
  let rest = [...order];
  const runWave = (hosts: string[]): void => {
    const roles: WaveRoles = { upgraded, down: new Set(hosts), later: positions(rest), excluded: setup.excluded };
    const trial = state.begin();
    let placed = placeWave(state, hosts, roles, { stay: setup.stay, makeRoom: setup.makeRoom });
    while (placed.unplaced.length > 0 && hosts.length > 1) {
      // Too many hosts out at once: the last one waits for the next wave.
      state.rollback(trial);
      rest = [hosts.pop()!, ...rest];
      const smaller: WaveRoles = { upgraded, down: new Set(hosts), later: positions(rest), excluded: setup.excluded };
      placed = placeWave(state, hosts, smaller, { stay: setup.stay, makeRoom: setup.makeRoom });
    }
    state.commit();
    const freeAfter = new Map(state.model.hosts.map((h) => [h.ref, state.free(h.ref)]));
    waves.push({ wave: waves.length + 1, hosts: [...hosts], moves: placed.moves, unplaced: placed.unplaced, freeAfter });
    result.unplaced += placed.unplaced.length;
    result.migrations += placed.moves.length;
    for (const m of placed.moves) result.migratedBytes += m.vm.migrateBytes;
    for (const h of hosts) {
      upgraded.add(h);
      state.reserve(h, setup.dom0Growth.get(h) ?? 0);
    }
  };
  for (const w of queue) runWave(w);
  while (rest.length > 0) {
    const size = Math.max(1, Math.floor(setup.maxHostsDown));
    const hosts = rest.slice(0, size);
    rest = rest.slice(size);
    runWave(hosts);
  }
  return result;
}

function positions(rest: readonly string[]): Map<string, number> {
  return new Map(rest.map((h, i) => [h, i + 1]));
}
