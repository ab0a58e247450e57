import { hostname as osHostname } from 'node:os';
import type { PrecheckServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { AgentContext } from '../server/agent-context.js';
import { backingDevicePath, integerInRange } from '../validate/validators.js';
import { scanBlobs } from './blobs/check-blobs.js';
import { cleanBlobs, quarantineId, restoreBlobs } from './blobs/quarantine.js';
import { readOptional, type PrecheckContext } from './precheck-context.js';
import { precheckIdList, runPrechecks } from './run-prechecks.js';

function precheckContext(ctx: AgentContext, signal: AbortSignal, bootDisk?: string): PrecheckContext {
  return {
    root: ctx.root,
    runner: ctx.runner,
    stateDir: ctx.stateDir,
    signal,
    now: () => new Date(),
    live: ctx.root.root === '/',
    // A boot disk named in a request is a host device, resolved under the root like every path.
    ...(bootDisk === undefined ? {} : { bootDiskOverride: ctx.root.resolve(bootDisk) }),
  };
}

export function precheckService(ctx: AgentContext): PrecheckServiceImplementation {
  return {
    async run(request, { signal }) {
      const checks = precheckIdList('checks', request.checks);
      const bootDisk = request.bootDisk === '' ? undefined : backingDevicePath('boot_disk', request.bootDisk);
      const findings = await runPrechecks(precheckContext(ctx, signal, bootDisk), checks);
      const name = (await readOptional(ctx.root.resolve('/etc/hostname'), signal))?.trim() || osHostname();
      return { hostname: name, root: ctx.root.root, findings };
    },

    async scanBlobs(_request, { signal }) {
      return { scan: await scanBlobs(precheckContext(ctx, signal)) };
    },

    async cleanBlobs(request, { signal }) {
      const olderThanDays = integerInRange('older_than_days', request.olderThanDays, 1, 3650);
      ctx.logger.info({ olderThanDays, confirm: request.confirm }, 'blob cleanup');
      return cleanBlobs({ root: ctx.root, stateDir: ctx.stateDir, olderThanDays, confirm: request.confirm, now: new Date(), signal });
    },

    async restoreBlobs(request, { signal }) {
      const id = quarantineId('quarantine_id', request.quarantineId);
      ctx.logger.info({ quarantine: id, confirm: request.confirm }, 'blob restore');
      return restoreBlobs({ root: ctx.root, stateDir: ctx.stateDir, id, confirm: request.confirm, signal });
    },
  };
}
