import type { Stanza } from './merge-stanza.js';

/**
 * Array profiles as typed data: the stanza each vendor tells admins to paste into
 * /etc/multipath.conf, kept as shipped (translation for a host's multipath-tools is separate).
 */
export interface MultipathProfileDef {
  name: string;
  title: string;
  /** Where the stanza comes from. */
  source: string;
  /** How the array reports which paths are optimized. */
  pathStates: 'alua' | 'rdac' | 'emc' | 'none';
  /** multipath-tools versions the shipped stanza is written for (inclusive; null = open). */
  suits: { min: string; max: string | null };
  shipped: Stanza;
  /** Things an admin should know that the translation cannot fix. */
  remarks: readonly string[];
  /**
   * Whether every value of `shipped` was checked against a document or a real tool output. A
   * verified profile's test compares its stanza with that source key by key; an unverified one
   * says why, and `xsctl multipath profiles` and apply say so too.
   */
  verification: { verified: boolean; note: string };
}


/** XenServer 6.5's stock MD36xx entry; the ALUA variant adds to it rather than repeating it. */
const md36xxStock: Stanza = [
      ['vendor', 'DELL'],
      ['product', 'MD36xx(i|f)'],
      ['features', '2 pg_init_retries 50'],
      ['hardware_handler', '1 rdac'],
      ['path_selector', 'round-robin 0'],
      ['path_grouping_policy', 'group_by_prio'],
      ['failback', 'immediate'],
      ['rr_min_io', '100'],
      ['path_checker', 'rdac'],
      ['prio', 'rdac'],
      ['no_path_retry', '30'],
];

