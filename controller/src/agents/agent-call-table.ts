/**
 * Deadline and idempotency per agent method. Reads are idempotent and retried on UNAVAILABLE;
 * anything with a side effect is not retried here: the workflow re-checks state instead.
 */
export interface AgentCallEntry {
  deadlineMs: number;
  idempotent: boolean;
}

export const defaultAgentDeadlineMs = 15_000;

export const agentCallTable: Readonly<Record<string, AgentCallEntry>> = {
  '/xsctl.agent.v1.HostService/GetFacts': { deadlineMs: 5_000, idempotent: true },
  '/grpc.health.v1.Health/Check': { deadlineMs: 3_000, idempotent: true },
  '/xsctl.agent.v1.MultipathService/ListProfiles': { deadlineMs: 15_000, idempotent: true },
  '/xsctl.agent.v1.MultipathService/Get': { deadlineMs: 20_000, idempotent: true },
  '/xsctl.agent.v1.MultipathService/Apply': { deadlineMs: 90_000, idempotent: false },
  '/xsctl.agent.v1.MultipathService/EnableDaemon': { deadlineMs: 90_000, idempotent: false },
  '/xsctl.agent.v1.MultipathService/ListMaps': { deadlineMs: 45_000, idempotent: true },
  '/xsctl.agent.v1.ScsiService/Inspect': { deadlineMs: 60_000, idempotent: true },
  '/xsctl.agent.v1.ScsiService/GetAluaReport': { deadlineMs: 180_000, idempotent: true },
};
