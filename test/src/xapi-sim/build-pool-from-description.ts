import { createHash } from 'node:crypto';
import { formatXapiDate, systemClock, XAPI_EPOCH_DATE, type Clock } from './clock.js';
import type { HostDescription, PoolDescription, SrDescription, VmDescription } from './pool-description.js';
import { validatePoolDescription } from './pool-description.js';
import { productVersionInfo } from './product-versions.js';
import { XapiDb } from './xapi-db.js';
import { NULL_REF, type XapiRecord } from './xapi-value.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** Tables a XenServer 7 pool has even when empty, so clients listing classes see them. */
const baseClasses = [
  'pool', 'host', 'host_metrics', 'host_cpu', 'host_patch', 'host_crashdump', 'pool_patch', 'pool_update',
  'VM', 'VM_metrics', 'VM_guest_metrics', 'SR', 'PBD', 'VDI', 'VBD', 'VBD_metrics', 'network', 'PIF',
  'PIF_metrics', 'VIF', 'console', 'crashdump', 'task', 'session', 'message', 'SM', 'secret', 'blob',
];

/**
 * Turns a pool description into the full set of records XAPI would hold for such a pool: hosts
 * with metrics, CPUs and a control domain each, the management network and PIFs, SRs with a PBD
 * per attached host, VMs with metrics, VBDs and VDIs, and hotfixes as pool_update/pool_patch/
 * host_patch. Refs and UUIDs are derived from the names, so the same file gives the same refs.
 */
export function buildPoolFromDescription(input: PoolDescription, options: { clock?: Clock } = {}): XapiDb {
  const description = validatePoolDescription(input);
  const clock = options.clock ?? systemClock;
  const db = new XapiDb({ clock });
  for (const cls of baseClasses) db.addClass(cls);
  new PoolBuilder(db, description, clock).build();
  return db;
}

class PoolBuilder {
  private readonly hostRefs = new Map<string, string>();
  private readonly srRefs = new Map<string, string>();
  private readonly nextDomid = new Map<string, number>();
  private readonly bootSeconds: number;

  constructor(
    private readonly db: XapiDb,
    private readonly d: PoolDescription,
    private readonly clock: Clock,
  ) {
    this.bootSeconds = Math.floor(clock.now() / 1000) - 86_400;
  }

