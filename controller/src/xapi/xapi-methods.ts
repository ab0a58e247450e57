import type { Ref } from './ref.js';
import type { XapiClass, XapiClassRecords } from './xapi-records.js';

export interface XapiEventRecord {
  id: string;
  timestamp: string;
  /** Lower-case class name (`vm`, `host`), as XAPI sends it. */
  class: string;
  operation: 'add' | 'mod' | 'del';
  ref: string;
  /** The object's record; absent on `del`. Not normalised: events carry every class. */
  snapshot?: Readonly<Record<string, unknown>>;
}

export interface XapiEventBatch {
  events: XapiEventRecord[];
  valid_ref_counts: Readonly<Record<string, number>>;
  token: string;
}

type Method<A extends unknown[], R> = { args: A; result: R };

type ClassGetters<K extends XapiClass> = {
  [M in `${K}.get_record`]: Method<[self: Ref<K>], XapiClassRecords[K]>;
} & {
  [M in `${K}.get_all_records`]: Method<[], Record<Ref<K>, XapiClassRecords[K]>>;
} & {
  [M in `${K}.get_all`]: Method<[], Ref<K>[]>;
} & {
  [M in `${K}.get_by_uuid`]: Method<[uuid: string], Ref<K>>;
} & {
  [F in keyof XapiClassRecords[K] & string as `${K}.get_${F}`]: Method<[self: Ref<K>], XapiClassRecords[K][F]>;
};

type Getters = ClassGetters<'pool'> &
  ClassGetters<'host'> &
  ClassGetters<'host_metrics'> &
  ClassGetters<'VM'> &
  ClassGetters<'VBD'> &
  ClassGetters<'VDI'> &
  ClassGetters<'SR'> &
  ClassGetters<'PBD'> &
  ClassGetters<'host_patch'> &
  ClassGetters<'pool_patch'> &
  ClassGetters<'pool_update'> &
  ClassGetters<'task'> &
  ClassGetters<'VM_group'>;

