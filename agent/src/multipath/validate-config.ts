import { randomBytes } from 'node:crypto';
import { access, constants, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ValidationError } from '@xsctl/common/errors/index';
import { CommandNotFoundError } from '../exec/command-errors.js';
import type { CommandRunner } from '../exec/command-runner.js';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { namespaceHelperArgv } from './namespace/helper-command.js';
import { confDirPath, listConfDir, mainConfPath } from './read-config.js';

/**
 * `multipath -t` exits 0 even when it rejects half the file: the verdict is on stderr
 * ("line 9, invalid keyword: prio_callout", "missing '}'", "ignoring deprecated option").
 * A file passes when it adds no stderr line the previous file did not print.
 */
export interface MultipathTResult {
  issues: string[];
  mode: 'direct' | 'namespace';
}

const timestamp = /^\s*(?:[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d|\d+\.\d+|\d{4}-\d\d-\d\d[T ][\d:.]+)\s*\|\s*/;

/** stderr lines without timestamps; empty lines dropped. */
export function multipathTIssues(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.replace(timestamp, '').trim())
    .filter((l) => l !== '');
}

/** Line numbers move when a stanza is inserted, so issues are compared without them. */
export function normalizeIssue(issue: string): string {
  return issue.replace(/\bline \d+/g, 'line N').replace(/\+\d+\b/g, '+N');
}

/** Issues of `after` that `before` did not have (as a multiset, line numbers ignored). */
export function newIssues(before: readonly string[], after: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const b of before) counts.set(normalizeIssue(b), (counts.get(normalizeIssue(b)) ?? 0) + 1);
  const out: string[] = [];
  for (const a of after) {
    const k = normalizeIssue(a);
    const c = counts.get(k) ?? 0;
    if (c > 0) counts.set(k, c - 1);
    else out.push(a);
  }
  return out;
}

/**
 * The fixed program that bind-mounts a sandbox's files over /etc inside a private mount namespace
 * and runs `multipath -t`: the compiled helper file in a dev tree, the agent itself when packaged.
 */
export { namespaceHelper } from './namespace/helper-command.js';

const safePath = /^\/[A-Za-z0-9_.+/-]+$/;

export interface ValidateContext {
  root: SandboxRoot;
  runner: CommandRunner;
  /** Host path (under the root) for scratch dirs the namespace helper needs. */
  stateDir: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A file about to be written, validated before it goes live. */
export interface Candidate {
  /** Host path: /etc/multipath.conf or /etc/multipath/conf.d/NAME. */
  path: string;
  content: string;
}

const present = async (p: string) =>
  access(p, constants.F_OK).then(
    () => true,
    () => false,
  );

/**
 * The files `multipath -t` reads, as the helper binds them over /etc: the root's multipath.conf
 * and conf.d, or, with a candidate, copies in a scratch directory where the candidate replaces
 * (or joins) the live file. Scratch names hold no ".conf" (multipath reads any such name in conf.d).
 */
async function stageFiles(ctx: ValidateContext, candidate: Candidate | undefined): Promise<{ conf: string; confd: string; scratch: string }> {
  let conf = ctx.root.resolve(mainConfPath);
  let confd = ctx.root.resolve(confDirPath);
  const scratchBase = ctx.root.resolve(`${ctx.stateDir}/multipath-t`);
  await mkdir(scratchBase, { recursive: true, mode: 0o700 });
  if (candidate !== undefined) {
    const stage = join(scratchBase, `candidate-${randomBytes(4).toString('hex')}`);
    await mkdir(join(stage, 'conf_d'), { recursive: true, mode: 0o700 });
    const stagedConf = join(stage, 'multipath_conf');
    if (candidate.path === mainConfPath) await writeFile(stagedConf, candidate.content);
    else if (await present(conf)) await copyFile(conf, stagedConf);
    else await writeFile(stagedConf, '');
    for (const name of await listConfDir(ctx.root)) {
      if (`${confDirPath}/${name}` !== candidate.path) await copyFile(join(confd, name), join(stage, 'conf_d', name));
    }
    if (candidate.path !== mainConfPath) await writeFile(join(stage, 'conf_d', candidate.path.slice(confDirPath.length + 1)), candidate.content);
    conf = stagedConf;
    confd = join(stage, 'conf_d');
  }
  if (!(await present(conf))) {
    conf = join(scratchBase, 'empty-multipath_conf');
    await writeFile(conf, '');
  }
  if (!(await present(confd))) {
    confd = join(scratchBase, 'empty-conf_d');
    await mkdir(confd, { recursive: true });
  }
  const scratch = join(scratchBase, 'overlay');
  await mkdir(scratch, { recursive: true });
  return { conf, confd, scratch };
}

/**
 * Runs `multipath -t` on the files under the root: directly when the root is `/` and there is no
 * candidate, else in a private mount namespace with the (staged) multipath.conf and conf.d bound
 * over /etc, so a candidate is checked before it becomes live and the host's /etc never changes.
 */
export async function runMultipathT(ctx: ValidateContext, candidate?: Candidate): Promise<MultipathTResult> {
  const opts = { okExitCodes: [1], timeoutMs: ctx.timeoutMs ?? 30_000, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) };
  if (ctx.root.root === '/' && candidate === undefined) {
    const r = await ctx.runner.run('multipath', ['-t'], opts);
    return { issues: multipathTIssues(r.stderr), mode: 'direct' };
  }
  const { conf, confd, scratch } = await stageFiles(ctx, candidate);
  try {
    for (const p of [conf, confd, scratch]) if (!safePath.test(p)) throw new ValidationError('root', `path ${p} has characters the mount helper does not take`);
    const helper = namespaceHelperArgv();
    for (const p of helper.slice(0, 2)) if (p.startsWith('/') && !safePath.test(p)) throw new ValidationError('root', `program path ${p} has characters the agent does not run`);
    if (!(await present(helper[0] ?? ''))) throw new CommandNotFoundError(helper[0] ?? 'multipath-t-in-namespace');
    // No --propagation: a dom0's unshare (util-linux 2.23) has none; the helper makes its mounts private.
    const r = await ctx.runner.run('unshare', ['--mount', '--', ...helper, conf, confd, scratch], opts);
    return { issues: multipathTIssues(r.stderr), mode: 'namespace' };
  } finally {
    if (candidate !== undefined) await rm(dirname(conf), { recursive: true, force: true });
  }
}
