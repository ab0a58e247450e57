import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FloatingIpSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import type { PeerWatchSpec } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { StorageRole, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { TargetSpec } from '@xsctl/proto/gen/xsctl/agent/v1/target';

/**
 * The agent tests' storage role: DRBD resource iscsi1 (minor 1, /dev/drbd1) exported by tgtd as
 * tid 1, LUN 10, to every initiator, without CHAP, on the floating IP 10.10.10.3/24 on xapi1, no
 * gratuitous ARPs. A test changes what it is about: `target`, `floatingIp` merge into the base.
 */
export function storageSpec(change: { target?: Partial<TargetSpec>; floatingIp?: Partial<FloatingIpSpec> } & Partial<Omit<StorageSpec, 'target' | 'floatingIp'>> = {}): StorageSpec {
  const { target, floatingIp, ...rest } = change;
  return {
    drbdResources: ['iscsi1'],
    target: {
      tid: 1,
      iqn: 'iqn.2013-05.com.example:x',
      luns: [{ lun: 10, backingStore: '/dev/drbd1', scsiId: 'X1', scsiSn: 'S1', vendorId: 'XSCTL', productId: 'P', bsType: '' }],
      initiatorAddresses: ['ALL'],
      initiatorNames: [],
      incomingUser: undefined,
      ...target,
    },
    floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1', garpCount: 0, ...floatingIp },
    tgtd: undefined,
    peerSafety: undefined,
    stopGraceMs: 0,
    ...rest,
  };
}

/**
 * /proc/drbd in DRBD 8.4's format with minor 1 alone, written by hand after
 * agent/src/drbd/__fixtures__/proc-drbd-84.txt (a real capture): `ro` and `ds` as the kernel
 * prints them, this node's first (`Primary/Secondary`, `UpToDate/Inconsistent`).
 */
export function procDrbd84(state: { ro: string; ds: string; cs?: string }): string {
  return [
    'version: 8.4.11-1 (api:1/proto:86-101)',
    'GIT-hash: 66145a308421e9c124ec391a7848ac20203bb03c build by mockbuild@, 2018-04-26 12:10:42',
    ` 1: cs:${state.cs ?? 'Connected'} ro:${state.ro} ds:${state.ds} C r-----`,
    '    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0',
    '',
  ].join('\n');
}

/** A fresh host root (a temp dir) whose /proc/drbd says `procDrbd`; the test removes it. */
export async function drbdHostRoot(prefix: string, procDrbd: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(root, 'proc'), { recursive: true });
  await writeFile(join(root, 'proc/drbd'), procDrbd);
  return root;
}

/**
 * The peer watch's spec in the agent's tests: the storage role above with `change.storage`, the peer
 * on the replication network 10.10.10.11 over eth1, no management address (as the controller sends
 * today), checks every 50 ms, no self-fence bound unless the test sets one.
 */
export function peerWatchSpec(change: Partial<Omit<PeerWatchSpec, 'storage'>> & { floatingIp?: Partial<FloatingIpSpec> } = {}): PeerWatchSpec {
  const { floatingIp, ...rest } = change;
  return {
    storage: storageSpec({ floatingIp: { interface: 'eth1', ...floatingIp } }),
    peerManagementAddress: '',
    managementInterface: '',
    peerReplicationAddress: '10.10.10.11',
    replicationInterface: 'eth1',
    selfFenceAfterMs: 0,
    selfFenceTeardownMs: 0,
    probeIntervalMs: 50,
    witnessRole: StorageRole.STORAGE_ROLE_UNSPECIFIED,
    ...rest,
  };
}

/**
 * `ip addr show dev IFACE` as CentOS 7's iproute prints it (after
 * agent/src/network/__fixtures__/ip-addr-centos7.txt, a real capture: `qlen` on the link line, no
 * `group default`), interface index 2, with `addresses` (CIDR) as its IPv4 addresses.
 */
export function ipAddrShowDev(iface: string, addresses: readonly string[]): string {
  return [
    `2: ${iface}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP qlen 1000`,
    '    link/ether 52:54:00:aa:bb:cc brd ff:ff:ff:ff:ff:ff',
    ...addresses.flatMap((a) => [`    inet ${a} scope global ${iface}`, '       valid_lft forever preferred_lft forever']),
    '',
  ].join('\n');
}
