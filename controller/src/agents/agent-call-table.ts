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
};
