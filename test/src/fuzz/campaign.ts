import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { agentCallTable } from '@xsctl/common/calls/agent-call-table';
import { toolOptions } from '@xsctl/agent/exec/tool-options';
import { representativeVersion } from '@xsctl/agent/drbd/drbdadm-args';
import { generatedServices, type GeneratedMethod } from '../proto/generated-services.js';
import { fieldNamesOf, loadDescriptorIndex, type DescriptorIndex } from './descriptor-set.js';
import { LogTap, makeFuzzPki, startFuzzAgent, startFuzzController, type FuzzAgent, type FuzzController } from './fuzz-targets.js';
import { malformedWireArbitrary, messageArbitrary } from './message-arbitrary.js';
import { agentWriteAllowList, anyAgentWrite, argvProblems, classify, isReadOnlyCall, namedField, writesOutsideAllowList, type Outcome } from './oracles.js';
import { callRaw, type RawOutcome } from './raw-call.js';
import { reparseDrbdConf, reparseTargetsConf, type ReparseResult } from './reparse.js';
import { diffTrees, snapshotTree, stateDir, type Snapshot } from './sandbox-tree.js';
import type { RecordedCall } from './recording-runner.js';

export interface FuzzOptions {
  seed: number;
  /** Requests in all, spread evenly over every agent and controller method. */
  runs: number;
  /** Re-parse every Nth written config with the real tool (tgt-admin, drbdadm): they are slow. */
  reparseStride: number;
  /** Where failing requests are saved as regression cases (one JSON file each). */
  casesDir?: string;
  /** Only these gRPC paths (a focused run). */
  only?: readonly string[];
  /** Replay these saved cases instead of generating requests (the regression test). */
  replay?: readonly FuzzCase[];
  log?: (line: string) => void;
}

/** One request as sent: enough to replay it (the wire bytes) and to read it (the generated object). */
export interface FuzzCase {
  target: 'agent' | 'controller';
  method: string;
  kind: 'message' | 'wire';
  /** Which agent sandbox got an agent request. */
  sandbox?: 'plain' | 'trapped';
  wireBase64: string;
  /** The generated request object (bytes fields as arrays), for reading. */
  request?: unknown;
  /** For a malformed-wire case, what was malformed. */
  malformed?: string;
  /** In a replay: the status and details the target answered. */
  answer?: string;
  failures: string[];
}

export interface FuzzReport {
  seed: number;
  requests: number;
  crashes: number;
  untypedErrors: number;
  invalidArgumentWithoutField: number;
  writesOutsideAllowList: number;
  symlinkTrapsFollowed: number;
  argvViolations: number;
  dryRunViolations: number;
  reparseMismatches: number;
  reparsed: number;
  deadlineOverruns: number;
  /** Signals the agent sent to host processes (StopTgtd's escalation), held back by the fuzzer. */
  signalsHeld: number;
  /** Requests per gRPC path. */
  perMethod: Record<string, number>;
  /** Outcome counts per service: ok, typed failures by code. */
  perService: Record<string, { requests: number; ok: number; failures: Record<string, number> }>;
  wallSeconds: number;
  failures: FuzzCase[];
}

interface MethodUnderTest {
  target: 'agent' | 'controller';
  method: GeneratedMethod;
  inputType: string;
  fieldNames: Set<string>;
  hasConfirm: boolean;
  hasDryRun: boolean;
  deadlineMs: number;
}

/** Client deadline for controller unary calls (agents behind it are stubs, XAPI is the simulator). */
const controllerDeadlineMs = 30_000;
/** Server streams (workflow watch) run until the deadline: a short one, as a stream's end is not the point. */
const streamDeadlineMs = 1_000;
const overrunMarginMs = 2_000;

const hash = (s: string): number => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
};

function isOption(command: string, name: string): 'flag' | 'takes-value' | null {
  const spec = toolOptions[command as keyof typeof toolOptions];
  const opt = spec?.options[name];
  if (opt === undefined) return null;
  return opt.value === true ? 'takes-value' : 'flag';
}

