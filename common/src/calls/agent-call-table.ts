import type { MethodAccess } from '../grpc/auth-middleware.js';

/**
 * Deadline and idempotency per agent method: the contract between the controller (client
 * deadlines, retries) and the agent (server ceilings, default-deny authorisation). Reads are
 * idempotent and retried on UNAVAILABLE; anything with a side effect is not retried here: the
 * workflow re-checks state instead. A method missing here is refused by the agent.
 */
export interface AgentCallEntry {
  deadlineMs: number;
  idempotent: boolean;
}

export const defaultAgentDeadlineMs = 15_000;

export const agentCallTable: Readonly<Record<string, AgentCallEntry>> = {
  '/xsctl.agent.v1.HostService/GetFacts': { deadlineMs: 5_000, idempotent: true },
  '/grpc.health.v1.Health/Check': { deadlineMs: 3_000, idempotent: true },
  // A stream that lasts until the agent stops; nothing in xsctl watches it, monitoring may.
  '/grpc.health.v1.Health/Watch': { deadlineMs: 600_000, idempotent: true },
  // Host prechecks read a whole blobs tree (tens of thousands of files) and the boot disk.
  '/xsctl.agent.v1.PrecheckService/Run': { deadlineMs: 120_000, idempotent: true },
  '/xsctl.agent.v1.PrecheckService/ScanBlobs': { deadlineMs: 120_000, idempotent: true },
  '/xsctl.agent.v1.PrecheckService/CleanBlobs': { deadlineMs: 300_000, idempotent: false },
  '/xsctl.agent.v1.PrecheckService/RestoreBlobs': { deadlineMs: 300_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/GetDrbdVersion': { deadlineMs: 15_000, idempotent: true },
  '/xsctl.agent.v1.DrbdService/RenderDrbdConfig': { deadlineMs: 15_000, idempotent: true },
  '/xsctl.agent.v1.DrbdService/WriteDrbdConfig': { deadlineMs: 30_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/GetDrbdStatus': { deadlineMs: 20_000, idempotent: true },
  '/xsctl.agent.v1.DrbdService/AttachDrbd': { deadlineMs: 90_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/ConnectDrbd': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/UpDrbd': { deadlineMs: 120_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/DisconnectDrbd': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/PromoteDrbd': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/DemoteDrbd': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/CreateDrbdMetadata': { deadlineMs: 330_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/StartDrbdInitialSync': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/ResolveDrbdSplitBrain': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/ConfigureLvmForDrbd': { deadlineMs: 30_000, idempotent: false },
  '/xsctl.agent.v1.DrbdService/RenderDrbdMultipathBlacklist': { deadlineMs: 5_000, idempotent: true },
  '/xsctl.agent.v1.TargetService/RenderTargetsConf': { deadlineMs: 5_000, idempotent: true },
  '/xsctl.agent.v1.TargetService/WriteTargetsConf': { deadlineMs: 30_000, idempotent: false },
  '/xsctl.agent.v1.TargetService/ShowTargets': { deadlineMs: 20_000, idempotent: true },
  '/xsctl.agent.v1.TargetService/ApplyTarget': { deadlineMs: 90_000, idempotent: false },
  '/xsctl.agent.v1.TargetService/OfflineTarget': { deadlineMs: 30_000, idempotent: false },
  '/xsctl.agent.v1.TargetService/DeleteTarget': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.TargetService/StartTgtd': { deadlineMs: 45_000, idempotent: false },
  '/xsctl.agent.v1.TargetService/StopTgtd': { deadlineMs: 300_000, idempotent: false },
  '/xsctl.agent.v1.FloatingIpService/GetFloatingIp': { deadlineMs: 15_000, idempotent: true },
  '/xsctl.agent.v1.FloatingIpService/AddFloatingIp': { deadlineMs: 30_000, idempotent: false },
  '/xsctl.agent.v1.FloatingIpService/RemoveFloatingIp': { deadlineMs: 20_000, idempotent: false },
  '/xsctl.agent.v1.FloatingIpService/AnnounceFloatingIp': { deadlineMs: 30_000, idempotent: false },
  '/xsctl.agent.v1.FloatingIpService/RenderStorageFirewall': { deadlineMs: 5_000, idempotent: true },
  '/xsctl.agent.v1.FloatingIpService/ApplyStorageFirewall': { deadlineMs: 60_000, idempotent: false },
  '/xsctl.agent.v1.StorageService/GetStorageStatus': { deadlineMs: 45_000, idempotent: true },
  '/xsctl.agent.v1.StorageService/AssertStorageRole': { deadlineMs: 600_000, idempotent: false },
  '/xsctl.agent.v1.StorageService/WriteStorageRoleConfig': { deadlineMs: 30_000, idempotent: false },
  // The witness heartbeat: answered from the agent's background observation, so it is quick; a
  // slow answer is a lost heartbeat.
  '/xsctl.agent.v1.PeerViewService/GetPeerView': { deadlineMs: 1_500, idempotent: true },
  '/xsctl.agent.v1.MultipathService/ListProfiles': { deadlineMs: 15_000, idempotent: true },
  '/xsctl.agent.v1.MultipathService/Get': { deadlineMs: 20_000, idempotent: true },
  '/xsctl.agent.v1.MultipathService/Apply': { deadlineMs: 90_000, idempotent: false },
  '/xsctl.agent.v1.MultipathService/EnableDaemon': { deadlineMs: 90_000, idempotent: false },
  '/xsctl.agent.v1.MultipathService/ApplyDrbdBlacklist': { deadlineMs: 90_000, idempotent: false },
  '/xsctl.agent.v1.MultipathService/ListMaps': { deadlineMs: 45_000, idempotent: true },
  '/xsctl.agent.v1.ScsiService/Inspect': { deadlineMs: 60_000, idempotent: true },
  '/xsctl.agent.v1.ScsiService/GetAluaReport': { deadlineMs: 180_000, idempotent: true },
  // Installing the same list twice is a no-op, an older one is refused: safe to retry.
  '/xsctl.agent.v1.TrustService/PutRevocationList': { deadlineMs: 10_000, idempotent: true },
};

/**
 * How long the agent lets a method run when the client sent no deadline (or a longer one): the
 * controller's own deadline plus a margin, so the agent never cuts a call the controller still
 * waits for. grpc-js enforces a shorter client deadline by itself (grpc-timeout).
 */
export const agentServerMarginMs = 30_000;

export function agentServerCeilings(): Record<string, number> {
  return Object.fromEntries(Object.entries(agentCallTable).map(([path, e]) => [path, e.deadlineMs + agentServerMarginMs]));
}

/** The agent's authorisation table: reads change nothing, everything else is a write. */
export function agentMethodAccess(): Map<string, MethodAccess> {
  return new Map(Object.entries(agentCallTable).map(([path, e]) => [path, e.idempotent ? 'read' : 'write']));
}
