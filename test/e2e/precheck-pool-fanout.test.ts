import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { PoolPrecheckServiceRunResponse } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { createLogger } from '@xsctl/common/log/create-logger';
import { XapiClient, type XapiTransport } from '@xsctl/controller/xapi/index';
import type { ControllerContext } from '@xsctl/controller/server/controller-context';
import type { PoolConfig } from '@xsctl/controller/config/inventory';
import { runPoolPrechecks, type RunPoolPrechecksOptions } from '@xsctl/controller/services/precheck/run-pool-prechecks';
import { buildPoolFromDescription } from '../src/xapi-sim/build-pool-from-description.js';
import type { PoolDescription } from '../src/xapi-sim/pool-description.js';
import { XapiFailure } from '../src/xapi-sim/xapi-failure.js';
import { IN_PROCESS_URL, inProcessSim, type InProcessSim } from '../src/sim-harness/in-process-xapi.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The pool precheck's fan-out (services/precheck/run-pool-prechecks.ts): every host's agent and
 * XAPI's per-host questions, at once but bounded, one host's failure reported as that host's and
 * never hiding the others, the caller's abort reaching every agent call. The controller code runs
 * in-process on the simulator (buildPoolFromDescription) through the real XapiClient; a wrapper
 * around the simulator's transport counts the XAPI calls in flight and can hold or fail some, and
 * the agents are stand-ins that count theirs.
 */

const evacuationMethod = 'host.get_vms_which_prevent_evacuation';
const hostNames = Array.from({ length: 10 }, (_, i) => `fx${String(i + 1).padStart(2, '0')}`);

function description(): PoolDescription {
  const hosts = hostNames.map((name, i) => ({ name, address: `10.9.0.${i + 1}`, version: '8.2.1', brand: 'XCP-ng', memoryGiB: 256, cpus: 32, hotfixes: ['XS82E001'] }));
  return {
    pool: { name: 'fanout', master: 'fx01' },
    hosts,
    srs: [{ name: 'shared-iscsi', type: 'lvmoiscsi', shared: true, sizeGiB: 4096 }],
    vms: hosts.map((h, i) => ({ name: `vm-${i}`, memoryGiB: 4, vcpus: 2, host: h.name, disks: [{ sr: 'shared-iscsi', sizeGiB: 20 }] })),
  };
}

interface Counter {
  now: number;
  max: number;
}
const enter = (c: Counter): void => {
  c.now++;
  c.max = Math.max(c.max, c.now);
};

let dir: string;
let sim: InProcessSim;
/** XAPI calls in flight, per method. */
let xapiInFlight: Map<string, Counter>;
/** Runs before an XAPI call is passed on (hold it, fail it). */
let beforeXapi: (method: string, args: unknown[]) => Promise<void>;
let agentsInFlight: Counter;
/** Hostnames whose agent was asked, in order. */
let asked: string[];
/** The stand-in agent's answer: hostname -> what it does once asked. */
let agentBehaviour: (hostname: string, signal: AbortSignal | undefined) => Promise<void>;

beforeEach(async () => {
  dir = await tempDir('xsctl-precheck-fanout-');
  sim = inProcessSim(buildPoolFromDescription(description()));
  xapiInFlight = new Map();
  beforeXapi = () => sleep(2);
  agentsInFlight = { now: 0, max: 0 };
  asked = [];
  agentBehaviour = () => sleep(5);
});

afterEach(() => {
  sim.close();
});

function countingTransport(inner: XapiTransport): XapiTransport {
  return {
    get status() {
      return inner.status;
    },
    connect: () => inner.connect(),
    disconnect: () => inner.disconnect(),
    async call(method: string, ...args: unknown[]) {
      const c = xapiInFlight.get(method) ?? { now: 0, max: 0 };
      xapiInFlight.set(method, c);
      enter(c);
      try {
        await beforeXapi(method, args);
        return await inner.call(method, ...args);
      } finally {
        c.now--;
      }
    },
  };
}

function context(): ControllerContext {
  const pool: PoolConfig = { name: 'fanout', xapi: { url: IN_PROCESS_URL, user: 'root', password: 'in-process', allowUnauthorized: false, allowPlainHttp: true, followMasterRedirect: false }, agentPort: 1 };
  const agents = {
    get: (endpoint: { serverName: string }) => ({
      client: () => ({
        run: async (_request: unknown, options: { signal?: AbortSignal }) => {
          asked.push(endpoint.serverName);
          enter(agentsInFlight);
          try {
            await agentBehaviour(endpoint.serverName, options.signal);
          } finally {
            agentsInFlight.now--;
          }
          return { hostname: endpoint.serverName, root: '/', findings: [{ id: 'hotfixes', severity: PrecheckSeverity.PRECHECK_SEVERITY_INFO, summary: 'stand-in', evidence: [], fix: '', error: '', details: undefined }] };
        },
      }),
    }),
  };
  return {
    config: { journal: join(dir, 'journal.sqlite'), pools: [pool] },
    logger: createLogger('test', { level: 'silent' }),
    agents,
    pool: () => pool,
    openXapi: () => XapiClient.connect({ url: IN_PROCESS_URL, user: 'root', password: 'in-process', readOnly: true, allowPlainHttp: true, transport: (url, auth) => countingTransport(sim.transport(url, auth)) }),
  } as unknown as ControllerContext;
}

