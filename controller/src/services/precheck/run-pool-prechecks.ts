import { setMaxListeners } from 'node:events';
import pMap from 'p-map';
import { PrecheckServiceDefinition, PrecheckSeverity, type PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { PoolPrecheckHostReport, PoolPrecheckServiceRunResponse } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { XsctlError } from '@xsctl/common/errors/index';
import { agentEndpoint } from '../../agents/agent-endpoint.js';
import { backupDir, latestMetadataBackup } from '../../prechecks/metadata-backup.js';
import { poolPrecheckFindings, type BootDiskLayout } from '../../prechecks/pool-checks.js';
import { readMetadataVdis, readWlbUrl } from '../../prechecks/read-pool-state.js';
import { readPoolRecords, readXapiAnswers } from '../../pool-model/read-pool-input.js';
import type { PoolInput } from '../../pool-model/pool-input.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { PoolConfig } from '../../config/inventory.js';
import type { HostRow as PoolViewHostRow } from '../../watch/pool-view.js';

export interface RunPoolPrechecksOptions {
  maxBackupAgeHours?: number;
  now?: Date;
  /** Host names whose local SR the admin accepts to lose to safe2upgrade. */
  acceptLocalSrLoss?: readonly string[];
  /** Agents asked at once; default agentConcurrency. */
  agentConcurrency?: number;
  /** XAPI questions in flight at once (pool-model/read-pool-input.ts); default xapiQuestionConcurrency. */
  xapiConcurrency?: number;
}

/**
 * Each agent runs on its own dom0, so a pool's agents are asked all at once: a pool has at most 64
 * hosts (XenServer's limit), and the bound only keeps a larger inventory from opening unbounded work.
 */
export const agentConcurrency = 64;

/** The agent's partition-layout finding, as the safe2upgrade pool check needs it. */
function bootDiskLayout(findings: readonly PrecheckFinding[]): BootDiskLayout | undefined {
  const f = findings.find((x) => x.id === 'partition-layout');
  if (f?.details?.$case !== 'partitionLayout') return undefined;
  const v = f.details.value;
  return { bootDisk: v.bootDisk, safe2upgrade: v.safe2upgrade, localSrOnBootDisk: v.localSrOnBootDisk };
}

/** The host columns the agents are asked by: the hosts list's row (watch/pool-view.ts), no more. */
type HostRow = Pick<PoolViewHostRow, 'ref' | 'uuid' | 'name' | 'hostname' | 'address' | 'isMaster'>;

function hotfixNames(findings: readonly PrecheckFinding[]): string[] | undefined {
  const f = findings.find((x) => x.id === 'hotfixes');
  if (f?.details?.$case !== 'hotfixes') return undefined;
  return f.details.value.hotfixes.map((h) => h.nameLabel);
}

async function askAgent(ctx: ControllerContext, pool: PoolConfig, host: HostRow, signal: AbortSignal): Promise<PoolPrecheckHostReport> {
  const base = { host: host.name, uuid: host.uuid, address: host.address, isMaster: host.isMaster };
  try {
    const client = ctx.agents.get(agentEndpoint(pool, host)).client(PrecheckServiceDefinition);
    const res = await client.run({ checks: [], bootDisk: '' }, { signal });
    return { ...base, agentOk: true, agentErrorCode: '', agentError: '', findings: res.findings };
  } catch (err) {
    if (signal.aborted) throw err;
    return { ...base, agentOk: false, agentErrorCode: err instanceof XsctlError ? err.code : 'AGENT_ERROR', agentError: err instanceof Error ? err.message : String(err), findings: [] };
  }
}

/** Every pool and host check of one pool, as one report. Read-only: XAPI through a read-only session, agents' Run only. */
export async function runPoolPrechecks(ctx: ControllerContext, poolName: string, options: RunPoolPrechecksOptions, signal: AbortSignal): Promise<PoolPrecheckServiceRunResponse> {
  const pool = ctx.pool(poolName);
  // One read per class, the agents and a few XAPI questions at once, all listening to this call's signal.
  setMaxListeners(256, signal);
  const now = options.now ?? new Date();
  const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
  let input: PoolInput;
  let wlbUrl: string;
  let metadataVdis: string[];
  let hosts: HostRow[];
  let asking: Promise<PoolPrecheckHostReport[]>;
  try {
    const records = await readPoolRecords(xapi, signal);
    const master = [...records.pool.values()][0]?.master ?? '';
    hosts = [...records.host.entries()]
      .map(([ref, h]) => ({ ref, uuid: h.uuid, name: h.name_label, hostname: h.hostname, address: h.address, isMaster: ref === master }))
      // Master first, then by name: the order an admin reads and an upgrade walks.
      .sort((a, b) => Number(b.isMaster) - Number(a.isMaster) || a.name.localeCompare(b.name));
    // The agents need only the host list: ask them now, while XAPI answers the per-host questions
    // (evacuation, boot-here) and the pool-level reads. askAgent turns a host's failure into its
    // report, so only an abort rejects this.
    asking = pMap(hosts, (h) => askAgent(ctx, pool, h, signal), { concurrency: Math.max(1, options.agentConcurrency ?? agentConcurrency), signal });
    asking.catch(() => undefined);
    const poolRef = [...records.pool.keys()][0] ?? '';
    const [answers, wlb, vdis] = await Promise.all([
      readXapiAnswers(xapi, records, { signal, ...(options.xapiConcurrency === undefined ? {} : { concurrency: options.xapiConcurrency }) }),
      readWlbUrl(xapi, poolRef, signal),
      readMetadataVdis(xapi, poolRef, signal),
    ]);
    input = { records, answers };
    wlbUrl = wlb;
    metadataVdis = vdis;
  } finally {
    await xapi.close();
  }
  const reports = await asking;
  const agentHotfixes = new Map<string, string[]>();
  const agentErrors = new Map<string, string>();
  const agentLayouts = new Map<string, BootDiskLayout>();
  hosts.forEach((h, i) => {
    const r = reports[i]!;
    if (!r.agentOk) agentErrors.set(h.ref, `${r.agentErrorCode}: ${r.agentError}`);
    const layout = r.agentOk ? bootDiskLayout(r.findings) : undefined;
    if (layout !== undefined) agentLayouts.set(h.ref, layout);
    const names = r.agentOk ? hotfixNames(r.findings) : undefined;
    if (names !== undefined) agentHotfixes.set(h.ref, names);
  });

  const poolFindings = poolPrecheckFindings(
    {
      pool: input,
      wlbUrl,
      agentHotfixes,
      agentErrors,
      agentLayouts,
      acceptLocalSrLoss: new Set(options.acceptLocalSrLoss ?? []),
      metadata: { latest: await latestMetadataBackup(backupDir(ctx.config.journal, pool.name)), metadataVdis },
      now,
      maxBackupAgeHours: options.maxBackupAgeHours ?? 24,
    },
    pool.name,
  );
  const all = [...poolFindings.map((f) => f.severity), ...reports.flatMap((r) => r.findings.map((f) => f.severity))];
  return {
    pool: pool.name,
    poolFindings,
    hosts: reports,
    blockers: all.filter((s) => s === PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER).length,
    warnings: all.filter((s) => s === PrecheckSeverity.PRECHECK_SEVERITY_WARNING).length,
    checkedAt: now.toISOString(),
  };
}