  /** A stable UUID for an object of this pool, from its kind and names. */
  private uuid(...parts: string[]): string {
    const h = createHash('sha1').update([this.d.pool.name, ...parts].join('\u0000')).digest('hex');
    const variant = ((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`;
  }

  private ref(...parts: string[]): string {
    return `OpaqueRef:${this.uuid('ref', ...parts)}`;
  }

  private now(): string {
    return formatXapiDate(this.clock.now());
  }

  build(): void {
    const networkRef = this.createNetwork();
    for (const host of this.d.hosts) this.hostRefs.set(host.name, this.ref('host', host.name));
    for (const sr of this.d.srs ?? []) this.srRefs.set(sr.name, this.ref('SR', sr.name));
    const defaultSr = this.defaultSrRef();
    this.createPool(defaultSr);
    const updates = this.createUpdates();
    for (const host of this.d.hosts) this.createHost(host, networkRef, updates, defaultSr);
    for (const sr of this.d.srs ?? []) this.createSr(sr);
    for (const vm of this.d.vms ?? []) this.createVm(vm);
    this.finishHostMetrics();
  }

  private hostRef(name: string): string {
    const ref = this.hostRefs.get(name);
    if (ref === undefined) throw new Error(`unknown host ${name}`);
    return ref;
  }

  private defaultSrRef(): string {
    const srs = this.d.srs ?? [];
    const chosen = srs.find((s) => s.default === true) ?? srs.find((s) => isShared(s));
    return chosen === undefined ? NULL_REF : this.srRefs.get(chosen.name)!;
  }

  private createPool(defaultSr: string): void {
    const p = this.d.pool;
    this.db.create(
      'pool',
      {
        uuid: this.uuid('pool'),
        name_label: p.name,
        name_description: '',
        master: this.hostRef(p.master),
        default_SR: defaultSr,
        suspend_image_SR: defaultSr,
        crash_dump_SR: defaultSr,
        other_config: { memory_ratio_hvm: '0.25', memory_ratio_pv: '0.25', ...(p.otherConfig ?? {}) },
        ha_enabled: p.haEnabled ?? false,
        ha_configuration: {},
        ha_statefiles: [],
        ha_host_failures_to_tolerate: p.haEnabled === true ? 1 : 0,
        ha_plan_exists_for: p.haEnabled === true ? 1 : 0,
        ha_allow_overcommit: false,
        ha_overcommitted: false,
        ha_cluster_stack: 'xhad',
        blobs: {},
        tags: [],
        gui_config: {},
        health_check_config: {},
        wlb_url: p.wlbEnabled === true ? 'wlb.example:8012' : '',
        wlb_username: '',
        wlb_enabled: p.wlbEnabled ?? false,
        wlb_verify_cert: false,
        redo_log_enabled: false,
        redo_log_vdi: NULL_REF,
        vswitch_controller: '',
        restrictions: {},
        metadata_VDIs: [],
        allowed_operations: ['ha_enable', 'cluster_create'],
        current_operations: {},
        guest_agent_config: {},
        cpu_info: {},
        policy_no_vendor_device: false,
        live_patching_disabled: false,
      },
      this.ref('pool'),
    );
  }

  private createNetwork(): string {
    return this.db.create(
      'network',
      {
        uuid: this.uuid('network', 'eth0'),
        name_label: 'Pool-wide network associated with eth0',
        name_description: '',
        allowed_operations: [],
        current_operations: {},
        MTU: 1500,
        other_config: {},
        bridge: 'xenbr0',
        managed: true,
        blobs: {},
        tags: [],
        default_locking_mode: 'unlocked',
        assigned_ips: {},
        purpose: [],
      },
      this.ref('network', 'eth0'),
    );
  }

  /** One pool_update and pool_patch per hotfix named anywhere, like a pool where each was uploaded once. */
  private createUpdates(): Map<string, { update: string; patch: string }> {
    const names = [...new Set(this.d.hosts.flatMap((h) => h.hotfixes ?? []))];
    const out = new Map<string, { update: string; patch: string }>();
    for (const name of names) {
      const holders = this.d.hosts.filter((h) => (h.hotfixes ?? []).includes(name)).map((h) => this.hostRef(h.name));
      const update = this.db.create(
        'pool_update',
        {
          uuid: this.uuid('pool_update', name),
          name_label: name,
          name_description: `Hotfix ${name}`,
          version: '1.0',
          installation_size: 0,
          key: '',
          after_apply_guidance: ['restartHost'],
          vdi: NULL_REF,
          hosts: holders,
          other_config: {},
          enforce_homogeneity: false,
        },
        this.ref('pool_update', name),
      );
      const patch = this.db.create(
        'pool_patch',
        {
          // XAPI keeps a pool_patch twin of each pool_update for old clients, with the same uuid.
          uuid: this.uuid('pool_update', name),
          name_label: name,
          name_description: `Hotfix ${name}`,
          version: '1.0',
          size: 0,
          pool_applied: holders.length === this.d.hosts.length,
          after_apply_guidance: ['restartHost'],
          pool_update: update,
          other_config: {},
        },
        this.ref('pool_patch', name),
      );
      out.set(name, { update, patch });
    }
    return out;
  }

  private createHost(h: HostDescription, networkRef: string, updates: Map<string, { update: string; patch: string }>, defaultSr: string): void {
    const ref = this.hostRef(h.name);
    const version = h.version ?? '7.1.0';
    const info = productVersionInfo(version);
    const brand = h.brand ?? 'XenServer';
    const memoryTotal = Math.round((h.memoryGiB ?? 32) * GiB);
    const cpus = h.cpus ?? 16;
    const hostname = h.hostname ?? h.name;
    const metricsRef = this.ref('host_metrics', h.name);
    const dom0Ref = this.ref('VM', 'control domain', h.name);
    const [major = '0', minor = '0'] = version.split('.');
    const localSr = (this.d.srs ?? []).find((s) => s.host === h.name);
    const localSrRef = localSr === undefined ? defaultSr : this.srRefs.get(localSr.name)!;

    this.db.create(
      'host',
      {
        uuid: this.uuid('host', h.name),
        name_label: h.name,
        name_description: 'Default install',
        memory_overhead: hostMemoryOverhead(memoryTotal),
        allowed_operations: ['vm_migrate', 'provision', 'vm_resume', 'evacuate', 'vm_start'],
        current_operations: {},
        API_version_major: info.apiMajor,
        API_version_minor: info.apiMinor,
        API_version_vendor: 'XenSource',
        API_version_vendor_implementation: {},
        enabled: h.enabled ?? true,
        software_version: {
          product_version: version,
          product_version_text: `${major}.${minor}`,
          product_version_text_short: `${major}.${minor}`,
          platform_name: 'XCP',
          platform_version: info.platformVersion,
          product_brand: brand,
          build_number: h.build ?? info.build,
          hostname: 'localhost',
          date: '2016-12-08',
          dbv: '2016.0520',
          xapi: info.xapi,
          xen: info.xen,
          linux: info.linux,
          xencenter_min: info.xencenter,
          xencenter_max: info.xencenter,
          network_backend: 'openvswitch',
        },
        other_config: {
          agent_start_time: `${this.bootSeconds + 40}.`,
          boot_time: `${this.bootSeconds}.`,
          iscsi_iqn: `iqn.2017-01.com.example:${hostname}`,
          multipathing: 'false',
          multipathhandle: 'dmp',
          ...(h.otherConfig ?? {}),
        },
        capabilities: ['xen-3.0-x86_64', 'xen-3.0-x86_32p', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64', ''],
        cpu_configuration: {},
        sched_policy: 'credit',
        supported_bootloaders: ['pygrub', 'eliloader'],
        logging: {},
        suspend_image_sr: localSrRef,
        crash_dump_sr: localSrRef,
        updates: (h.hotfixes ?? []).map((name) => updates.get(name)!.update),
        cpu_info: {
          cpu_count: String(cpus),
          socket_count: '2',
          vendor: 'GenuineIntel',
          speed: '2600.000',
          modelname: 'Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz',
          family: '6',
          model: '62',
          stepping: '4',
        },
        hostname,
        address: h.address,
        metrics: metricsRef,
        license_params: { sku_type: 'enterprise-per-socket', expiry: '20300101T00:00:00Z', sockets: '2' },
        ha_statefiles: [],
        ha_network_peers: [],
        blobs: {},
        tags: [],
        external_auth_type: '',
        external_auth_service_name: '',
        external_auth_configuration: {},
        edition: 'enterprise-per-socket',
        license_server: { address: 'localhost', port: '27000' },
        bios_strings: { 'bios-vendor': 'Dell Inc.', 'system-manufacturer': 'Dell Inc.', 'system-product-name': 'PowerEdge R620' },
        power_on_mode: '',
        power_on_config: {},
        local_cache_sr: NULL_REF,
        chipset_info: { iommu: 'true' },
        ssl_legacy: true,
        guest_VCPUs_params: {},
        display: 'enabled',
        virtual_hardware_platform_versions: [0, 1, 2],
        control_domain: dom0Ref,
        updates_requiring_reboot: [],
        features: [],
      },
      ref,
    );
    this.db.create(
      'host_metrics',
      { uuid: this.uuid('host_metrics', h.name), memory_total: memoryTotal, memory_free: memoryTotal, live: h.live ?? true, last_updated: this.now(), other_config: {} },
      metricsRef,
    );
    for (let n = 0; n < cpus; n++) {
      this.db.create(
        'host_cpu',
        {
          uuid: this.uuid('host_cpu', h.name, String(n)),
          host: ref,
          number: n,
          vendor: 'GenuineIntel',
          speed: 2600,
          modelname: 'Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz',
          family: 6,
          model: 62,
          stepping: '4',
          flags: 'fpu de tsc msr pae mce cx8 apic sep mtrr mca cmov pat clflush acpi mmx fxsr sse sse2 ss ht',
          features: '',
          utilisation: 0,
          other_config: {},
        },
        this.ref('host_cpu', h.name, String(n)),
      );
    }
    for (const name of h.hotfixes ?? []) {
      this.db.create(
        'host_patch',
        {
          uuid: this.uuid('host_patch', h.name, name),
          name_label: name,
          name_description: `Hotfix ${name}`,
          version: '1.0',
          host: ref,
          applied: true,
          timestamp_applied: formatXapiDate((this.bootSeconds - 3600) * 1000),
          size: 0,
          pool_patch: updates.get(name)!.patch,
          other_config: {},
        },
        this.ref('host_patch', h.name, name),
      );
    }
    this.createPif(h, ref, networkRef);
    const dom0Memory = (h.dom0MemoryMiB ?? defaultDom0MiB(memoryTotal)) * MiB;
    this.createVmRecords(
      {
        name: `Control domain on host: ${h.name}`,
        powerState: 'Running',
        host: h.name,
        memoryMiB: dom0Memory / MiB,
        vcpus: Math.min(cpus, 8),
      },
      dom0Ref,
      true,
    );
  }

  private createPif(h: HostDescription, hostRef: string, networkRef: string): void {
    const metrics = this.ref('PIF_metrics', h.name, 'eth0');
    const macTail = this.uuid('mac', h.name).replace(/-/g, '').slice(0, 6);
    this.db.create(
      'PIF_metrics',
      {
        uuid: this.uuid('PIF_metrics', h.name, 'eth0'),
        io_read_kbs: 0,
        io_write_kbs: 0,
        carrier: true,
        vendor_id: '8086',
        vendor_name: 'Intel Corporation',
        device_id: '1521',
        device_name: 'I350 Gigabit Network Connection',
        speed: 1000,
        duplex: true,
        pci_bus_path: '0000:01:00.0',
        last_updated: this.now(),
        other_config: {},
      },
      metrics,
    );
    this.db.create(
      'PIF',
      {
        uuid: this.uuid('PIF', h.name, 'eth0'),
        device: 'eth0',
        network: networkRef,
        host: hostRef,
        MAC: `00:1b:21:${macTail.slice(0, 2)}:${macTail.slice(2, 4)}:${macTail.slice(4, 6)}`,
        MTU: 1500,
        VLAN: -1,
        metrics,
        physical: true,
        currently_attached: true,
        ip_configuration_mode: 'Static',
        IP: h.address,
        netmask: '255.255.255.0',
        gateway: '',
        DNS: '',
        bond_slave_of: NULL_REF,
        VLAN_master_of: NULL_REF,
        management: true,
        other_config: {},
        disallow_unplug: false,
        ipv6_configuration_mode: 'None',
        IPv6: [],
        ipv6_gateway: '',
        primary_address_type: 'IPv4',
        managed: true,
        properties: { gro: 'on' },
        capabilities: [],
      },
      this.ref('PIF', h.name, 'eth0'),
    );
  }

  private createSr(s: SrDescription): void {
    const ref = this.srRefs.get(s.name)!;
    const shared = isShared(s);
    const type = s.type ?? (shared ? 'lvmoiscsi' : 'lvm');
    const size = Math.round((s.sizeGiB ?? (shared ? 2048 : 500)) * GiB);
    this.db.create(
      'SR',
      {
        uuid: this.uuid('SR', s.name),
        name_label: s.name,
        name_description: shared ? `iSCSI SR [${s.name}]` : '',
        allowed_operations: ['forget', 'vdi_create', 'vdi_snapshot', 'plug', 'update', 'destroy', 'vdi_destroy', 'scan', 'vdi_clone', 'vdi_resize', 'unplug'],
        current_operations: {},
        virtual_allocation: 0,
        physical_utilisation: 0,
        physical_size: size,
        type,
        content_type: 'user',
        shared,
        other_config: shared ? { 'auto-scan': 'false' } : { 'i18n-key': 'local-storage', 'i18n-original-value-name_label': 'Local storage' },
        tags: [],
        sm_config: type.startsWith('lvm') ? { allocation: 'thick', use_vhd: 'true' } : {},
        blobs: {},
        local_cache_enabled: false,
        introduced_by: NULL_REF,
        clustered: false,
        is_tools_sr: false,
        ...(s.otherConfig === undefined ? {} : { other_config: s.otherConfig }),
      },
      ref,
    );
    const hosts = shared ? this.d.hosts : this.d.hosts.filter((h) => h.name === s.host);
    for (const h of hosts) {
      this.db.create(
        'PBD',
        {
          uuid: this.uuid('PBD', s.name, h.name),
          host: this.hostRef(h.name),
          SR: ref,
          device_config: s.deviceConfig ?? defaultDeviceConfig(type, s.name, h.name),
          currently_attached: true,
          other_config: type === 'lvmoiscsi' || type === 'lvmohba' ? { multipathed: 'false' } : {},
        },
        this.ref('PBD', s.name, h.name),
      );
    }
  }

  private createVm(v: VmDescription): void {
    this.createVmRecords(v, this.ref('VM', v.name), false);
  }

  private createVmRecords(v: VmDescription, ref: string, controlDomain: boolean): void {
    const state = v.powerState ?? 'Running';
    const live = state === 'Running' || state === 'Paused';
    const memory = Math.round(v.memoryMiB !== undefined ? v.memoryMiB * MiB : (v.memoryGiB ?? 2) * GiB);
    const vcpus = v.vcpus ?? 2;
    const hostRef = live && v.host !== undefined ? this.hostRef(v.host) : NULL_REF;
    const metricsRef = this.ref('VM_metrics', v.name);
    const domid = live ? this.takeDomid(hostRef, controlDomain) : -1;
    const started = live ? formatXapiDate((this.bootSeconds + 120) * 1000) : XAPI_EPOCH_DATE;
    this.db.create(
      'VM_metrics',
      {
        uuid: this.uuid('VM_metrics', v.name),
        memory_actual: live ? memory : 0,
        VCPUs_number: live ? vcpus : 0,
        VCPUs_utilisation: live ? Object.fromEntries(Array.from({ length: vcpus }, (_, i) => [String(i), 0.05])) : {},
        VCPUs_CPU: {},
        VCPUs_params: {},
        VCPUs_flags: {},
        state: [],
        start_time: started,
        install_time: formatXapiDate((this.bootSeconds - 86_400 * 30) * 1000),
        last_updated: this.now(),
        other_config: {},
        hvm: !controlDomain,
        nested_virt: false,
        nomigrate: false,
        current_domain_type: controlDomain ? 'pv' : 'hvm',
      },
      metricsRef,
    );
    const record: XapiRecord = {
      uuid: this.uuid('VM', v.name),
      allowed_operations: live
        ? ['pool_migrate', 'migrate_send', 'clean_shutdown', 'clean_reboot', 'hard_shutdown', 'hard_reboot', 'suspend', 'pause', 'snapshot', 'checkpoint', 'changing_dynamic_range']
        : ['start', 'start_on', 'destroy', 'clone', 'copy', 'snapshot', 'export', 'changing_memory_limits', 'changing_static_range', 'changing_dynamic_range', 'changing_VCPUs'],
      current_operations: {},
      power_state: state,
      name_label: v.name,
      name_description: '',
      user_version: 1,
      is_a_template: false,
      is_default_template: false,
      suspend_VDI: NULL_REF,
      resident_on: hostRef,
      scheduled_to_be_resident_on: NULL_REF,
      affinity: v.affinity === undefined ? NULL_REF : this.hostRef(v.affinity),
      memory_overhead: controlDomain ? 0 : vmMemoryOverhead(memory),
      memory_target: live ? memory : 0,
      memory_static_max: memory,
      memory_dynamic_max: memory,
      memory_dynamic_min: memory,
      memory_static_min: controlDomain ? memory : Math.min(memory, 512 * MiB),
      VCPUs_params: {},
      VCPUs_max: vcpus,
      VCPUs_at_startup: vcpus,
      actions_after_shutdown: 'destroy',
      actions_after_reboot: 'restart',
      actions_after_crash: 'restart',
      PV_bootloader: '',
      PV_kernel: '',
      PV_ramdisk: '',
      PV_args: '',
      PV_bootloader_args: '',
      PV_legacy_args: '',
      HVM_boot_policy: controlDomain ? '' : 'BIOS order',
      HVM_boot_params: controlDomain ? {} : { order: 'cd' },
      HVM_shadow_multiplier: 1,
      platform: controlDomain ? {} : { viridian: 'true', acpi: '1', apic: 'true', pae: 'true', nx: 'true' },
      PCI_bus: '',
      other_config: controlDomain ? { storage_driver_domain: ref, is_system_domain: 'true' } : { ...(v.otherConfig ?? {}) },
      domid,
      domarch: live ? 'x64' : '',
      last_boot_CPU_flags: live ? { vendor: 'GenuineIntel', features: '1fbee3ff-bfebfbff-00000001-2c100800' } : {},
      is_control_domain: controlDomain,
      metrics: metricsRef,
      guest_metrics: NULL_REF,
      last_booted_record: '',
      recommendations: '',
      xenstore_data: {},
      // xapi_vm.ml set_ha_restart_priority (and VM.start): a running VM's ha_always_run follows "restart".
      ha_always_run: !controlDomain && live && v.haRestartPriority === 'restart',
      ha_restart_priority: v.haRestartPriority ?? '',
      is_a_snapshot: false,
      snapshot_of: NULL_REF,
      snapshot_time: XAPI_EPOCH_DATE,
      transportable_snapshot_id: '',
      blobs: {},
      tags: v.tags ?? [],
      blocked_operations: {},
      snapshot_info: {},
      snapshot_metadata: '',
      parent: NULL_REF,
      bios_strings: {},
      protection_policy: NULL_REF,
      is_snapshot_from_vmpp: false,
      snapshot_schedule: NULL_REF,
      is_vmss_snapshot: false,
      appliance: NULL_REF,
      start_delay: 0,
      shutdown_delay: 0,
      order: 0,
      attached_PCIs: [],
      suspend_SR: NULL_REF,
      version: 0,
      generation_id: '',
      hardware_platform_version: 0,
      has_vendor_device: false,
      requires_reboot: false,
      reference_label: '',
    };
    this.db.create('VM', record, ref);
    (v.disks ?? []).forEach((disk, i) => this.createDisk(v, ref, live, disk, i));
  }

  private takeDomid(hostRef: string, controlDomain: boolean): number {
    if (controlDomain) return 0;
    const next = this.nextDomid.get(hostRef) ?? 1;
    this.nextDomid.set(hostRef, next + 1);
    return next;
  }

  private createDisk(v: VmDescription, vmRef: string, attached: boolean, disk: { sr: string; sizeGiB: number; name?: string }, index: number): void {
    const srRef = this.srRefs.get(disk.sr)!;
    const size = Math.round(disk.sizeGiB * GiB);
    const vdiUuid = this.uuid('VDI', v.name, String(index));
    const vdiRef = this.db.create(
      'VDI',
      {
        uuid: vdiUuid,
        name_label: disk.name ?? `${v.name} ${index}`,
        name_description: 'Created by template provisioner',
        allowed_operations: ['forget', 'generate_config', 'update', 'resize', 'destroy', 'clone', 'copy', 'snapshot'],
        current_operations: {},
        SR: srRef,
        virtual_size: size,
        physical_utilisation: size,
        type: 'user',
        sharable: false,
        read_only: false,
        other_config: {},
        storage_lock: false,
        location: vdiUuid,
        managed: true,
        missing: false,
        parent: NULL_REF,
        xenstore_data: {},
        sm_config: { vdi_type: 'vhd' },
        is_a_snapshot: false,
        snapshot_of: NULL_REF,
        snapshot_time: XAPI_EPOCH_DATE,
        tags: [],
        allow_caching: false,
        on_boot: 'persist',
        metadata_of_pool: NULL_REF,
        metadata_latest: false,
        is_tools_iso: false,
        cbt_enabled: false,
      },
      this.ref('VDI', v.name, String(index)),
    );
    this.db.create(
      'VBD',
      {
        uuid: this.uuid('VBD', v.name, String(index)),
        allowed_operations: attached ? ['attach', 'unplug', 'unplug_force'] : ['attach'],
        current_operations: {},
        VM: vmRef,
        VDI: vdiRef,
        device: attached ? `xvd${String.fromCharCode(97 + index)}` : '',
        userdevice: String(index),
        bootable: index === 0,
        mode: 'RW',
        type: 'Disk',
        unpluggable: false,
        storage_lock: false,
        empty: false,
        other_config: { owner: '' },
        currently_attached: attached,
        status_code: 0,
        status_detail: '',
        runtime_properties: {},
        qos_algorithm_type: '',
        qos_algorithm_params: {},
        qos_supported_algorithms: [],
        metrics: NULL_REF,
        reserved: false,
      },
      this.ref('VBD', v.name, String(index)),
    );
    const sr = this.db.getRecord('SR', srRef);
    this.db.update('SR', srRef, {
      virtual_allocation: (sr['virtual_allocation'] as number) + size,
      physical_utilisation: (sr['physical_utilisation'] as number) + size,
    });
  }

  /** Free memory is what the host has left after its own overhead and every resident domain. */
  private finishHostMetrics(): void {
    for (const hostRef of this.hostRefs.values()) {
      const host = this.db.getRecord('host', hostRef);
      const metricsRef = host['metrics'] as string;
      const total = this.db.getRecord('host_metrics', metricsRef)['memory_total'] as number;
      const used = (host['resident_VMs'] as string[])
        .map((vm) => this.db.getRecord('VM', vm))
        .reduce((sum, vm) => sum + (vm['memory_target'] as number) + (vm['memory_overhead'] as number), 0);
      this.db.update('host_metrics', metricsRef, { memory_free: Math.max(0, total - (host['memory_overhead'] as number) - used) });
    }
  }
}

function isShared(s: SrDescription): boolean {
  return s.shared ?? s.host === undefined;
}

/** XenServer 7's default dom0 size: 1 GiB plus 5% of host RAM, capped at 8 GiB, whole MiB. */
function defaultDom0MiB(hostMemory: number): number {
  return Math.min(8192, Math.round(1024 + (hostMemory / MiB) * 0.05));
}

function hostMemoryOverhead(total: number): number {
  return Math.ceil((64 * MiB + total * 0.005) / MiB) * MiB;
}

/** Roughly what XAPI computes for an HVM guest: shadow and page tables grow with its memory. */
function vmMemoryOverhead(memory: number): number {
  return Math.ceil(8 + (memory / GiB) * 3) * MiB;
}

function defaultDeviceConfig(type: string, srName: string, hostName: string): Record<string, string> {
  switch (type) {
    case 'lvmoiscsi':
      return {
        target: '192.168.50.10',
        targetIQN: `iqn.2017-01.com.example:${srName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        SCSIid: `36001405${createHash('sha1').update(srName).digest('hex').slice(0, 25)}`,
        port: '3260',
      };
    case 'nfs':
      return { server: '192.168.50.20', serverpath: `/export/${srName}` };
    default:
      return { device: `/dev/disk/by-id/scsi-local-${hostName}-part3` };
  }
}
