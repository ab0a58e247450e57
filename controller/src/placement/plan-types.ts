export interface PlanOptions {
  /** Hosts (name, uuid or ref) that are not upgraded and not evacuated; they may still receive VMs. */
  exclude?: readonly string[];
  /** Named checks (XAPI codes) the admin overrides: VMs they block are shut down while their host reboots and started again after. */
  overrides?: readonly string[];
  /** Hosts (refs) already upgraded by this workflow (resume). */
  doneHosts?: readonly string[];
  /** Hosts out of the pool at once, master excepted (default 1). */
  maxHostsDown?: number;
  /** Every order of the non-master hosts is searched up to this many (default 6). */
  maxExhaustiveHosts?: number;
  /** Keep this order for the non-master hosts (refs). */
  fixedOrder?: readonly string[];
  /** Move smaller VMs out of the way when no host has room for a large one (default true). */
  makeRoom?: boolean;
  /** Extra bytes dom0 takes on each host (ref) once it runs the new release. */
  dom0Growth?: ReadonlyMap<string, number>;
}

export type HostAction = 'upgrade' | 'done' | 'excluded';

export interface PlannedHost {
  ref: string;
  uuid: string;
  name: string;
  role: 'master' | 'slave';
  /** 1-based position in the sequence; 0 for hosts not upgraded by this run. */
  order: number;
  /** The wave it goes down in (hosts of one wave are out together); 0 when not upgraded. */
  wave: number;
  action: HostAction;
  version: string;
  reason: string;
}

export interface PlannedMigration {
  /** The position of the host being evacuated when the VM moves (its `order`). */
  step: number;
  wave: number;
  vm: string;
  vmRef: string;
  vmUuid: string;
  from: string;
  fromRef: string;
  to: string;
  toRef: string;
  /** Memory copied by the migration. */
  memoryBytes: number;
  /** Memory reserved on the destination (XAPI accounting). */
  requiredBytes: number;
  /** False when the destination is itself evacuated later, so the VM moves again. */
  final: boolean;
  /** Moved out of the way of a larger VM (before the wave's evacuations). */
  room: boolean;
}

export interface PlanBlocker {
  vm: string;
  vmRef: string;
  code: string;
  host: string;
  params: string[];
  /** The named check an admin may override (`--override CODE`); '' when it cannot be overridden. */
  check: string;
  overridden: boolean;
  message: string;
}

export interface PinnedVm {
  vm: string;
  vmRef: string;
  vmUuid: string;
  host: string;
  hostRef: string;
  /** The XAPI code that keeps it from leaving (overridden by the admin). */
  code: string;
  reason: string;
}

export interface PlanStep {
  step: number;
  wave: number;
  hostRef: string;
  host: string;
  /** VMs leaving this host (room moves are listed with the wave). */
  migrations: PlannedMigration[];
  /** VMs that cannot leave: shut down before the reboot, started again after. */
  pinned: PinnedVm[];
  /** Free memory (XAPI accounting) per host name once this host's wave is empty. */
  freeAfterEvacuation: Record<string, number>;
}

export interface PlanWave {
  wave: number;
  hosts: string[];
  hostRefs: string[];
  migrations: number;
  roomMoves: number;
  migratedBytes: number;
  /** VMs with nowhere to go in this wave. */
  unplaced: number;
  /** The host with the least memory left while the wave is out, and how much. */
  tightestHost: string;
  tightestFreeBytes: number;
  freeAfter: Record<string, number>;
}

export interface PlanTotals {
  migratedBytes: number;
  /** Every running agile VM moved once: no plan migrates less. */
  lowerBoundBytes: number;
  /** The lower bound plus the master's VMs a second time (it goes first and has nowhere final for them). */
  achievableLowerBoundBytes: number;
  migrations: number;
  vmsMovedMoreThanOnce: number;
  waves: number;
  roomMoves: number;
}

export interface CapacityProof {
  /** Memory-wise, every running VM has a place at every wave (or is pinned by an override); other reasons are blockers of their own. */
  holds: boolean;
  maxHostsDown: number;
  memoryPolicy: string;
  makeRoom: boolean;
  waves: Array<{ wave: number; hostsDown: string[]; placed: number; unplaced: number; tightestHost: string; tightestFreeBytes: number }>;
}

export interface EndStateHost {
  host: string;
  guests: number;
  usedBytes: number;
  freeBytes: number;
  guestMemoryBytes: number;
  /** Free share of the host's guest memory at the end. */
  headroom: number;
}

export interface EndState {
  hosts: EndStateHost[];
  balance: { minUsedFraction: number; maxUsedFraction: number; stddevUsedFraction: number };
  antiAffinity: Array<{ group: string; vms: number; hostsBefore: number; hostsAfter: number; maxPerHostBefore: number; maxPerHostAfter: number; kept: boolean }>;
}

export interface RollingPlan {
  pool: string;
  poolRef: string;
  hosts: PlannedHost[];
  steps: PlanStep[];
  waves: PlanWave[];
  blockers: PlanBlocker[];
  migrations: PlannedMigration[];
  totals: PlanTotals;
  capacity: CapacityProof;
  endState: EndState;
  /** No blocker that is not overridden. */
  runnable: boolean;
  search: { ordersEvaluated: number; exhaustive: boolean };
  warnings: string[];
}

export class PlanInputError extends Error {}
