import { isResidentGuest, type ModelHost, type ModelVm, type PoolModel } from '../pool-model/pool-model.js';

/** What a move or a reservation overwrote, to put it back. */
type Undo = { vm: string; from: string; to: string; usedFrom: number; usedTo: number } | { host: string; used: number };

/**
 * Where every VM is and how much memory each host has left, by XAPI's accounting (the model's
 * memory policy): a host offers guestMemoryBytes, each resident VM (dom0 included) takes its
 * requiredBytes. Mutable; clone() for an independent copy, begin()/rollback()/commit() to try
 * something in place: a trial records what each move overwrote, so undoing a wave costs its own
 * moves, not a copy of the whole pool (two copies per wave per order searched were a third of a
 * 64-host plan's time, bench/fanout.mjs).
 */
export class CapacityState {
  private readonly used: Map<string, number>;
  private readonly residence: Map<string, string>;
  private readonly residents: Map<string, Set<string>>;
  /** Undo records since the outermost open trial; empty when none is open. */
  private readonly undo: Undo[] = [];
  private openTrials = 0;

  constructor(
    readonly model: PoolModel,
    readonly hosts: ReadonlyMap<string, ModelHost>,
    readonly vms: ReadonlyMap<string, ModelVm>,
    from?: CapacityState,
  ) {
    if (from !== undefined) {
      this.used = new Map(from.used);
      this.residence = new Map(from.residence);
      this.residents = new Map([...from.residents].map(([h, s]) => [h, new Set(s)]));
      return;
    }
    this.used = new Map(model.hosts.map((h) => [h.ref, 0]));
    this.residence = new Map();
    this.residents = new Map(model.hosts.map((h) => [h.ref, new Set<string>()]));
    for (const vm of model.vms) {
      if (!(vm.isControlDomain || isResidentGuest(vm)) || !this.used.has(vm.residentOn)) continue;
      this.residence.set(vm.ref, vm.residentOn);
      this.used.set(vm.residentOn, (this.used.get(vm.residentOn) ?? 0) + vm.requiredBytes);
      if (!vm.isControlDomain) this.residents.get(vm.residentOn)!.add(vm.ref);
    }
  }

  static of(model: PoolModel): CapacityState {
    return new CapacityState(model, new Map(model.hosts.map((h) => [h.ref, h])), new Map(model.vms.map((v) => [v.ref, v])));
  }

  /** Opens a trial (trials nest): rollback(point) undoes every change made since; commit() keeps them (innermost first). */
  begin(): number {
    this.openTrials++;
    return this.undo.length;
  }

  /** Undoes every move and reservation since `point`; the trial stays open. */
  rollback(point: number): void {
    while (this.undo.length > point) {
      const u = this.undo.pop()!;
      if ('vm' in u) {
        this.used.set(u.to, u.usedTo);
        this.used.set(u.from, u.usedFrom);
        this.residence.set(u.vm, u.from);
        this.residents.get(u.to)?.delete(u.vm);
        this.residents.get(u.from)?.add(u.vm);
      } else {
        this.used.set(u.host, u.used);
      }
    }
  }

  /** Keeps the trial's changes. An enclosing trial can still undo them; when none is open the record is dropped. */
  commit(): void {
    if (this.openTrials === 0) throw new Error('CapacityState.commit without begin');
    this.openTrials--;
    if (this.openTrials === 0) this.undo.length = 0;
  }

  clone(): CapacityState {
    return new CapacityState(this.model, this.hosts, this.vms, this);
  }

  usedBytes(host: string): number {
    return this.used.get(host) ?? 0;
  }

  free(host: string): number {
    return (this.hosts.get(host)?.guestMemoryBytes ?? 0) - (this.used.get(host) ?? 0);
  }

  where(vm: string): string | undefined {
    return this.residence.get(vm);
  }

  /** The guests on a host, largest first (then by name): the order they are placed in. */
  guestsOn(host: string): ModelVm[] {
    return [...(this.residents.get(host) ?? [])].map((r) => this.vms.get(r)!).sort(largestFirst);
  }

  move(vm: string, to: string): void {
    const v = this.vms.get(vm);
    const from = this.residence.get(vm);
    if (v === undefined || from === undefined) return;
    if (this.openTrials > 0) this.undo.push({ vm, from, to, usedFrom: this.usedBytes(from), usedTo: this.usedBytes(to) });
    this.used.set(from, (this.used.get(from) ?? 0) - v.requiredBytes);
    this.used.set(to, (this.used.get(to) ?? 0) + v.requiredBytes);
    this.residence.set(vm, to);
    this.residents.get(from)?.delete(vm);
    this.residents.get(to)?.add(vm);
  }

  /** dom0 grows when a host boots a newer release: its reservation grows with it. */
  reserve(host: string, bytes: number): void {
    if (this.openTrials > 0) this.undo.push({ host, used: this.usedBytes(host) });
    this.used.set(host, (this.used.get(host) ?? 0) + bytes);
  }

  /** How many guests of an anti-affinity group live on a host. */
  groupCount(host: string, group: string): number {
    let n = 0;
    for (const r of this.residents.get(host) ?? []) if (this.vms.get(r)?.antiAffinityGroups.includes(group)) n++;
    return n;
  }
}

export function largestFirst(a: ModelVm, b: ModelVm): number {
  return b.requiredBytes - a.requiredBytes || a.name.localeCompare(b.name) || a.ref.localeCompare(b.ref);
}