const run = (options: RunPoolPrechecksOptions = {}, signal = new AbortController().signal): Promise<PoolPrecheckServiceRunResponse> => runPoolPrechecks(context(), 'fanout', options, signal);

describe('pool precheck fan-out', () => {
  it('asks every agent while XAPI still answers the per-host evacuation questions', async () => {
    // XAPI's per-host questions wait until every agent has been asked: a controller that asked
    // the agents only after XAPI's answers would never get here (the hold gives up after 5 s).
    const started = Date.now();
    beforeXapi = async (method) => {
      if (method !== evacuationMethod) return;
      while (asked.length < hostNames.length) {
        if (Date.now() - started > 5_000) throw new XapiFailure('INTERNAL_ERROR', [`agents asked before the evacuation answers: ${asked.length}`]);
        await sleep(5);
      }
    };
    const res = await run();
    expect([...asked].sort()).toEqual(hostNames);
    expect(res.hosts.map((h) => [h.host, h.agentOk])).toEqual(hostNames.map((n) => [n, true]));
    // Every host's evacuation question was answered (no 'could not ask XAPI' warning).
    const evacuation = res.poolFindings.filter((f) => f.id === 'evacuation');
    expect(evacuation.map((f) => f.summary)).toEqual(['every host can be evacuated now (XAPI reports no VM in the way)']);
  });

  it('keeps agent calls and XAPI questions in flight within their bounds, and still asks every host', async () => {
    const res = await run({ agentConcurrency: 3, xapiConcurrency: 2 });
    expect(agentsInFlight.max).toBe(3);
    expect(asked).toHaveLength(hostNames.length);
    expect(xapiInFlight.get(evacuationMethod)?.max).toBe(2);
    // One question per host, each answered.
    expect(res.hosts).toHaveLength(hostNames.length);
    expect(res.poolFindings.filter((f) => f.id === 'evacuation').map((f) => f.severity)).toEqual([PrecheckSeverity.PRECHECK_SEVERITY_INFO]);
  });

  it('by default asks all of a pool\'s agents at once and at most 8 XAPI questions at a time', async () => {
    await run();
    expect(agentsInFlight.max).toBe(hostNames.length);
    expect(xapiInFlight.get(evacuationMethod)?.max).toBe(8);
  });

  it('reports one host\'s unreachable agent and one host\'s failed XAPI question as theirs, and every other host as usual', async () => {
    agentBehaviour = async (hostname) => {
      await sleep(5);
      if (hostname === 'fx04') throw Object.assign(new Error('connect ECONNREFUSED 10.9.0.4:1'), { code: 'AGENT_UNREACHABLE' });
    };
    const fx07 = sim.db.refByName('host', 'fx07');
    beforeXapi = async (method, args) => {
      await sleep(2);
      if (method === evacuationMethod && args[0] === fx07) throw new XapiFailure('HOST_OFFLINE', [fx07]);
    };
    const res = await run();
    const byHost = new Map(res.hosts.map((h) => [h.host, h]));
    expect(byHost.get('fx04')).toMatchObject({ agentOk: false, agentError: 'connect ECONNREFUSED 10.9.0.4:1', findings: [] });
    for (const name of hostNames.filter((n) => n !== 'fx04')) expect(byHost.get(name), name).toMatchObject({ agentOk: true, findings: [{ id: 'hotfixes' }] });
    const evacuation = res.poolFindings.filter((f) => f.id === 'evacuation');
    expect(evacuation).toHaveLength(1);
    expect(evacuation[0]).toMatchObject({ host: 'fx07', severity: PrecheckSeverity.PRECHECK_SEVERITY_WARNING, summary: 'could not ask XAPI which VMs keep fx07 from evacuating' });
    expect(evacuation[0]?.evidence.join(' ')).toContain('HOST_OFFLINE');
  });

  it('passes the caller\'s abort to every agent call in flight and rejects', async () => {
    const controller = new AbortController();
    const signals: Array<AbortSignal | undefined> = [];
    agentBehaviour = (hostname, signal) => {
      signals.push(signal);
      if (signals.length === hostNames.length) controller.abort(new Error('caller gave up'));
      return new Promise((_resolve, reject) => {
        if (signal === undefined) return;
        if (signal.aborted) reject(signal.reason as Error);
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    };
    // The agents' rejection or the XAPI client's cancellation, whichever settles first.
    await expect(run({}, controller.signal)).rejects.toThrow(/caller gave up|was cancelled/);
    expect(signals).toHaveLength(hostNames.length);
    expect(signals.every((s) => s?.aborted === true)).toBe(true);
  });
});
