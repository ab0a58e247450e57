import { xapiTransportOf } from '../../config/inventory.js';
import { PrecheckServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { PoolPrecheckServiceImplementation } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { ValidationError } from '@xsctl/common/errors/index';
import { backupDir, takeMetadataBackup } from '../../prechecks/metadata-backup.js';
import type { ControllerContext } from '../../server/controller-context.js';
import { runPoolPrechecks } from './run-pool-prechecks.js';

const optionalPool = (pool: string): string | undefined => (pool === '' ? undefined : pool);

export function poolPrecheckService(ctx: ControllerContext): PoolPrecheckServiceImplementation {
  const agentFor = async (host: string, pool: string, signal: AbortSignal) => {
    const resolved = await ctx.resolveHost(host, optionalPool(pool), signal);
    return { name: resolved.nameLabel, client: resolved.agent.client(PrecheckServiceDefinition) };
  };

  return {
    async run(request, { signal }) {
      if (request.pool === '') throw new ValidationError('pool', 'name the pool to check');
      // Host name labels, only compared with XAPI's: any text, but not empty or unbounded.
      const accept = request.acceptLocalSrLoss.map((h, i) => {
        if (h === '' || h.length > 255) throw new ValidationError(`acceptLocalSrLoss[${i}]`, 'a host name label of 1-255 characters');
        return h;
      });
      return runPoolPrechecks(ctx, request.pool, { maxBackupAgeHours: request.metadataBackupMaxAgeHours || 24, acceptLocalSrLoss: accept }, signal);
    },

    async scanBlobs(request, { signal }) {
      const { name, client } = await agentFor(request.host, request.pool, signal);
      const res = await client.scanBlobs({}, { signal });
      return { host: name, scan: res.scan };
    },

    async cleanBlobs(request, { signal }) {
      const { name, client } = await agentFor(request.host, request.pool, signal);
      ctx.logger.info({ host: name, olderThanDays: request.olderThanDays, confirm: request.confirm }, 'blob cleanup');
      return { host: name, result: await client.cleanBlobs({ olderThanDays: request.olderThanDays, confirm: request.confirm }, { signal }) };
    },

    async restoreBlobs(request, { signal }) {
      const { name, client } = await agentFor(request.host, request.pool, signal);
      ctx.logger.info({ host: name, quarantine: request.quarantineId, confirm: request.confirm }, 'blob restore');
      return { host: name, result: await client.restoreBlobs({ quarantineId: request.quarantineId, confirm: request.confirm }, { signal }) };
    },

    async takeMetadataBackup(request, { signal }) {
      const pool = ctx.pool(request.pool);
      // A read-only session finds the master (following HOST_IS_SLAVE); the dump is read from there.
      const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
      const url = xapi.url;
      await xapi.close();
      const taken = await takeMetadataBackup(
        { url, user: pool.xapi.user, password: pool.xapi.password, ...xapiTransportOf(pool), signal, ...(ctx.config.metadataBackup === undefined ? {} : { maxBytes: ctx.config.metadataBackup.maxBytes }) },
        pool.name,
        backupDir(ctx.config.journal, pool.name),
      );
      ctx.logger.info({ pool: pool.name, file: taken.file, bytes: taken.bytes }, 'pool metadata backup taken');
      return { file: taken.file, bytes: taken.bytes, takenAt: taken.takenAt.toISOString(), sha256: taken.sha256 };
    },
  };
}