function toJsonSafe(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(toJsonSafe);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonSafe(x)]));
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

async function methodsUnderTest(index: DescriptorIndex): Promise<MethodUnderTest[]> {
  const out: MethodUnderTest[] = [];
  for (const target of ['agent', 'controller'] as const) {
    for (const s of await generatedServices(target)) {
      for (const m of s.methods) {
        if (m.requestStream) continue; // no client-streaming method exists; a new one would need its own driver
        const inputType = index.inputTypes.get(m.path);
        if (inputType === undefined) throw new Error(`fuzzer: no descriptor for ${m.path}`);
        const fields = (index.messages.get(inputType)?.field ?? []).map((f) => f.name);
        const deadlineMs = m.responseStream ? streamDeadlineMs : target === 'agent' ? (agentCallTable[m.path]?.deadlineMs ?? 15_000) : controllerDeadlineMs;
        out.push({ target, method: m, inputType, fieldNames: fieldNamesOf(index, inputType), hasConfirm: fields.includes('confirm'), hasDryRun: fields.includes('dry_run'), deadlineMs });
      }
    }
  }
  return out;
}

interface Generated {
  kind: 'message' | 'wire';
  bytes: Uint8Array;
  request?: Record<string, unknown>;
  malformed?: string;
}

/** The requests for one method: messages from its descriptor, one in five malformed wire bytes. */
function generateFor(index: DescriptorIndex, m: MethodUnderTest, count: number, seed: number, forceDryRun: boolean): Generated[] {
  const msg = fc
    .oneof({ weight: 2, arbitrary: messageArbitrary(index, m.inputType, 4, 'clean') }, { weight: 2, arbitrary: messageArbitrary(index, m.inputType, 4, 'mixed') }, { weight: 2, arbitrary: messageArbitrary(index, m.inputType, 4, 'chaos') })
    .map((o) => (forceDryRun && m.hasConfirm ? { ...o, confirm: false } : o));
  const encode = (o: Record<string, unknown>): Uint8Array => m.method.requestType.encode(m.method.requestType.fromPartial(o)).finish();
  const valid = msg.map(encode);
  const arb: fc.Arbitrary<Generated> = fc.oneof(
    { weight: 4, arbitrary: msg.map((request) => ({ kind: 'message' as const, bytes: encode(request), request })) },
    { weight: 1, arbitrary: malformedWireArbitrary(valid).map((w) => ({ kind: 'wire' as const, bytes: w.bytes, malformed: w.kind })) },
  );
  return fc.sample(arb, { seed: (seed ^ hash(m.method.path)) | 0, numRuns: count });
}

interface Counters {
  report: FuzzReport;
  reparseCount: number;
}

function countOutcome(c: Counters, m: MethodUnderTest, o: Outcome): void {
  c.report.perMethod[m.method.path] = (c.report.perMethod[m.method.path] ?? 0) + 1;
  const service = m.method.path.split('/')[1] ?? '';
  const s = (c.report.perService[service] ??= { requests: 0, ok: 0, failures: {} });
  s.requests++;
  if (o.kind === 'ok') s.ok++;
  else {
    const key = o.kind === 'typed' ? o.code : o.kind === 'client-deadline' ? 'CLIENT_DEADLINE' : `UNTYPED_${o.status}`;
    s.failures[key] = (s.failures[key] ?? 0) + 1;
  }
}

