import { RemoteError, ValidationError, XsctlError } from '@xsctl/common/errors/index';
import { DrbdServiceDefinition, SplitBrainSide, SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { HostServiceDefinition, PoolRole } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { StorageServiceDefinition, type StorageSpec, type StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import type { HostStorageStatus, PoolStorageServiceImplementation } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import type { ControllerContext, ResolvedHost } from '../../server/controller-context.js';
import { HaRunningError, NoSplitBrainError, PoolSplitError, PrimaryElsewhereError, SplitBrainPairError } from './storage-errors.js';

const hostName = (h: ResolvedHost) => h.nameLabel || h.hostname || h.address;

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof RemoteError || err instanceof XsctlError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

function required(field: string, value: string): string {
  if (value === '') throw new ValidationError(field, 'required');
  return value;
}

/**
 * Pool-level findings from every host's storage status: the things an admin must see first.
 * Rule 10: a split brain is reported loudly; rule 4: never two Primaries, never the IP twice.
 */
export function poolProblems(hosts: readonly HostStorageStatus[], spec: StorageSpec | undefined): string[] {
  const problems: string[] = [];
  const ok = hosts.filter((h): h is HostStorageStatus & { status: StorageStatus } => h.status !== undefined);
  for (const h of hosts) if (h.errorCode !== '') problems.push(`${h.host}: agent not answering (${h.errorCode}: ${h.errorMessage})`);
  const resources = [...new Set(ok.flatMap((h) => h.status.drbd.map((r) => r.name)))];
  for (const r of resources) {
    const primaries = ok.filter((h) => h.status.drbd.some((d) => d.name === r && d.role === 'Primary')).map((h) => h.host);
    if (primaries.length > 1) problems.push(`DRBD ${r} is Primary on ${primaries.join(' and ')}`);
    for (const h of ok) {
      const d = h.status.drbd.find((x) => x.name === r);
      if (d?.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED) problems.push(`SPLIT BRAIN: DRBD ${r} on ${h.host} (${d.splitBrainEvidence}); resolve with xsctl drbd resolve-split-brain --victim HOST`);
    }
  }
  const withIp = ok.filter((h) => h.status.floatingIpPresent).map((h) => h.host);
  if (withIp.length > 1) problems.push(`floating IP ${spec?.floatingIp?.address ?? ''} is on ${withIp.join(' and ')}`);
  const storageMasters = ok.filter((h) => h.status.apparentRole === 'master').map((h) => h.host);
  const poolMaster = hosts.find((h) => h.isMaster);
  if (spec !== undefined && poolMaster !== undefined && storageMasters.length > 0 && !storageMasters.includes(poolMaster.host)) {
    problems.push(`pool master ${poolMaster.host} is not the storage master (${storageMasters.join(', ')} is)`);
  }
  if (spec !== undefined && ok.length > 0 && storageMasters.length === 0) problems.push('no host serves the storage (no storage master)');
  for (const h of ok) if (h.status.apparentRole === 'mixed') problems.push(`${h.host} is half master, half slave: assert its role`);
  return problems;
}

/** DRBD, tgtd and storage roles across the hosts of a pool, through their agents. */
export function poolStorageService(ctx: ControllerContext): PoolStorageServiceImplementation {
  const hostsOf = (pool: string, signal?: AbortSignal) => ctx.poolHosts(ctx.pool(required('pool', pool)), signal);
  // `field`: the request field that named the host (`host`, or `victim`), so a refusal names it.
  const hostIn = (host: string, pool: string, signal?: AbortSignal, field = 'host') => ctx.resolveHost(required(field, host), pool === '' ? undefined : pool, signal, field);

  async function statuses(hosts: readonly ResolvedHost[], spec: StorageSpec | undefined, signal?: AbortSignal): Promise<HostStorageStatus[]> {
    return Promise.all(
      hosts.map(async (h): Promise<HostStorageStatus> => {
        try {
          const r = await h.agent.client(StorageServiceDefinition).getStorageStatus({ spec }, { signal });
          return { host: hostName(h), isMaster: h.isMaster, status: r.status, errorCode: '', errorMessage: '' };
        } catch (err) {
          const e = errorOf(err);
          return { host: hostName(h), isMaster: h.isMaster, status: undefined, errorCode: e.code, errorMessage: e.message };
        }
      }),
    );
  }

  /**
   * The how-to's prerequisites of a split-brain recovery, checked before either side is touched
   * (dry runs included): the pool is not split into two masters (each host's own pool.conf, as
   * its agent reads it: a split pool's XAPI answers for one side only), and no HA process runs
   * (XAPI's pool.ha_enabled, and the how-to's ha-lizard/iscsi-ha services on each host).
   */
  async function requireRecoveryPrerequisites(pair: readonly ResolvedHost[], pairStatus: readonly (HostStorageStatus | undefined)[], signal: AbortSignal): Promise<void> {
    const masters: string[] = [];
    for (const h of pair) {
      const facts = await h.agent.client(HostServiceDefinition).getFacts({}, { signal });
      if (facts.facts?.poolRole === PoolRole.POOL_ROLE_MASTER) masters.push(hostName(h));
    }
    if (masters.length > 1) throw new PoolSplitError(masters);
    const running = pairStatus.flatMap((s) => (s?.status?.haProcessesRunning ?? []).map((p) => `${p} on ${s?.host ?? '?'}`));
    const pool = pair[0]?.pool;
    if (pool !== undefined) {
      const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
      try {
        const pools = await xapi.getAllRecords('pool', { signal });
        if ([...pools.values()].some((p) => p.ha_enabled)) running.unshift('XAPI HA (pool.ha_enabled)');
      } finally {
        await xapi.close();
      }
    }
    if (running.length > 0) throw new HaRunningError(running);
  }

  return {
    async getPoolStorageStatus(request, { signal }) {
      const hosts = await statuses(await hostsOf(request.pool, signal), request.spec, signal);
      const problems = poolProblems(hosts, request.spec);
      if (problems.length > 0) ctx.logger.warn({ pool: request.pool, problems }, 'storage problems');
      return { pool: request.pool, hosts, problems };
    },

    async renderPoolDrbdConfig(request, { signal }) {
      const h = await hostIn(request.host, request.pool, signal);
      return h.agent.client(DrbdServiceDefinition).renderDrbdConfig({ resources: request.resources, syntax: request.syntax }, { signal });
    },

    async promotePoolDrbd(request, { signal }) {
      const resource = required('resource', request.resource);
      const target = await hostIn(request.host, request.pool, signal);
      // The agent sees its peer only while connected; the controller also asks the other hosts.
      const others = (await ctx.poolHosts(target.pool, signal)).filter((h) => h.uuid !== target.uuid);
      for (const s of await statuses(others, { drbdResources: [resource], target: undefined, floatingIp: undefined, tgtd: undefined, peerSafety: undefined, stopGraceMs: 0 }, signal)) {
        if (s.status?.drbd.some((d) => d.name === resource && d.role === 'Primary')) throw new PrimaryElsewhereError(resource, s.host);
      }
      const r = await target.agent.client(DrbdServiceDefinition).promoteDrbd({ resource, peerSafety: request.peerSafety }, { signal });
      ctx.logger.info({ pool: target.pool.name, host: hostName(target), resource, changed: r.result?.changed }, 'drbd promoted');
      return { result: r.result };
    },

    async demotePoolDrbd(request, { signal }) {
      const target = await hostIn(request.host, request.pool, signal);
      const r = await target.agent.client(DrbdServiceDefinition).demoteDrbd({ resource: required('resource', request.resource) }, { signal });
      ctx.logger.info({ pool: target.pool.name, host: hostName(target), resource: request.resource, changed: r.result?.changed }, 'drbd demoted');
      return { result: r.result };
    },

    /**
     * Rule 10: only on an explicit command naming the victim. The victim discards its changes
     * (`connect --discard-my-data`, 8.3: `-- --discard-my-data connect`), then the survivor
     * reconnects. Without confirm both halves are dry runs.
     */
    async resolvePoolDrbdSplitBrain(request, { signal }) {
      const resource = required('resource', request.resource);
      const victim = await hostIn(request.victim, request.pool, signal, 'victim');
      const pair = (await ctx.poolHosts(victim.pool, signal)).filter((h) => h.uuid !== victim.uuid);
      const spec: StorageSpec = { drbdResources: [resource], target: undefined, floatingIp: undefined, tgtd: undefined, peerSafety: undefined, stopGraceMs: 0 };
      const others = (await statuses(pair, spec, signal)).filter((s) => s.status?.drbd.some((d) => d.name === resource && d.role !== 'Unconfigured'));
      if (others.length !== 1) throw new SplitBrainPairError(resource, others.map((o) => o.host));
      const survivor = pair.find((h) => hostName(h) === others[0]?.host);
      if (survivor === undefined) throw new SplitBrainPairError(resource, []);
      const [victimStatus] = await statuses([victim], spec, signal);
      const detected = [victimStatus, others[0]].some((s) => s?.status?.drbd.some((d) => d.name === resource && d.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED));
      if (!detected) throw new NoSplitBrainError(resource);
      await requireRecoveryPrerequisites([victim, survivor], [victimStatus, others[0]], signal);
      const v = await victim.agent.client(DrbdServiceDefinition).resolveDrbdSplitBrain({ resource, side: SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM, confirm: request.confirm }, { signal });
      const s = await survivor.agent.client(DrbdServiceDefinition).resolveDrbdSplitBrain({ resource, side: SplitBrainSide.SPLIT_BRAIN_SIDE_SURVIVOR, confirm: request.confirm }, { signal });
      ctx.logger.warn({ pool: victim.pool.name, resource, victim: hostName(victim), survivor: hostName(survivor), confirm: request.confirm }, 'drbd split-brain recovery');
      return { victim: hostName(victim), survivor: hostName(survivor), victimResult: v.result, survivorResult: s.result };
    },

    async assertPoolStorageRole(request, { signal }) {
      // A power-off read back by the controller's fencer is not an admin's to claim: on the agent it
      // holds the self-fence while the peer is silent (peer-watch.ts), which only a real one makes safe.
      if (request.spec?.peerSafety?.peerFencedByPower === true) throw new ValidationError('spec.peerSafety.peerFencedByPower', "set only by the controller's failover, after its fencer read the peer's power state back off");
      const target = await hostIn(request.host, request.pool, signal);
      const result = await target.agent.client(StorageServiceDefinition).assertStorageRole({ role: request.role, spec: request.spec, dryRun: request.dryRun }, { signal });
      ctx.logger.info({ pool: target.pool.name, host: hostName(target), role: request.role, ok: result.ok, failedStep: result.failedStep || undefined, dryRun: request.dryRun }, 'storage role asserted');
      return { host: hostName(target), result };
    },

    async showPoolTargets(request, { signal }) {
      const target = await hostIn(request.host, request.pool, signal);
      return { host: hostName(target), result: await target.agent.client(TargetServiceDefinition).showTargets({ instance: request.instance }, { signal }) };
    },
  };
}
