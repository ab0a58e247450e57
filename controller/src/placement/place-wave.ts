import type { ModelVm } from '../pool-model/pool-model.js';
import type { CapacityState } from './capacity-state.js';
import { compareRank, isFinal, mayGo, rank, type WaveRoles } from './roles.js';

export interface Move {
  vm: ModelVm;
  from: string;
  to: string;
  /** The destination is a final home: the VM does not move again. */
  final: boolean;
  /** Made room on a destination for a larger VM (runs before the wave's evacuations). */
  room: boolean;
}

export interface Unplaced {
  vm: ModelVm;
  host: string;
  code: string;
  params: string[];
}

export interface WavePlacement {
  moves: Move[];
  unplaced: Unplaced[];
}

export interface PlaceOptions {
  /** VMs that do not move (pinned: shut down during their host's reboot; blocked). */
  stay: ReadonlySet<string>;
  /** Earlier decisions to keep when still valid (the workflow's re-check). */
  preferred?: ReadonlyMap<string, string>;
  /** Move smaller VMs out of the way when no host has room for a large one. Default true. */
  makeRoom?: boolean;
}

/**
 * Places every guest of the wave's hosts, largest first, applying the moves to `state`. A VM goes
 * to the best-ranked allowed host with room (roles.ts). When none has room but some allowed host
 * would after a few of its own guests moved elsewhere, those guests move first: the cheapest such
 * host in bytes copied wins (makeRoom). What still has nowhere to go is returned as unplaced with
 * the reason XAPI would give.
 */
export function placeWave(state: CapacityState, wave: readonly string[], roles: WaveRoles, options: PlaceOptions): WavePlacement {
  const out: WavePlacement = { moves: [], unplaced: [] };
  const hosts = state.model.hosts;
  const movedThisWave = new Set<string>();
  const guests = wave.flatMap((h) => state.guestsOn(h).filter((vm) => !options.stay.has(vm.ref)));
  guests.sort((a, b) => b.requiredBytes - a.requiredBytes || a.name.localeCompare(b.name) || a.ref.localeCompare(b.ref));
  for (const vm of guests) {
    const from = state.where(vm.ref)!;
    const source = state.hosts.get(from)!;
    const allowed = hosts.filter((h) => mayGo(vm, source, h, roles));
    if (allowed.length === 0) {
      const reason = vm.restrictedTo?.reason;
      out.unplaced.push({ vm, host: from, code: reason?.[0] ?? 'NO_HOSTS_AVAILABLE', params: reason === undefined ? [vm.ref] : [...reason.slice(1)] });
      continue;
    }
    const fits = allowed.filter((h) => state.free(h.ref) >= vm.requiredBytes);
    const want = options.preferred?.get(vm.ref);
    let to = want === undefined ? undefined : fits.find((h) => h.ref === want)?.ref;
    if (to === undefined && fits.length > 0) {
      let best = fits[0]!.ref;
      let bestRank = rank(vm, best, roles, state);
      for (const h of fits.slice(1)) {
        const r = rank(vm, h.ref, roles, state);
        const c = compareRank(r, bestRank);
        if (c < 0 || (c === 0 && h.name < state.hosts.get(best)!.name)) {
          best = h.ref;
          bestRank = r;
        }
      }
      to = best;
    }
    if (to === undefined && options.makeRoom !== false) {
      const room = makeRoom(state, vm, allowed.map((h) => h.ref), roles, options.stay, movedThisWave);
      if (room !== undefined) {
        for (const m of room.moves) {
          state.move(m.vm.ref, m.to);
          movedThisWave.add(m.vm.ref);
          out.moves.push(m);
        }
        to = room.host;
      }
    }
    if (to === undefined) {
      const bestFree = Math.max(0, ...allowed.map((h) => state.free(h.ref)));
      out.unplaced.push({ vm, host: from, code: 'HOST_NOT_ENOUGH_FREE_MEMORY', params: [String(vm.requiredBytes), String(bestFree)] });
      continue;
    }
    state.move(vm.ref, to);
    movedThisWave.add(vm.ref);
    out.moves.push({ vm, from, to, final: isFinal(to, roles), room: false });
  }
  return out;
}

interface Room {
  host: string;
  moves: Move[];
  bytes: number;
}

/**
 * Finds the allowed host where the fewest bytes must move to fit `vm`: on each, the guests that
 * could leave (movable, not already moved in this wave) and where each would go; the cheapest guest
 * big enough on its own, and the largest first until the gap is covered (taken largest first, no
 * guest of that set can be dropped again: the last one taken is the smallest, and the gap was open
 * before it). Each candidate set is checked against the homes its guests would take.
 */
export function makeRoom(state: CapacityState, vm: ModelVm, allowed: readonly string[], roles: WaveRoles, stay: ReadonlySet<string>, moved: ReadonlySet<string>): Room | undefined {
  let best: Room | undefined;
  // Final homes first: room made there is room for good.
  const targets = [...allowed].sort((a, b) => Number(isFinal(b, roles)) - Number(isFinal(a, roles)) || state.free(b) - state.free(a));
  for (const host of targets) {
    const gap = vm.requiredBytes - state.free(host);
    if (gap <= 0) continue;
    // (A guest of 0 bytes never ends in a set: the gap is open, largest first takes it last.)
    const movable = state.guestsOn(host).filter((c) => !stay.has(c.ref) && !moved.has(c.ref) && c.immobile === undefined);
    const sets: ModelVm[][] = [];
    const single = movable.filter((c) => c.requiredBytes >= gap).sort((a, b) => a.migrateBytes - b.migrateBytes)[0];
    if (single !== undefined) sets.push([single]);
    const greedy: ModelVm[] = [];
    let covered = 0;
    for (const c of movable) {
      if (covered >= gap) break;
      greedy.push(c);
      covered += c.requiredBytes;
    }
    if (covered >= gap) sets.push(greedy);
    for (const set of sets) {
      const bytes = set.reduce((s, c) => s + c.migrateBytes, 0);
      if (best !== undefined && bytes >= best.bytes) continue;
      const homes = homesFor(state, set, host, roles);
      if (homes !== undefined) best = { host, moves: homes, bytes };
    }
  }
  return best;
}

/** Where each of `set` would go from `host` (never back to it: mayGo), or undefined if one has nowhere. */
function homesFor(state: CapacityState, set: readonly ModelVm[], host: string, roles: WaveRoles): Move[] | undefined {
  const extra = new Map<string, number>();
  const free = (h: string): number => state.free(h) - (extra.get(h) ?? 0);
  const source = state.hosts.get(host)!;
  const moves: Move[] = [];
  for (const c of set) {
    let best: string | undefined;
    let bestRank: number[] | undefined;
    for (const h of state.model.hosts) {
      if (free(h.ref) < c.requiredBytes || !mayGo(c, source, h, roles)) continue;
      const r = rank(c, h.ref, roles, state);
      r[3] = free(h.ref) - c.requiredBytes;
      if (bestRank === undefined || compareRank(r, bestRank) < 0) {
        best = h.ref;
        bestRank = r;
      }
    }
    if (best === undefined) return undefined;
    extra.set(best, (extra.get(best) ?? 0) + c.requiredBytes);
    moves.push({ vm: c, from: host, to: best, final: isFinal(best, roles), room: true });
  }
  return moves;
}