/** The oracles that look at the answer alone. */
function answerFailures(m: MethodUnderTest, g: Generated, raw: RawOutcome, o: Outcome, c: Counters): string[] {
  const f: string[] = [];
  if (o.kind === 'untyped') {
    c.report.untypedErrors++;
    f.push(`untyped failure: status ${o.status} ${JSON.stringify(o.details.slice(0, 200))}`);
    // A server that went away answers UNAVAILABLE without a code: a crash of the in-process target.
    if (o.status === 14) c.report.crashes++;
  }
  if (o.kind === 'client-deadline' && !m.method.responseStream) {
    c.report.untypedErrors++;
    f.push(`no answer within the ${m.deadlineMs} ms deadline`);
  }
  if (o.kind === 'typed' && o.code === 'VALIDATION_FAILED') {
    const field = namedField(o.message);
    if (field === null || (!m.fieldNames.has(field) && field !== 'request')) {
      c.report.invalidArgumentWithoutField++;
      f.push(`INVALID_ARGUMENT without a field of ${m.inputType}: ${o.message.slice(0, 200)}`);
    }
  }
  // Bytes that are not a message of the request type are malformed input: INVALID_ARGUMENT naming the request.
  if (g.kind === 'wire' && o.kind !== 'ok' && o.kind !== 'typed') f.push(`malformed wire (${g.malformed}) not refused as INVALID_ARGUMENT`);
  if (raw.elapsedMs > m.deadlineMs + overrunMarginMs) {
    c.report.deadlineOverruns++;
    f.push(`took ${raw.elapsedMs} ms, deadline ${m.deadlineMs} ms`);
  }
  return f;
}

function argvFailures(calls: readonly RecordedCall[], c: Counters): string[] {
  const problems = argvProblems(calls, isOption);
  c.report.argvViolations += problems.length;
  return problems.map((p) => `argv: ${p.command} ${JSON.stringify(p.args)}: ${JSON.stringify(p.arg.slice(0, 80))} ${p.problem}`);
}

async function treeFailures(agent: FuzzAgent, before: { root: Snapshot; outside: Snapshot }, allowed: readonly string[], dryRun: boolean, c: Counters): Promise<{ failures: string[]; changed: string[] }> {
  const f: string[] = [];
  const [root, outside] = await Promise.all([snapshotTree(agent.sandbox.root), snapshotTree(agent.sandbox.outside)]);
  const changed = diffTrees(before.root, root);
  const outsideChanged = diffTrees(before.outside, outside);
  if (outsideChanged.length > 0) {
    c.report.writesOutsideAllowList++;
    c.report.symlinkTrapsFollowed++;
    f.push(`${agent.name}: wrote outside its root through a symlink: ${outsideChanged.slice(0, 5).join(', ')}`);
  }
  // A trap replaced by a regular file: the write did not follow the link, but it broke it.
  // (Removing a link is not following it: StopTgtd deletes its pid file, link or not.)
  const replaced = changed.filter((p) => before.root.get(p)?.type === 'link' && root.has(p) && root.get(p)?.type !== 'link');
  if (replaced.length > 0) {
    c.report.writesOutsideAllowList++;
    f.push(`${agent.name}: replaced the symlink ${replaced.slice(0, 5).join(', ')} instead of writing through it or refusing`);
  }
  const outsideList = writesOutsideAllowList(changed, allowed);
  if (outsideList.length > 0) {
    c.report.writesOutsideAllowList++;
    f.push(`${agent.name}: changed paths outside the allow-list: ${outsideList.slice(0, 5).join(', ')}`);
  }
  if (dryRun) {
    const real = changed.filter((p) => p !== stateDir && !p.startsWith(`${stateDir}/`) && !anyAgentWrite.some((a) => a.startsWith(`${p}/`)));
    if (real.length > 0) {
      c.report.dryRunViolations++;
      f.push(`${agent.name}: a dry run changed ${real.slice(0, 5).join(', ')}`);
    }
  }
  return { failures: f, changed };
}

function dryRunCallFailures(calls: readonly RecordedCall[], c: Counters): string[] {
  const writes = calls.filter((x) => !isReadOnlyCall(x));
  if (writes.length === 0) return [];
  c.report.dryRunViolations++;
  return writes.slice(0, 3).map((x) => `a dry run ran ${x.command} ${JSON.stringify(x.args)}`);
}