/** Methods that change or probe the pool. Argument names follow XAPI's documentation. */
interface Operations {
  /** auto_enable (XenServer 8 / XCP-ng 8.3): false keeps the host disabled across its reboot, until host.enable. */
  'host.disable': Method<[host: Ref<'host'>] | [host: Ref<'host'>, auto_enable: boolean], void>;
  'host.enable': Method<[host: Ref<'host'>], void>;
  'host.reboot': Method<[host: Ref<'host'>], void>;
  /** xe-toolstack-restart: what an update whose guidance is restart_toolstack needs instead of a reboot. */
  'host.restart_agent': Method<[host: Ref<'host'>], void>;
  'host.evacuate': Method<[host: Ref<'host'>] | [host: Ref<'host'>, network: Ref<'network'>, evacuate_batch_size: number], void>;
  'host.get_vms_which_prevent_evacuation': Method<[self: Ref<'host'>], Record<Ref<'VM'>, string[]>>;
  'host.assert_can_evacuate': Method<[host: Ref<'host'>], void>;
  /** The pool database replicas on shared SRs (disaster recovery metadata VDIs). */
  'pool.get_metadata_VDIs': Method<[self: Ref<'pool'>], Ref<'VDI'>[]>;
  /** Where WLB is (or was) configured; '' when never. */
  'pool.get_wlb_url': Method<[self: Ref<'pool'>], string>;
  'host.call_plugin': Method<[host: Ref<'host'>, plugin: string, fn: string, args: Record<string, string>], string>;
  /** XCP-ng 8.2+ / XenServer 8 update mechanism: returns [[message, ...], ...] of pending guidance. */
  'host.apply_updates': Method<[self: Ref<'host'>, hash: string], string[][]>;
  'host.add_to_other_config': Method<[self: Ref<'host'>, key: string, value: string], void>;
  'host.remove_from_other_config': Method<[self: Ref<'host'>, key: string], void>;
  // Multipath rollout (xenadmin EditMultipathAction.cs): the host's SRs detached, multipathing switched, attached again.
  'host.set_multipathing': Method<[host: Ref<'host'>, value: boolean], void>;
  'PBD.unplug': Method<[self: Ref<'PBD'>], void>;
  'VM.pool_migrate': Method<[vm: Ref<'VM'>, host: Ref<'host'>, options: Record<string, string>], void>;
  // Rolling upgrade: VMs that cannot move are shut down while their host reboots, started after.
  'VM.clean_shutdown': Method<[vm: Ref<'VM'>], void>;
  'VM.hard_shutdown': Method<[vm: Ref<'VM'>], void>;
  'VM.pause': Method<[vm: Ref<'VM'>], void>;
  'VM.unpause': Method<[vm: Ref<'VM'>], void>;
  /** Whether the VM could start (or run) on the host now: XAPI's assert_can_boot_here, memory included. */
  'VM.assert_can_boot_here': Method<[self: Ref<'VM'>, host: Ref<'host'>], void>;
  'PBD.plug': Method<[self: Ref<'PBD'>], void>;
  'VM.start_on': Method<[vm: Ref<'VM'>, host: Ref<'host'>, start_paused: boolean, force: boolean], void>;
  'host.compute_free_memory': Method<[host: Ref<'host'>], number>;
  /** XenServer 8: fetches the update repository; returns the hash host.apply_updates takes. */
  'pool.sync_updates': Method<[self: Ref<'pool'>, force: boolean, token: string, token_id: string], string>;
  'pool.disable_ha': Method<[], void>;
  'pool.enable_ha': Method<[heartbeat_srs: Ref<'SR'>[], configuration: Record<string, string>], void>;
  'pool.set_wlb_enabled': Method<[self: Ref<'pool'>, value: boolean], void>;
  'pool.designate_new_master': Method<[host: Ref<'host'>], void>;
  // Storage failover: after the master died and another host took over (emergency transition).
  'pool.recover_slaves': Method<[], Ref<'host'>[]>;
  'VM.power_state_reset': Method<[vm: Ref<'VM'>], void>;
  // Only for a host fenced by power and read back off (recover-xapi.ts).
  'host.declare_dead': Method<[host: Ref<'host'>], void>;
  'pool.add_to_other_config': Method<[self: Ref<'pool'>, key: string, value: string], void>;
  'pool.remove_from_other_config': Method<[self: Ref<'pool'>, key: string], void>;
  'event.from': Method<[classes: string[], token: string, timeout: number], XapiEventBatch>;
  'event.inject': Method<[cls: string, ref: string], string>;
  'task.cancel': Method<[task: Ref<'task'>], void>;
  'task.destroy': Method<[self: Ref<'task'>], void>;
}

/** Every method XapiClient.call accepts, with its argument tuple and (normalised) result. */
export type XapiMethods = Getters & Operations;
export type XapiMethodName = keyof XapiMethods & string;
export type XapiArgs<M extends XapiMethodName> = XapiMethods[M]['args'];
export type XapiResult<M extends XapiMethodName> = XapiMethods[M]['result'];

/** Methods XAPI also offers as `Async.<method>`, returning a task (XapiClient.callAsync). */
export type XapiAsyncMethodName =
  | 'host.disable'
  | 'host.enable'
  | 'host.reboot'
  | 'host.restart_agent'
  | 'host.evacuate'
  | 'host.get_vms_which_prevent_evacuation'
  | 'host.assert_can_evacuate'
  | 'host.call_plugin'
  | 'host.apply_updates'
  | 'VM.pool_migrate'
  | 'VM.clean_shutdown'
  | 'VM.hard_shutdown'
  | 'VM.pause'
  | 'VM.unpause'
  | 'PBD.plug'
  | 'VM.start_on'
  | 'pool.sync_updates'
  | 'pool.disable_ha'
  | 'pool.enable_ha'
  | 'pool.set_wlb_enabled'
  | 'pool.designate_new_master'
  | 'pool.recover_slaves'
  | 'VM.power_state_reset'
  | 'host.declare_dead';
