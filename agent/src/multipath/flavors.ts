/**
 * Which multipath-tools a host runs, and what its multipath.conf accepts. XenServer and XCP-ng pin
 * forks of old releases: 0.4.7 (CentOS 5 dom0, XenServer 5.6-6.2), the 0.4.9-72 backport of
 * XenServer 6.5, the CentOS 7 0.4.9 fork of XenServer 7.x and the 0.4.9 fork of XCP-ng / Citrix
 * Hypervisor 8.x, where only one device entry applies to a device and drop-ins go to conf.d.
 */
export type FlavorId = 'xs6-0.4.7' | 'xs65-0.4.9' | 'xs7-0.4.9' | 'xcpng8-0.4.9' | 'upstream';
export type Layout = 'main-file' | 'conf-d';

export interface MultipathFlavor {
  id: FlavorId;
  label: string;
  /** multipath-tools version, e.g. "0.4.9". */
  version: string;
  layout: Layout;
  init: 'systemd' | 'sysv';
  /** `getuid_callout` is read (and `scsi_id -s /block/%n` is the udev 095 syntax it needs). */
  getuidCallout: boolean;
  /** Priorities come from `prio_callout` programs (0.4.7) rather than the `prio` keyword. */
  prioCallout: boolean;
  /** `detect_prio` and `retain_attached_hw_handler` are known keywords. */
  detectPrio: boolean;
  /** `features "1 queue_if_no_path"` is deprecated in favour of `no_path_retry queue`. */
  queueFeatureDeprecated: boolean;
  /**
   * The kernel's dm-multipath is request-based (2.6.31+) and this multipath-tools has
   * `rr_min_io_rq`, the repeat count request-based maps take; `rr_min_io` only applies to
   * bio-based maps (RHEL 6 DM Multipath guide, multipath.conf.annotated). False for 0.4.7, whose
   * `rr_min_io` is the only repeat count it knows.
   */
  requestBasedMinIo: boolean;
  /** Arguments that make multipathd re-read its configuration. */
  reconfigureArgs: readonly string[];
}

/** Compares dotted versions numerically: "0.4.9" < "0.4.10" < "0.9.4". */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

const xsFlavors: Record<Exclude<FlavorId, 'upstream'>, MultipathFlavor> = {
  'xs6-0.4.7': {
    id: 'xs6-0.4.7',
    label: 'XenServer 5.6-6.2 (device-mapper-multipath 0.4.7, CentOS 5)',
    version: '0.4.7',
    layout: 'main-file',
    init: 'sysv',
    getuidCallout: true,
    prioCallout: true,
    detectPrio: false,
    queueFeatureDeprecated: false,
    requestBasedMinIo: false,
    reconfigureArgs: ['-kreconfigure'],
  },
  'xs65-0.4.9': {
    id: 'xs65-0.4.9',
    label: 'XenServer 6.5 (device-mapper-multipath 0.4.9-72 backport, CentOS 5)',
    version: '0.4.9',
    layout: 'main-file',
    init: 'sysv',
    getuidCallout: true,
    prioCallout: false,
    detectPrio: true,
    queueFeatureDeprecated: false,
    requestBasedMinIo: true,
    reconfigureArgs: ['-kreconfigure'],
  },
  'xs7-0.4.9': {
    id: 'xs7-0.4.9',
    label: 'XenServer 7.x (device-mapper-multipath 0.4.9, CentOS 7)',
    version: '0.4.9',
    layout: 'main-file',
    init: 'systemd',
    getuidCallout: false,
    prioCallout: false,
    detectPrio: true,
    queueFeatureDeprecated: false,
    requestBasedMinIo: true,
    reconfigureArgs: ['-kreconfigure'],
  },
  'xcpng8-0.4.9': {
    id: 'xcpng8-0.4.9',
    label: 'XCP-ng / Citrix Hypervisor 8.x (0.4.9 fork: one device entry per device, drop-ins in /etc/multipath/conf.d)',
    version: '0.4.9',
    layout: 'conf-d',
    init: 'systemd',
    getuidCallout: false,
    prioCallout: false,
    detectPrio: true,
    queueFeatureDeprecated: false,
    requestBasedMinIo: true,
    reconfigureArgs: ['-kreconfigure'],
  },
};

export function flavorById(id: FlavorId, version = '0.9.0'): MultipathFlavor {
  return id === 'upstream' ? upstreamFlavor(version) : xsFlavors[id];
}

export function upstreamFlavor(version: string): MultipathFlavor {
  const atLeast = (v: string) => compareVersions(version, v) >= 0;
  return {
    id: 'upstream',
    label: `multipath-tools ${version}`,
    version,
    layout: atLeast('0.5.0') ? 'conf-d' : 'main-file',
    init: 'systemd',
    getuidCallout: !atLeast('0.5.0'),
    prioCallout: !atLeast('0.4.8'),
    detectPrio: atLeast('0.5.0'),
    queueFeatureDeprecated: atLeast('0.7.0'),
    requestBasedMinIo: atLeast('0.5.0'),
    reconfigureArgs: atLeast('0.5.0') ? ['reconfigure'] : ['-kreconfigure'],
  };
}

/** The flavor from /etc/xensource-inventory; other Linux hosts use the version `multipath -h` printed. */
export function detectFlavor(inventory: Readonly<Record<string, string>>, detectedVersion: string | null): MultipathFlavor {
  const brand = inventory['PRODUCT_BRAND'] ?? '';
  const version = inventory['PRODUCT_VERSION'] ?? inventory['PLATFORM_VERSION'] ?? '';
  if (/^(XenServer|XCP-ng|XCP|Citrix Hypervisor|Citrix XenServer)$/i.test(brand) && version !== '') {
    if (compareVersions(version, '8.0.0') >= 0) return xsFlavors['xcpng8-0.4.9'];
    if (compareVersions(version, '7.0.0') >= 0) return xsFlavors['xs7-0.4.9'];
    if (compareVersions(version, '6.5.0') >= 0) return xsFlavors['xs65-0.4.9'];
    return xsFlavors['xs6-0.4.7'];
  }
  return upstreamFlavor(detectedVersion ?? '0.9.0');
}

/** "multipath-tools v0.4.9 (04/04, 2009)" from `multipath -h` (stdout or stderr, by version). */
export function parseMultipathVersion(output: string): string | null {
  return /multipath-tools v(\d+\.\d+\.\d+)/.exec(output)?.[1] ?? null;
}