async function reparseFailures(agent: FuzzAgent, changed: readonly string[], request: unknown, c: Counters): Promise<string[]> {
  const jobs: [string, (text: string) => Promise<ReparseResult>][] = [];
  if (changed.includes('/etc/tgt/targets.conf')) jobs.push(['/etc/tgt/targets.conf', (t) => reparseTargetsConf(t, request)]);
  if (changed.includes('/etc/drbd.conf')) jobs.push(['/etc/drbd.conf', (t) => reparseDrbdConf(t, request, Object.values(representativeVersion).reverse())]);
  const f: string[] = [];
  for (const [path, run] of jobs) {
    const text = await readFile(join(agent.sandbox.root, path), 'utf8').catch(() => null);
    if (text === null) continue;
    c.report.reparsed++;
    const r = await run(text);
    if (!r.ok) {
      c.report.reparseMismatches++;
      f.push(`${path} through ${r.tool}: ${r.detail}`);
    }
  }
  return f;
}

/**
 * The campaign: every agent and controller method, requests generated from the descriptors by
 * fast-check with a fixed seed, each checked by every oracle. Sequential, so each request's file
 * changes and commands are its own.
 */
export async function runFuzzCampaign(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'xsctl-fuzz-'));
  const report: FuzzReport = {
    seed: options.seed,
    requests: 0,
    crashes: 0,
    untypedErrors: 0,
    invalidArgumentWithoutField: 0,
    writesOutsideAllowList: 0,
    symlinkTrapsFollowed: 0,
    argvViolations: 0,
    dryRunViolations: 0,
    reparseMismatches: 0,
    reparsed: 0,
    deadlineOverruns: 0,
    signalsHeld: 0,
    perMethod: {},
    perService: {},
    wallSeconds: 0,
    failures: [],
  };
  const c: Counters = { report, reparseCount: 0 };
  const crashes: string[] = [];
  const onRejection = (err: unknown) => crashes.push(`unhandled rejection: ${String((err as Error)?.stack ?? err).slice(0, 400)}`);
  const onException = (err: unknown) => crashes.push(`uncaught exception: ${String((err as Error)?.stack ?? err).slice(0, 400)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  // StopTgtd signals the tgtd it finds in the host's real /proc (a sandbox root does not cover
  // /proc). Nothing of this machine is the fuzzer's to kill: signals are recorded, not sent
  // (signal 0, a liveness probe, still goes through).
  const realKill = process.kill.bind(process);
  const signalsHeld: string[] = [];
  process.kill = ((pid: number, signal?: string | number) => {
    if (signal === 0) return realKill(pid, 0);
    signalsHeld.push(`${String(signal ?? 'SIGTERM')} to ${pid}`);
    return true;
  }) as typeof process.kill;
  const tap = new LogTap();
  let controller: FuzzController | undefined;
  const agents: FuzzAgent[] = [];
  try {
    const index = await loadDescriptorIndex();
    const wanted = options.replay?.map((x) => x.method) ?? options.only;
    const all = (await methodsUnderTest(index)).filter((m) => wanted === undefined || wanted.includes(m.method.path));
    const pki = await makeFuzzPki(dir);
    agents.push(await startFuzzAgent(dir, pki, 'agent-plain', { traps: false, listen: '127.0.0.1:0', address: '127.0.0.1', logger: tap.logger }));
    agents.push(await startFuzzAgent(dir, pki, 'agent-trapped', { traps: true, listen: '127.0.0.1:0', address: '127.0.0.1', logger: tap.logger }));
    if (all.some((m) => m.target === 'controller')) controller = await startFuzzController(dir, pki, tap.logger);
    const perMethod = Math.max(1, Math.ceil(options.runs / Math.max(1, all.length)));
    log(`fuzz: ${all.length} methods, ${perMethod} requests each, seed ${options.seed}`);

    const record = async (m: MethodUnderTest, g: Generated, sandbox: 'plain' | 'trapped' | undefined, failures: string[]) => {
      if (failures.length === 0) return;
      const fcase: FuzzCase = {
        target: m.target,
        method: m.method.path,
        kind: g.kind,
        ...(sandbox === undefined ? {} : { sandbox }),
        wireBase64: Buffer.from(g.bytes).toString('base64'),
        ...(g.request === undefined ? {} : { request: toJsonSafe(g.request) }),
        ...(g.malformed === undefined ? {} : { malformed: g.malformed }),
        failures,
      };
      if (report.failures.length < 200) report.failures.push(fcase);
      if (options.casesDir !== undefined) {
        await mkdir(options.casesDir, { recursive: true });
        const name = `${m.method.path.split('/').slice(1).join('.')}-${hash(fcase.wireBase64).toString(16)}.json`;
        await writeFile(join(options.casesDir, name), `${JSON.stringify(fcase, null, 1)}\n`);
      }
    };

    const takeCrashes = (): string[] => crashes.splice(0).map((x) => {
      report.crashes++;
      return x;
    });
    const takeUnhandledLogs = (): string[] => {
      const lines = tap.lines.splice(0).filter((l) => l.msg === 'unhandled error');
      return lines.map((l) => `server logged an unhandled error: ${JSON.stringify(l.err).slice(0, 300)}`);
    };

    const agentRequest = async (m: MethodUnderTest, g: Generated, sandboxName: 'plain' | 'trapped', recordAs?: 'replay') => {
      const agent = agents[sandboxName === 'plain' ? 0 : 1]!;
      const before = { root: await snapshotTree(agent.sandbox.root), outside: await snapshotTree(agent.sandbox.outside) };
      const mark = agent.runner.calls.length;
      const raw = await callRaw(agent.client, m.method.path, m.method.responseStream, g.bytes, m.deadlineMs);
      report.requests++;
      if (raw.elapsedMs > 1_000) log(`fuzz: slow: ${m.method.path} took ${raw.elapsedMs} ms (${raw.status} ${raw.details.slice(0, 120)})`);
      const o = classify(raw.status, raw.details);
      countOutcome(c, m, o);
      if (process.env['XSCTL_FUZZ_TRACE'] === '1') log(`trace: ${m.method.path} ${g.kind} -> ${raw.status} ${raw.details.slice(0, 160)}`);
      const calls = agent.runner.since(mark);
      const dryRun = g.kind === 'message' && ((m.hasConfirm && g.request?.['confirm'] !== true) || (m.hasDryRun && g.request?.['dryRun'] === true));
      const failures = [...answerFailures(m, g, raw, o, c), ...argvFailures(calls, c), ...(dryRun ? dryRunCallFailures(calls, c) : [])];
      const tree = await treeFailures(agent, before, agentWriteAllowList[m.method.path] ?? [], dryRun, c);
      failures.push(...tree.failures);
      // The stride counts written configs only (it counted every request, so a 10,000-request run re-parsed none).
      const wroteConfig = sandboxName === 'plain' && g.request !== undefined && tree.changed.some((p) => p === '/etc/tgt/targets.conf' || p === '/etc/drbd.conf');
      if (wroteConfig && (recordAs === 'replay' || c.reparseCount++ % options.reparseStride === 0)) failures.push(...(await reparseFailures(agent, tree.changed, g.request, c)));
      failures.push(...takeCrashes(), ...takeUnhandledLogs());
      if (recordAs === 'replay') c.report.failures.push({ target: 'agent', method: m.method.path, kind: g.kind, sandbox: sandboxName, wireBase64: Buffer.from(g.bytes).toString('base64'), answer: `${raw.status} ${raw.details}`, failures });
      else await record(m, g, sandboxName, failures);
      if (tree.changed.length > 0) await agent.sandbox.reset();
    };

    const controllerRequest = async (ctl: FuzzController, m: MethodUnderTest, g: Generated, dryRun: boolean, recordAs?: 'replay') => {
      const before = await Promise.all(ctl.agents.map(async (a) => ({ root: await snapshotTree(a.sandbox.root), outside: await snapshotTree(a.sandbox.outside) })));
      const marks = ctl.agents.map((a) => a.runner.calls.length);
      const raw = await callRaw(ctl.client, m.method.path, m.method.responseStream, g.bytes, m.deadlineMs);
      report.requests++;
      if (raw.elapsedMs > 1_000) log(`fuzz: slow: ${m.method.path} took ${raw.elapsedMs} ms (${raw.status} ${raw.details.slice(0, 120)})`);
      const o = classify(raw.status, raw.details);
      countOutcome(c, m, o);
      if (process.env['XSCTL_FUZZ_TRACE'] === '1') log(`trace: ${m.method.path} ${g.kind} -> ${raw.status} ${raw.details.slice(0, 160)}`);
      const calls = ctl.agents.flatMap((a, i) => a.runner.since(marks[i] ?? 0));
      const failures = [...answerFailures(m, g, raw, o, c), ...argvFailures(calls, c), ...(dryRun ? dryRunCallFailures(calls, c) : [])];
      for (const [i, a] of ctl.agents.entries()) {
        const t = await treeFailures(a, before[i]!, anyAgentWrite, dryRun, c);
        failures.push(...t.failures);
        if (t.changed.length > 0) await a.sandbox.reset();
      }
      failures.push(...takeCrashes(), ...takeUnhandledLogs());
      if (recordAs === 'replay') c.report.failures.push({ target: 'controller', method: m.method.path, kind: g.kind, wireBase64: Buffer.from(g.bytes).toString('base64'), answer: `${raw.status} ${raw.details}`, failures });
      else await record(m, g, undefined, failures);
    };

    // ---- a replay of saved cases: each once, on the target and sandbox it failed on
    if (options.replay !== undefined) {
      for (const fcase of options.replay) {
        const m = all.find((x) => x.method.path === fcase.method);
        if (m === undefined) throw new Error(`fuzz case for an unknown method ${fcase.method}`);
        const g: Generated = { kind: fcase.kind, bytes: Buffer.from(fcase.wireBase64, 'base64') };
        // The request object, for the dry-run and re-parse oracles: decoded from the bytes sent.
        if (fcase.kind === 'message') g.request = m.method.requestType.decode(g.bytes) as Record<string, unknown>;
        if (fcase.target === 'agent') await agentRequest(m, g, fcase.sandbox ?? 'plain', 'replay');
        else if (controller !== undefined) await controllerRequest(controller, m, g, m.hasConfirm && g.request?.['confirm'] !== true, 'replay');
      }
      return report;
    }

    // ---- agent methods: one request at a time, alternately on the plain and the trapped sandbox
    for (const m of all.filter((x) => x.target === 'agent')) {
      const generated = generateFor(index, m, perMethod, options.seed, false);
      for (const [i, g] of generated.entries()) await agentRequest(m, g, i % 2 === 0 ? 'plain' : 'trapped');
      log(`fuzz: ${m.method.path}: ${generated.length} requests, ${report.failures.length} failing so far`);
    }

    // ---- controller methods: first every method with confirm forced off (nothing may change on
    // any host), then with confirm as generated.
    if (controller !== undefined) {
      for (const phase of ['dry-run', 'as-generated'] as const) {
        for (const m of all.filter((x) => x.target === 'controller')) {
          const generated = generateFor(index, m, Math.ceil(perMethod / 2), options.seed + (phase === 'dry-run' ? 0 : 1), phase === 'dry-run');
          for (const g of generated) await controllerRequest(controller, m, g, phase === 'dry-run' && m.hasConfirm && g.kind === 'message');
          log(`fuzz: ${m.method.path} (${phase}): ${generated.length} requests, ${report.failures.length} failing so far`);
        }
      }
    }
  } finally {
    await controller?.close().catch(() => undefined);
    for (const a of agents) {
      a.client.close();
      await a.server.shutdown(200).catch(() => undefined);
    }
    // Late rejections of the targets' shutdown count too.
    await new Promise((r) => setTimeout(r, 200));
    report.crashes += crashes.length;
    process.kill = realKill as typeof process.kill;
    report.signalsHeld = signalsHeld.length;
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  report.wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  return report;
}

/** The counters every campaign must keep at zero. */
export function failureCount(r: FuzzReport): number {
  return r.crashes + r.untypedErrors + r.invalidArgumentWithoutField + r.writesOutsideAllowList + r.argvViolations + r.dryRunViolations + r.reparseMismatches + r.deadlineOverruns;
}
