import { describe, expect, it } from 'vitest';
import { agentCallTable, agentMethodAccess, agentServerCeilings } from '@xsctl/common/calls/agent-call-table';
import { generatedServices } from '@xsctl/test/proto/generated-services';

describe('agent method table (authorisation and deadlines)', () => {
  it('lists every generated agent method, so none is refused by default deny or left without a deadline', async () => {
    const services = await generatedServices('agent');
    expect(services.length).toBeGreaterThanOrEqual(8);
    const access = agentMethodAccess();
    for (const m of services.flatMap((s) => s.methods)) {
      expect(agentCallTable[m.path], `${m.path} is missing from common/src/calls/agent-call-table.ts`).toBeDefined();
      expect(['read', 'write']).toContain(access.get(m.path));
    }
  });

  it("never cuts a call before the controller's own deadline for it", () => {
    const ceilings = agentServerCeilings();
    // AssertStorageRole: the controller waits up to 600 s, the old flat agent limit was 120 s.
    expect(ceilings['/xsctl.agent.v1.StorageService/AssertStorageRole']).toBeGreaterThanOrEqual(600_000);
    for (const [path, e] of Object.entries(agentCallTable)) expect(ceilings[path], path).toBeGreaterThan(e.deadlineMs);
  });
});
