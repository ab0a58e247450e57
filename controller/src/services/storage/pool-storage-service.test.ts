import { Status } from 'nice-grpc-common';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '@xsctl/common/errors/index';
import { SplitBrainSide, SplitBrainState, type DrbdResourceState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { PoolRole } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import type { StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { GetPoolStorageStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import type { ControllerContext, ResolvedHost } from '../../server/controller-context.js';
import { poolProblems, poolStorageService } from './pool-storage-service.js';

// Fake agents: what is tested is the pool view, the refusals and the order of the recovery calls.
function drbd(name: string, patch: Partial<DrbdResourceState>): DrbdResourceState {
  return { name, minor: 1, role: 'Secondary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate', connection: 'Connected', replication: 'Established', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '', ...patch };
}

function status(patch: Partial<StorageStatus>): StorageStatus {
  return { hostname: '', drbd: [], drbdVersion: undefined, tgtdRunning: false, targets: [], floatingIpPresent: false, floatingIp: '', apparentRole: 'slave', bootEnabled: [], warnings: [], haProcessesRunning: [], haLizardInstalled: false, floatingIpMac: '', ...patch };
}

interface FakeHost {
  host: ResolvedHost;
  calls: string[];
}

function fakeHost(name: string, isMaster: boolean, st: StorageStatus | Error, poolConf: PoolRole = isMaster ? PoolRole.POOL_ROLE_MASTER : PoolRole.POOL_ROLE_SLAVE): FakeHost {
  const calls: string[] = [];
  const client = {
    // What the agent reads from its /etc/xensource/pool.conf.
    getFacts: async () => ({ facts: { poolRole: poolConf } }),
    getStorageStatus: async () => {
      if (st instanceof Error) throw st;
      return { status: st };
    },
    promoteDrbd: async (r: { resource: string }) => {
      calls.push(`promote ${r.resource}`);
      return { result: { commands: ['drbdadm primary iscsi1'], changed: true, dryRun: false } };
    },
    resolveDrbdSplitBrain: async (r: { resource: string; side: SplitBrainSide; confirm: boolean }) => {
      calls.push(`resolve ${r.resource} ${SplitBrainSide[r.side]} confirm=${r.confirm}`);
      return { result: { commands: [], changed: r.confirm, dryRun: !r.confirm } };
    },
  };
  const host = { pool: { name: 'lab' }, ref: `OpaqueRef:${name}`, uuid: name, nameLabel: name, hostname: name, address: '10.0.0.1', isMaster, agent: { client: () => client } } as unknown as ResolvedHost;
  return { host, calls };
}

function ctxOf(hosts: FakeHost[], xapiHa = false): ControllerContext {
  return {
    logger: pino({ level: 'silent' }),
    // The pool record as XAPI returns it: only ha_enabled matters here.
    openXapi: async () => ({ getAllRecords: async () => new Map([['OpaqueRef:pool', { ha_enabled: xapiHa }]]), close: async () => undefined }),
    pool: (name: string) => ({ name }),
    poolHosts: async () => hosts.map((h) => h.host),
    resolveHost: async (name: string) => {
      const h = hosts.find((x) => x.host.nameLabel === name);
      if (h === undefined) throw new RemoteError('NOT_FOUND', Status.NOT_FOUND, `host not found: ${name}`);
      return h.host;
    },
  } as unknown as ControllerContext;
}

const call = { signal: new AbortController().signal } as never;

describe('poolProblems', () => {
  it('reports two Primaries, a split brain, the IP twice, a pool master that does not serve, a silent agent', () => {
    const problems = poolProblems(
      [
        { host: 'xs1', isMaster: true, status: status({ drbd: [drbd('iscsi1', { role: 'Primary', connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, splitBrainEvidence: 'block drbd1: Split-Brain detected but unresolved, dropping connection!' })], floatingIpPresent: true, apparentRole: 'mixed' }), errorCode: '', errorMessage: '' },
        { host: 'xs2', isMaster: false, status: status({ drbd: [drbd('iscsi1', { role: 'Primary' })], floatingIpPresent: true, apparentRole: 'master' }), errorCode: '', errorMessage: '' },
        { host: 'xs3', isMaster: false, status: undefined, errorCode: 'AGENT_UNREACHABLE', errorMessage: 'connect ECONNREFUSED' },
      ],
      { drbdResources: ['iscsi1'], target: undefined, floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1', garpCount: 0 }, tgtd: undefined, peerSafety: undefined, stopGraceMs: 0 },
    );
    expect(problems).toEqual([
      'xs3: agent not answering (AGENT_UNREACHABLE: connect ECONNREFUSED)',
      'DRBD iscsi1 is Primary on xs1 and xs2',
      'SPLIT BRAIN: DRBD iscsi1 on xs1 (block drbd1: Split-Brain detected but unresolved, dropping connection!); resolve with xsctl drbd resolve-split-brain --victim HOST',
      'floating IP 10.10.10.3 is on xs1 and xs2',
      'pool master xs1 is not the storage master (xs2 is)',
      'xs1 is half master, half slave: assert its role',
    ]);
  });

  it('is quiet for a healthy pair', () => {
    expect(
      poolProblems(
        [
          { host: 'xs1', isMaster: true, status: status({ drbd: [drbd('iscsi1', { role: 'Primary' })], floatingIpPresent: true, apparentRole: 'master' }), errorCode: '', errorMessage: '' },
          { host: 'xs2', isMaster: false, status: status({ drbd: [drbd('iscsi1', { peerRole: 'Primary' })] }), errorCode: '', errorMessage: '' },
        ],
        undefined,
      ),
    ).toEqual([]);
  });
});

describe('PoolStorageService', () => {
  it('shows every host side by side, with an unreachable one as an error', async () => {
    const xs1 = fakeHost('xs1', true, status({ drbd: [drbd('iscsi1', { role: 'Primary' })], apparentRole: 'master' }));
    const xs2 = fakeHost('xs2', false, new RemoteError('AGENT_UNREACHABLE', Status.UNAVAILABLE, 'no route'));
    const r = GetPoolStorageStatusResponse.fromPartial(await poolStorageService(ctxOf([xs1, xs2])).getPoolStorageStatus({ pool: 'lab', spec: undefined }, call));
    expect(r.hosts.map((h) => [h.host, h.isMaster, h.status?.apparentRole, h.errorCode])).toEqual([
      ['xs1', true, 'master', ''],
      ['xs2', false, undefined, 'AGENT_UNREACHABLE'],
    ]);
    expect(r.problems).toEqual(['xs2: agent not answering (AGENT_UNREACHABLE: no route)']);
  });

  it('refuses to promote while another host of the pool is Primary', async () => {
    const xs1 = fakeHost('xs1', true, status({ drbd: [drbd('iscsi1', { role: 'Primary' })] }));
    const xs2 = fakeHost('xs2', false, status({ drbd: [drbd('iscsi1', {})] }));
    const svc = poolStorageService(ctxOf([xs1, xs2]));
    await expect(svc.promotePoolDrbd({ pool: 'lab', host: 'xs2', resource: 'iscsi1', peerSafety: undefined }, call)).rejects.toMatchObject({ code: 'STORAGE_PRIMARY_ELSEWHERE', host: 'xs1' });
    expect(xs2.calls).toEqual([]);
    await svc.promotePoolDrbd({ pool: 'lab', host: 'xs1', resource: 'iscsi1', peerSafety: undefined }, call);
    expect(xs1.calls).toEqual(['promote iscsi1']);
  });

  it('resolves a split brain only when one is reported: victim first, then the survivor', async () => {
    const split = drbd('iscsi1', { connection: 'StandAlone', peerRole: 'Unknown', peerDisk: 'DUnknown', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, splitBrainEvidence: 'x' });
    const calls: string[] = [];
    const xs1 = fakeHost('xs1', true, status({ drbd: [{ ...split, role: 'Primary' }] }));
    const xs2 = fakeHost('xs2', false, status({ drbd: [split] }));
    xs1.calls.push = (...c: string[]) => calls.push(...c.map((x) => `xs1 ${x}`));
    xs2.calls.push = (...c: string[]) => calls.push(...c.map((x) => `xs2 ${x}`));
    const r = await poolStorageService(ctxOf([xs1, xs2])).resolvePoolDrbdSplitBrain({ pool: 'lab', resource: 'iscsi1', victim: 'xs2', confirm: true }, call);
    expect(r).toMatchObject({ victim: 'xs2', survivor: 'xs1' });
    expect(calls).toEqual(['xs2 resolve iscsi1 SPLIT_BRAIN_SIDE_VICTIM confirm=true', 'xs1 resolve iscsi1 SPLIT_BRAIN_SIDE_SURVIVOR confirm=true']);

    const healthy = [fakeHost('xs1', true, status({ drbd: [drbd('iscsi1', { role: 'Primary' })] })), fakeHost('xs2', false, status({ drbd: [drbd('iscsi1', {})] }))];
    await expect(poolStorageService(ctxOf(healthy)).resolvePoolDrbdSplitBrain({ pool: 'lab', resource: 'iscsi1', victim: 'xs2', confirm: true }, call)).rejects.toMatchObject({ code: 'STORAGE_NO_SPLIT_BRAIN' });
    expect(healthy.flatMap((h) => h.calls)).toEqual([]);
  });
});

describe("split-brain recovery checks the how-to's prerequisites first", () => {
  const split = drbd('iscsi1', { connection: 'StandAlone', peerRole: 'Unknown', peerDisk: 'DUnknown', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED, splitBrainEvidence: 'x' });
  const req = (confirm: boolean) => ({ pool: 'lab', resource: 'iscsi1', victim: 'xs2', confirm });

  it('refuses while the pool is split into two masters (each pool.conf says master), dry run included', async () => {
    const xs1 = fakeHost('xs1', true, status({ drbd: [{ ...split, role: 'Primary' }] }));
    const xs2 = fakeHost('xs2', false, status({ drbd: [split] }), PoolRole.POOL_ROLE_MASTER);
    for (const confirm of [false, true]) {
      await expect(poolStorageService(ctxOf([xs1, xs2])).resolvePoolDrbdSplitBrain(req(confirm), call)).rejects.toMatchObject({ code: 'STORAGE_POOL_SPLIT', masters: ['xs2', 'xs1'] });
    }
    expect([...xs1.calls, ...xs2.calls]).toEqual([]);
  });

  it('refuses while HA runs: XAPI HA, or the ha-lizard / iscsi-ha services on either host', async () => {
    const xs1 = fakeHost('xs1', true, status({ drbd: [{ ...split, role: 'Primary' }], haProcessesRunning: ['ha-lizard', 'iscsi-ha'] }));
    const xs2 = fakeHost('xs2', false, status({ drbd: [split] }));
    const err = await poolStorageService(ctxOf([xs1, xs2])).resolvePoolDrbdSplitBrain(req(true), call).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE_HA_RUNNING', running: ['ha-lizard on xs1', 'iscsi-ha on xs1'] });
    const quiet = [fakeHost('xs1', true, status({ drbd: [{ ...split, role: 'Primary' }] })), fakeHost('xs2', false, status({ drbd: [split] }))];
    await expect(poolStorageService(ctxOf(quiet, true)).resolvePoolDrbdSplitBrain(req(true), call)).rejects.toMatchObject({ code: 'STORAGE_HA_RUNNING', running: ['XAPI HA (pool.ha_enabled)'] });
    expect([...xs1.calls, ...xs2.calls, ...quiet.flatMap((h) => h.calls)]).toEqual([]);
    await poolStorageService(ctxOf(quiet)).resolvePoolDrbdSplitBrain(req(true), call);
    expect(quiet.flatMap((h) => h.calls)).toHaveLength(2);
  });
});

describe("the power-off claim is the controller's failover's alone (issue 11's peer-fenced hold)", () => {
  it('AssertPoolStorageRole refuses spec.peerSafety.peerFencedByPower before asking any agent', async () => {
    const xs2 = fakeHost('xs2', false, status({}));
    const spec = { drbdResources: ['iscsi1'], target: undefined, floatingIp: undefined, tgtd: undefined, stopGraceMs: 0, peerSafety: { peerFenced: true, peerFencedByPower: true, witnessAddress: '', witnessInterface: '', failoverReason: 0 } };
    await expect(poolStorageService(ctxOf([xs2])).assertPoolStorageRole({ pool: 'lab', host: 'xs2', role: 1, spec, dryRun: false }, call)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'spec.peerSafety.peerFencedByPower' });
    expect(xs2.calls).toEqual([]);
  });
});

describe('registration', () => {
  it('makes every storage write operator-only', async () => {
    const { serviceRegistrations } = await import('../../server/register-services.js');
    const { operatorPaths } = await import('../../server/registration.js');
    const { anything } = await import('@xsctl/test/registration/anything');
    const paths = [...operatorPaths(serviceRegistrations(anything as ControllerContext))].filter((p) => p.startsWith('/xsctl.controller.v1.PoolStorageService/'));
    expect(paths.sort()).toEqual([
      '/xsctl.controller.v1.PoolStorageService/AssertPoolStorageRole',
      '/xsctl.controller.v1.PoolStorageService/DemotePoolDrbd',
      '/xsctl.controller.v1.PoolStorageService/PromotePoolDrbd',
      '/xsctl.controller.v1.PoolStorageService/ResolvePoolDrbdSplitBrain',
    ]);
  });
});