export const multipathProfiles: readonly MultipathProfileDef[] = [
  {
    name: 'euronas-essm',
    title: 'euroNAS SAN Cluster (eSSM*), ALUA',
    source:
      'euroNAS FAQ "How to configure Citrix Xen for euroNAS SAN Cluster" (seeds/euronas-xen-multipath.txt); the FAQ stanza has no product and lacks its closing brace',
    pathStates: 'alua',
    suits: { min: '0.4.7', max: '0.4.9' },
    shipped: [
      ['vendor', 'eSSM*'],
      ['getuid_callout', '/sbin/scsi_id -g -u -s /block/%n'],
      ['features', '1 queue_if_no_path'],
      ['hardware_handler', '1 alua'],
      ['path_grouping_policy', 'group_by_prio'],
      ['failback', 'immediate'],
      ['rr_weight', 'uniform'],
      ['rr_min_io', '100'],
      ['path_checker', 'tur'],
      ['no_path_retry', 'queue'],
      ['prio', 'alua'],
    ],
    remarks: ['euroNAS warns of data loss when multipath is not configured before the SAN cluster is used: apply on every host before creating the SR.'],
    verification: { verified: true, note: 'every key and value as printed in the seed FAQ (checked by profiles.test.ts)' },
  },
  {
    name: 'starwind',
    title: 'StarWind Virtual SAN (HA devices over iSCSI)',
    source:
      'StarWind "Providing HA storage repositories for XenServer Pool" step 46 (seeds/starwind-vsan-xenserver-ha-storage.txt; the block itself is an image there, values from StarWind\'s published XenServer stanza)',
    pathStates: 'alua',
    suits: { min: '0.4.7', max: null },
    shipped: [
      ['vendor', 'STARWIND'],
      ['product', 'STARWIND*'],
      ['path_grouping_policy', 'multibus'],
      ['path_checker', 'tur'],
      ['failback', 'immediate'],
      ['path_selector', 'round-robin 0'],
      ['rr_min_io', '3'],
      ['rr_weight', 'uniform'],
      ['hardware_handler', '1 alua'],
    ],
    remarks: ['multibus uses every path round robin: ALUA states are ignored for path grouping by design (both StarWind nodes serve I/O).'],
    verification: {
      verified: false,
      note: 'UNVERIFIED: the StarWind guide shows its step 46 block only as a screenshot (the seed text has no values), and no stored StarWind document gives them; check every value with StarWind before use',
    },
  },
  {
    name: 'hp-p4000',
    title: 'HP LeftHand P4000 (SAN/iQ 9.x, active/active, no ALUA)',
    source: 'no vendor document found (seeds/hp-p4000-xenserver-best-practices.txt has no multipath settings); a generic active/active stanza for RHEL 5 based dom0s (XenServer 5.6-6.x)',
    pathStates: 'none',
    suits: { min: '0.4.7', max: '0.4.9' },
    shipped: [
      ['vendor', 'LEFTHAND'],
      ['product', 'iSCSIDisk'],
      ['getuid_callout', '/sbin/scsi_id -g -u -s /block/%n'],
      ['path_grouping_policy', 'multibus'],
      ['path_checker', 'tur'],
      ['path_selector', 'round-robin 0'],
      ['failback', 'immediate'],
      ['rr_weight', 'uniform'],
      ['rr_min_io', '100'],
      ['no_path_retry', 'queue'],
    ],
    remarks: ['LeftHand OS 12 and later report ALUA: use hp-p4000-alua there.'],
    verification: {
      verified: false,
      note: 'UNVERIFIED: the HP P4000 best-practice paper (seed) covers bonding, volumes and NTP but gives no multipath settings, and no stored HP or LeftHand document gives these values',
    },
  },
  {
    name: 'hp-p4000-alua',
    title: 'HP LeftHand P4000 / StoreVirtual (LeftHand OS 12+, ALUA)',
    source: 'multipath-tools built-in hardware table entry for LEFTHAND (as printed by `multipath -t`, multipath-tools 0.9.4)',
    pathStates: 'alua',
    suits: { min: '0.4.9', max: null },
    shipped: [
      ['vendor', 'LEFTHAND'],
      ['product', '(P4000|iSCSIDisk|FCDISK)'],
      ['path_grouping_policy', 'group_by_prio'],
      ['prio', 'alua'],
      ['failback', 'immediate'],
      ['no_path_retry', '18'],
    ],
    remarks: [],
    verification: { verified: true, note: 'the LEFTHAND entry of the multipath-tools 0.9.4 hardware table, as `multipath -t` prints it (checked by profiles.test.ts against the real tool)' },
  },
  {
    name: 'dell-md36xx-rdac',
    title: 'DELL PowerVault MD36xx (RDAC handler, XenServer 6.5 stock entry)',
    source: 'XenServer 6.5 stock MD36xx entry quoted in seeds/xenserver-upgrades-alua-blog.txt ("XenServer 6.5 and ALUA for iSCSI Devices")',
    pathStates: 'rdac',
    suits: { min: '0.4.9', max: null },
    shipped: [
      ...md36xxStock,
    ],
    remarks: [
      'The MD36xx reports TPGS=0 in INQUIRY even when it runs ALUA (IOSHIP): check `xsctl scsi alua`, which reads VPD 0xc9 and the rdac kernel lines instead.',
    ],
    verification: { verified: true, note: 'the XenServer 6.5 stock entry as quoted in the seed blog (checked by profiles.test.ts)' },
  },
  {
    name: 'dell-md36xx-alua',
    title: 'DELL PowerVault MD36xx, ALUA (IOSHIP) capable firmware',
    source: 'The generic ALUA-capable RDAC entry from seeds/xenserver-upgrades-alua-blog.txt (stock entry plus detect_prio and retain_attached_hw_handler)',
    pathStates: 'rdac',
    suits: { min: '0.4.9', max: null },
    shipped: [
      ...md36xxStock,
      ['detect_prio', 'yes'],
      ['retain_attached_hw_handler', 'yes'],
    ],
    remarks: ['Needs RAID controller firmware/NVSRAM N26X0-784890-904 or later for IOSHIP (ALUA).'],
    verification: { verified: true, note: 'the ALUA-capable entry as quoted in the seed blog (checked by profiles.test.ts)' },
  },
  {
    name: 'emc-dgc',
    title: 'EMC CLARiiON / VNX (DGC), ALUA failover mode',
    source: 'Citrix CTX132976 entry quoted in seeds/xenserver-upgrades-alua-blog.txt',
    pathStates: 'alua',
    suits: { min: '0.4.7', max: '0.4.7' },
    shipped: [
      ['vendor', 'DGC'],
      ['product', '*'],
      ['path_grouping_policy', 'group_by_prio'],
      ['getuid_callout', '/sbin/scsi_id -g -u -s /block/%n'],
      ['prio_callout', '/sbin/mpath_prio_emc /dev/%n'],
      ['hardware_handler', '1 alua'],
      ['no_path_retry', '300'],
      ['path_checker', 'emc_clariion'],
      ['failback', 'immediate'],
    ],
    remarks: [
      'The entry pairs hardware_handler "1 alua" with the EMC priority program; arrays in ALUA failover mode (4) get their priorities from `prio alua` in the multipath-tools hardware table.',
    ],
    verification: { verified: true, note: 'CTX132976 as quoted in the seed blog (checked by profiles.test.ts)' },
  },
  {
    name: 'netapp',
    title: 'NetApp FAS / ONTAP LUNs, ALUA',
    source:
      'NetApp Host Utilities "Sample Configuration for Citrix XenServer" (XenServer 6.0 with ALUA), https://library.netapp.com/ecmdocs/ECMP1654943/html/GUID-8C6D750A-210F-406E-85FE-A9C5C77E1FAA.html',
    pathStates: 'alua',
    suits: { min: '0.4.7', max: '0.4.7' },
    shipped: [
      ['vendor', 'NETAPP'],
      ['product', 'LUN'],
      ['getuid_callout', '/sbin/scsi_id -g -u -s /block/%n'],
      ['prio_callout', '/sbin/mpath_prio_alua /dev/%n'],
      ['features', '1 queue_if_no_path'],
      ['hardware_handler', '1 alua'],
      ['path_grouping_policy', 'group_by_prio'],
      ['failback', 'immediate'],
      ['rr_weight', 'uniform'],
      ['rr_min_io', '128'],
      ['path_checker', 'tur'],
    ],
    remarks: [
      'NetApp recommends user_friendly_names no (defaults section), which XenServer already sets.',
      'For Citrix XenServer 7 and Citrix Hypervisor 8 NetApp says the built-in settings manage ONTAP LUNs and no device entry is needed (https://docs.netapp.com/us-en/ontap-sanhost/hu_citrix_8x.html).',
    ],
    verification: {
      verified: false,
      note: "UNVERIFIED: NetApp's XenServer 6.0 sample is the source named, but the stored copy of that page ends before its device section, so no value here was checked against it",
    },
  },
];

export function findProfile(name: string, profiles: readonly MultipathProfileDef[] = multipathProfiles): MultipathProfileDef | undefined {
  return profiles.find((p) => p.name === name);
}
