import { ScsiServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/scsi';
import type { HostScsiAluaReport, PoolScsiServiceImplementation } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import type { ControllerContext } from '../../server/controller-context.js';
import { hostError, hostName, resolveTargets } from '../multipath/host-targets.js';

/** The ALUA verdicts of one host or every host of a pool, read through the agents. */
export function poolScsiService(ctx: ControllerContext): PoolScsiServiceImplementation {
  return {
    async getAluaReport(request, { signal }) {
      const hosts: HostScsiAluaReport[] = [];
      for (const h of await resolveTargets(ctx, request.target, signal)) {
        try {
          hosts.push({ host: hostName(h), result: await h.agent.client(ScsiServiceDefinition).getAluaReport({ device: request.device }, { signal }), error: undefined });
        } catch (err) {
          hosts.push({ host: hostName(h), result: undefined, error: hostError(err) });
        }
      }
      return { hosts };
    },

    async inspect(request, { signal }) {
      const [h] = await resolveTargets(ctx, request.target, signal);
      if (h === undefined) return { host: '', result: undefined };
      return { host: hostName(h), result: await h.agent.client(ScsiServiceDefinition).inspect({ device: request.device }, { signal }) };
    },
  };
}
