import { drbdConfPath, lvmConfPath } from '../drbd/drbd-conf-paths.js';
import { storageRoleConfigPath } from '../storage/storage-role-config-path.js';
import { targetsConfPath } from '../target/targets-conf-path.js';

/**
 * What each agent RPC locks before it runs (see ResourceLocks). Every method of every agent
 * service is listed (a test enumerates the generated definitions): a method that only reads
 * locks nothing; one that changes the host names the resources it touches, so two calls on the
 * same resource run one after the other and a rollback can only ever undo its own call's change;
 * `self` methods lock inside (the storage role takes the keys of its spec, and the boot-time and
 * peer-watch assertions take the same ones).
 */
export type MethodLock = 'read-only' | 'self' | ((request: unknown) => string[]);

const field = (request: unknown, ...path: string[]): unknown => {
  let cur: unknown = request;
  for (const p of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
};
const drbd = (request: unknown) => [`drbd:${String(field(request, 'resource') ?? '')}`];
const tgtd = (request: unknown) => [`tgtd:${Number(field(request, 'instance', 'controlPort') ?? 0)}`];
const floatingIp = (request: unknown) => [`ip:${String(field(request, 'ip', 'address') ?? '')}`];

const a = (service: string, method: string) => `/xsctl.agent.v1.${service}/${method}`;

export const methodLocks: Readonly<Record<string, MethodLock>> = {
  [a('HostService', 'GetFacts')]: 'read-only',

  [a('MultipathService', 'ListProfiles')]: 'read-only',
  [a('MultipathService', 'Get')]: 'read-only',
  [a('MultipathService', 'ListMaps')]: 'read-only',
  // Apply's multipath -t, write, multipath -t, rollback must not interleave with another Apply.
  [a('MultipathService', 'Apply')]: () => ['multipath'],
  [a('MultipathService', 'EnableDaemon')]: () => ['multipath'],
  [a('MultipathService', 'ApplyDrbdBlacklist')]: () => ['multipath'],

  [a('ScsiService', 'Inspect')]: 'read-only',
  [a('ScsiService', 'GetAluaReport')]: 'read-only',

  [a('PrecheckService', 'Run')]: 'read-only',
  [a('PrecheckService', 'ScanBlobs')]: 'read-only',
  [a('PrecheckService', 'CleanBlobs')]: () => ['blobs'],
  [a('PrecheckService', 'RestoreBlobs')]: () => ['blobs'],

  [a('DrbdService', 'GetDrbdVersion')]: 'read-only',
  [a('DrbdService', 'RenderDrbdConfig')]: 'read-only',
  [a('DrbdService', 'GetDrbdStatus')]: 'read-only',
  [a('DrbdService', 'RenderDrbdMultipathBlacklist')]: 'read-only',
  [a('DrbdService', 'WriteDrbdConfig')]: () => [`file:${drbdConfPath}`],
  [a('DrbdService', 'ConfigureLvmForDrbd')]: () => [`file:${lvmConfPath}`],
  [a('DrbdService', 'AttachDrbd')]: drbd,
  [a('DrbdService', 'UpDrbd')]: drbd,
  [a('DrbdService', 'ConnectDrbd')]: drbd,
  [a('DrbdService', 'DisconnectDrbd')]: drbd,
  [a('DrbdService', 'PromoteDrbd')]: drbd,
  [a('DrbdService', 'DemoteDrbd')]: drbd,
  [a('DrbdService', 'CreateDrbdMetadata')]: drbd,
  [a('DrbdService', 'StartDrbdInitialSync')]: drbd,
  [a('DrbdService', 'ResolveDrbdSplitBrain')]: drbd,

  [a('TargetService', 'RenderTargetsConf')]: 'read-only',
  [a('TargetService', 'ShowTargets')]: 'read-only',
  [a('TargetService', 'WriteTargetsConf')]: () => [`file:${targetsConfPath}`],
  [a('TargetService', 'ApplyTarget')]: tgtd,
  [a('TargetService', 'OfflineTarget')]: tgtd,
  [a('TargetService', 'DeleteTarget')]: tgtd,
  [a('TargetService', 'StartTgtd')]: tgtd,
  [a('TargetService', 'StopTgtd')]: tgtd,

  [a('FloatingIpService', 'GetFloatingIp')]: 'read-only',
  [a('FloatingIpService', 'RenderStorageFirewall')]: 'read-only',
  [a('FloatingIpService', 'AddFloatingIp')]: floatingIp,
  [a('FloatingIpService', 'RemoveFloatingIp')]: floatingIp,
  [a('FloatingIpService', 'AnnounceFloatingIp')]: floatingIp,
  [a('FloatingIpService', 'ApplyStorageFirewall')]: () => ['firewall'],

  [a('StorageService', 'GetStorageStatus')]: 'read-only',
  [a('StorageService', 'AssertStorageRole')]: 'self',
  [a('StorageService', 'WriteStorageRoleConfig')]: () => [`file:${storageRoleConfigPath}`],

  [a('PeerViewService', 'GetPeerView')]: 'read-only',

  // Compare-with-the-held-list then write: two pushes must not interleave (an older list could win).
  [a('TrustService', 'PutRevocationList')]: () => ['revocation-list'],

  ['/grpc.health.v1.Health/Check']: 'read-only',
  ['/grpc.health.v1.Health/Watch']: 'read-only',
};

/** The keys a call takes: a method nobody classified is serialised with everything unclassified. */
export function lockKeysFor(path: string, request: unknown): string[] | null {
  const lock = methodLocks[path];
  if (lock === 'read-only' || lock === 'self') return null;
  if (lock === undefined) return ['unclassified'];
  return lock(request);
}
