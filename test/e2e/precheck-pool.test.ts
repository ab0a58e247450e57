import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PrecheckSeverity, type PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { PoolPrecheckFinding, PoolPrecheckServiceRunResponse } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { createLogger } from '@xsctl/common/log/create-logger';
import { XapiClient } from '@xsctl/controller/xapi/index';
import type { ControllerContext } from '@xsctl/controller/server/controller-context';
import type { PoolConfig } from '@xsctl/controller/config/inventory';
import { runPoolPrechecks } from '@xsctl/controller/services/precheck/run-pool-prechecks';
import { workflowFindings } from '@xsctl/controller/services/precheck/workflow-prechecks';
import { backupDir, MetadataBackupError, MetadataBackupTooLargeError, takeMetadataBackup } from '@xsctl/controller/prechecks/metadata-backup';
import { sharedDumpFile } from '../src/xapi-sim/fixture-paths.js';
import { loadPoolDump, loadPoolDumpFile } from '../src/xapi-sim/load-pool-dump.js';
import { serializePoolDump } from '../src/xapi-sim/methods/precheck/index.js';
import { DEFAULT_SIM_CREDENTIALS, startXapiSimulator, type XapiSimulator } from '../src/xapi-sim/start-xapi-simulator.js';
import type { XapiDb } from '../src/xapi-sim/xapi-db.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The pool prechecks against the XAPI simulator loaded from real `xe pool-dump-database` files
 * (xenadmin's test databases). The controller code runs in-process with the real XapiClient over
 * JSON-RPC; agents are stand-ins that answer with the hotfix list a host's files would give.
 */

const { PRECHECK_SEVERITY_INFO: INFO, PRECHECK_SEVERITY_WARNING: WARNING, PRECHECK_SEVERITY_BLOCKER: BLOCKER } = PrecheckSeverity;

let dir: string;
let sim: XapiSimulator;
let db: XapiDb;
/** hostname -> hotfix names the stand-in agent reports; a host missing here has no agent. */
let agentHotfixes: Map<string, string[]>;

function agentFindings(names: string[]): PrecheckFinding[] {
  return [
    {
      id: 'hotfixes',
      severity: INFO,
      summary: `${names.length} hotfix(es)`,
      evidence: [],
      fix: '',
      error: '',
      details: { $case: 'hotfixes', value: { ignored: [], hotfixes: names.map((n, i) => ({ uuid: `00000000-0000-4000-8000-00000000000${i}`, nameLabel: n, nameDescription: '', afterApplyGuidance: [], file: `/var/update/applied/${i}`, legacy: false, appliedAt: '' })) } },
    },
  ];
}

function context(poolName: string): ControllerContext {
  const pool: PoolConfig = { name: poolName, xapi: { url: sim.url, user: DEFAULT_SIM_CREDENTIALS.user, password: DEFAULT_SIM_CREDENTIALS.password, allowUnauthorized: false, allowPlainHttp: true, followMasterRedirect: false }, agentPort: 1 };
  const agents = {
    get: (endpoint: { serverName: string }) => ({
      client: () => ({
        run: async () => {
          const names = agentHotfixes.get(endpoint.serverName);
          if (names === undefined) throw Object.assign(new Error(`no agent on ${endpoint.serverName}`), { code: 'AGENT_UNREACHABLE' });
          return { hostname: endpoint.serverName, root: '/', findings: agentFindings(names) };
        },
      }),
    }),
  };
  return {
    config: { journal: join(dir, 'journal.sqlite'), pools: [pool] },
    logger: createLogger('test', { level: 'silent' }),
    agents,
    pool: () => pool,
    openXapi: (p: PoolConfig, o: { readOnly: boolean; signal?: AbortSignal }) => XapiClient.connect({ url: p.xapi.url, user: p.xapi.user, password: p.xapi.password, readOnly: o.readOnly, allowPlainHttp: true }),
  } as unknown as ControllerContext;
}

async function run(poolName = 'lab'): Promise<PoolPrecheckServiceRunResponse> {
  return runPoolPrechecks(context(poolName), poolName, {}, new AbortController().signal);
}

const byId = (res: PoolPrecheckServiceRunResponse, id: string): PoolPrecheckFinding[] => res.poolFindings.filter((f) => f.id === id);
const one = (res: PoolPrecheckServiceRunResponse, id: string): PoolPrecheckFinding => {
  const hits = byId(res, id);
  expect(hits, id).toHaveLength(1);
  return hits[0]!;
};
const hostRef = (name: string): string => db.refByName('host', name);

async function start(file: string): Promise<void> {
  db = await loadPoolDumpFile(sharedDumpFile(file));
  sim = await startXapiSimulator({ source: { db } });
  agentHotfixes = new Map([
    ['incubus', []],
    ['inflames', []],
  ]);
}

beforeEach(async () => {
  dir = await tempDir('xsctl-precheck-pool-');
});
afterEach(async () => {
  await sim?.close();
});

describe('pool prechecks on boston-db.xml', () => {
  beforeEach(() => start('boston-db.xml'));

  it('reports the dump\'s own facts: two live hosts, HA and WLB off, one version, and the VM on local storage', async () => {
    const res = await run();
    expect(res.pool).toBe('lab');
    expect(res.hosts.map((h) => [h.host, h.isMaster, h.agentOk])).toEqual([
      ['inflames', true, true],
      ['incubus', false, true],
    ]);
    expect(one(res, 'hosts').severity).toBe(INFO);
    expect(one(res, 'ha')).toMatchObject({ severity: INFO, summary: 'HA is off' });
    expect(one(res, 'wlb').severity).toBe(INFO);
    expect(one(res, 'versions')).toMatchObject({ severity: INFO, summary: 'every host runs XenServer 5.9.950 build 47609c' });
    expect(one(res, 'hotfix-uniformity').severity).toBe(INFO);

    // "Demo" runs on inflames with both disks on inflames' Local storage: XAPI names the SR.
    const evac = one(res, 'evacuation');
    expect(evac).toMatchObject({ severity: BLOCKER, host: 'inflames' });
    const vms = evac.details?.$case === 'evacuation' ? evac.details.value.vms : [];
    expect(vms.map((v) => [v.vm, v.code, v.localSrs])).toEqual([['Demo', 'VM_REQUIRES_SR', ['Local storage']]]);
    expect(vms[0]!.params[0]).toBe(db.refByName('VM', 'Demo'));
    expect(db.getRecord('SR', vms[0]!.params[1]!)['shared']).toBe(false);
    expect(vms[0]!.explanation).toMatch(/local storage \(Local storage\)/);

    // No dump taken yet and no database replica (metadata_VDIs is "()" in the dump).
    const meta = one(res, 'metadata-backup');
    expect(meta.severity).toBe(BLOCKER);
    expect(meta.details?.$case === 'metadataBackup' && meta.details.value.metadataVdis).toEqual([]);

    expect(res.blockers).toBe(2);
    expect(workflowFindings(res)).toContainEqual({ check: 'VM_REQUIRES_SR', host: 'inflames', vm: 'Demo', severity: 'blocker', message: expect.stringContaining('Demo') });
  });

  it('sees a mismatched hotfix list, combining XAPI\'s records with what the agents read', async () => {
    // XS60E001 applied on incubus only (pool_patch + host_patch, as XAPI records a 6.x hotfix).
    const patch = db.create('pool_patch', { uuid: '1f9c6c35-9c5a-4d53-9a46-a0bd4c4e6a01', name_label: 'XS60E001', name_description: 'Hotfix 1', version: '1.0', size: 0, pool_applied: false, after_apply_guidance: ['restartHost'], other_config: {} });
    db.create('host_patch', { uuid: '5c1e4a7f-2d0b-4f57-8a11-b3c4d5e6f701', name_label: '', name_description: '', version: '', host: hostRef('incubus'), pool_patch: patch, applied: true, timestamp_applied: '20110601T10:00:00Z', size: 0, other_config: {} });
    // inflames' /var/update/applied names XS60E002, which XAPI does not know about.
    agentHotfixes.set('inflames', ['XS60E002']);
    const res = await run();
    const f = one(res, 'hotfix-uniformity');
    expect(f.severity).toBe(BLOCKER);
    const hosts = f.details?.$case === 'hotfixComparison' ? f.details.value.hosts : [];
    expect(hosts.find((h) => h.host === 'inflames')).toMatchObject({ xapiHotfixes: [], agentHotfixes: ['XS60E002'], missing: ['XS60E001'], xapiAgentMismatch: ['XS60E002'] });
    expect(hosts.find((h) => h.host === 'incubus')).toMatchObject({ xapiHotfixes: ['XS60E001'], missing: ['XS60E002'] });
    expect(f.summary).toContain('inflames lacks XS60E001');
  });

  it('reports HA and WLB left on', async () => {
    db.update('pool', db.poolRef(), { ha_enabled: true, wlb_enabled: true, wlb_url: '10.80.237.250:8012' });
    const res = await run();
    expect(one(res, 'ha')).toMatchObject({ severity: BLOCKER, summary: 'HA is enabled' });
    expect(one(res, 'ha').fix).toContain('xe pool-ha-disable');
    expect(one(res, 'wlb').severity).toBe(BLOCKER);
    expect(one(res, 'wlb').evidence[0]).toContain('wlb_url=10.80.237.250:8012');
  });

  it('reports a disabled host, a host in maintenance and a missing agent', async () => {
    db.update('host', hostRef('incubus'), { enabled: false, other_config: { ...(db.getRecord('host', hostRef('incubus'))['other_config'] as Record<string, string>), MAINTENANCE_MODE: 'true' } });
    agentHotfixes.delete('inflames');
    const res = await run();
    expect(one(res, 'hosts')).toMatchObject({ severity: BLOCKER, host: 'incubus', summary: 'incubus is disabled, in maintenance mode' });
    expect(one(res, 'agent')).toMatchObject({ severity: WARNING, host: 'inflames' });
    expect(res.hosts.find((h) => h.host === 'inflames')).toMatchObject({ agentOk: false, agentErrorCode: 'AGENT_ERROR' });
    // Without its agent, inflames' hotfixes come from XAPI alone.
    const cmp = one(res, 'hotfix-uniformity').details;
    expect(cmp?.$case === 'hotfixComparison' && cmp.value.hosts.find((h) => h.host === 'inflames')?.agentRead).toBe(false);
  });

  it('takes a metadata backup from /pool/xmldbdump that loads back as the same pool, and then counts it as recent', async () => {
    const ctx = context('lab');
    const target = backupDir(ctx.config.journal, 'lab');
    const taken = await takeMetadataBackup({ url: sim.url, user: DEFAULT_SIM_CREDENTIALS.user, password: DEFAULT_SIM_CREDENTIALS.password, allowUnauthorized: false, allowPlainHttp: true }, 'lab', target);
    expect(taken.file.startsWith(target)).toBe(true);
    expect(taken.sha256).toMatch(/^[0-9a-f]{64}$/);
    const xml = await readFile(taken.file, 'utf8');
    expect(xml).toMatch(/^<database><manifest><pair key="schema_major_vsn" value="5"\/>/);
    const copy = loadPoolDump(xml);
    for (const cls of ['pool', 'host', 'VM', 'VBD', 'VDI', 'SR', 'PBD']) {
      expect(copy.count(cls), cls).toBe(db.count(cls));
      for (const ref of db.refs(cls)) expect(copy.getRecord(cls, ref), `${cls} ${ref}`).toEqual(db.getRecord(cls, ref));
    }
    const res = await run();
    expect(one(res, 'metadata-backup')).toMatchObject({ severity: INFO });

    await expect(takeMetadataBackup({ url: sim.url, user: 'root', password: 'wrong', allowUnauthorized: false, allowPlainHttp: true }, 'lab', target)).rejects.toThrow(MetadataBackupError);
    await expect(takeMetadataBackup({ url: sim.url, user: 'root', password: 'wrong', allowUnauthorized: false, allowPlainHttp: true }, 'lab', target)).rejects.toThrow(/HTTP 401/);
    expect((await readdir(target)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('stops a dump past the configured cap and deletes the partial file (issue 10, defect 13)', async () => {
    const source = { url: sim.url, user: DEFAULT_SIM_CREDENTIALS.user, password: DEFAULT_SIM_CREDENTIALS.password, allowUnauthorized: false, allowPlainHttp: true };
    const whole = await takeMetadataBackup(source, 'lab', join(backupDir(context('lab').config.journal, 'lab'), '..', 'cap-whole'));
    // The simulator's dump of this pool is tens of KiB; a 4 KiB cap is well inside it.
    expect(whole.bytes).toBeGreaterThan(4096);
    const target = join(backupDir(context('lab').config.journal, 'lab'), '..', 'cap-small');
    const err = await takeMetadataBackup({ ...source, maxBytes: 4096 }, 'lab', target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetadataBackupTooLargeError);
    expect(err).toMatchObject({ code: 'METADATA_BACKUP_TOO_LARGE', maxBytes: 4096, pool: 'lab' });
    expect(await readdir(target)).toEqual([]);
    // Exactly the dump's size is allowed: the cap is inclusive.
    expect((await takeMetadataBackup({ ...source, maxBytes: whole.bytes }, 'lab', target)).sha256).toBe(whole.sha256);
  });

  it('judges capacity over the whole sequence, master first', async () => {
    const res = await run();
    const cap = one(res, 'capacity');
    const d = cap.details?.$case === 'capacity' ? cap.details.value : undefined;
    expect(d?.order).toEqual(['inflames', 'incubus']);
    // Demo (local storage) stays for the evacuation check; nothing else runs on inflames.
    expect(d?.steps[0]?.moves).toEqual([]);
    expect(d?.steps[1]?.moves.map((m) => [m.vm, m.to])).toEqual([['Demo Linux', 'inflames']]);
    expect(cap.severity).toBe(d?.feasible ? (d.feasibleUpgradedOnly ? INFO : WARNING) : BLOCKER);

    // Shrink inflames until Demo Linux no longer fits anywhere when incubus is out. By XAPI's
    // accounting (dynamic_min + overhead) 768 MiB leave 768 - 110 (host) - 309 (dom0 at its
    // dynamic_min) - 260 (Demo, which stays) = 89 MiB, less than Demo Linux's 260.
    const metrics = db.getRecord('host', hostRef('inflames'))['metrics'] as string;
    db.update('host_metrics', metrics, { memory_total: 768 * 2 ** 20 });
    const tight = one(await run(), 'capacity');
    expect(tight.severity).toBe(BLOCKER);
    expect(tight.summary).toMatch(/step 2 \(incubus out\) 1 running VM/);
  });
});

describe('pool prechecks on state1.xml', () => {
  beforeEach(() => start('state1.xml'));

  it('finds the tools ISO in a drive, WLB configured but off, and every VM on local storage', async () => {
    const res = await run();
    expect(one(res, 'wlb')).toMatchObject({ severity: INFO, summary: 'WLB is off (configured at 10.80.237.250:8012)' });
    const cds = one(res, 'cds');
    const drives = cds.details?.$case === 'cds' ? cds.details.value.drives : [];
    // Windows Server 2003 x64 (1) has xs-tools.iso from the "XenServer Tools" SR; the other ISOs are on shared ISO SRs.
    expect(drives).toEqual([{ vm: 'Windows Server 2003 x64 (1)', host: 'inflames', iso: 'xs-tools.iso', sr: 'XenServer Tools', toolsIso: true, localSr: false }]);
    expect(cds.severity).toBe(WARNING);

    const evac = byId(res, 'evacuation');
    const named = evac.flatMap((f) => (f.details?.$case === 'evacuation' ? f.details.value.vms.map((v) => [f.host, v.vm, v.localSrs]) : []));
    expect(named.sort()).toEqual(
      [
        ['incubus', 'Iscsi Box', ['Local storage']],
        ['inflames', 'Windows Server 2003 x64 (1)', ['Local storage']],
        ['inflames', 'Windows XP SP2 (1)', ['Local storage']],
      ].sort(),
    );
    expect(evac.every((f) => f.severity === BLOCKER)).toBe(true);
    // The halted Windows Server 2008 has no disks: nothing to say about it.
    expect(one(res, 'local-storage').severity).toBe(INFO);
  });

  it('serialises the loaded database in the dump format the loader reads back', async () => {
    const again = loadPoolDump(serializePoolDump(db));
    for (const cls of db.classNames) {
      expect(again.count(cls), cls).toBe(db.count(cls));
      for (const ref of db.refs(cls)) expect(again.getRecord(cls, ref), `${cls} ${ref}`).toEqual(db.getRecord(cls, ref));
    }
  });
});
