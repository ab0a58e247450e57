import { isResidentGuest, type ModelHost, type ModelVm, type PoolModel } from '../pool-model/pool-model.js';

/**
 * Where every VM is and how much memory each host has left, by XAPI's accounting (the model's
 * memory policy): a host offers guestMemoryBytes, each resident VM (dom0 included) takes its
 * requiredBytes. Mutable; clone() to try something.
 */
export class CapacityState {
  private readonly used: Map<string, number>;
  private readonly residence: Map<string, string>;
  private readonly residents: Map<string, Set<string>>;

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

  /** Takes over another state's placement (a trial that worked). */
  adopt(other: CapacityState): void {
    this.used.clear();
    for (const [k, v] of other.used) this.used.set(k, v);
    this.residence.clear();
    for (const [k, v] of other.residence) this.residence.set(k, v);
    this.residents.clear();
    for (const [k, v] of other.residents) this.residents.set(k, new Set(v));
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
    this.used.set(from, (this.used.get(from) ?? 0) - v.requiredBytes);
    this.used.set(to, (this.used.get(to) ?? 0) + v.requiredBytes);
    this.residence.set(vm, to);
    this.residents.get(from)?.delete(vm);
    this.residents.get(to)?.add(vm);
  }

  /** dom0 grows when a host boots a newer release: its reservation grows with it. */
  reserve(host: string, bytes: number): void {
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
