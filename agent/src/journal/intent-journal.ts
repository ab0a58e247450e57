import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageRole, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { writeFileAtomic } from '../fs/write-file-atomic.js';
import type { AgentContext } from '../server/agent-context.js';

/**
 * Intent records for crash recovery: before a side effect that must be confirmed (a config file
 * that is validated after it goes live, a multi-step storage role change), the agent writes what
 * it is about to do under `<stateDir>/intents/`, fsynced (a storage role's record is not: see
 * `durable` below); it removes the record when the
 * operation is confirmed or has finished. A record still there when the agent starts is an
 * operation a crash interrupted: recoverIntents (run before the server listens) undoes it.
 */
export const intentsDir = (ctx: Pick<AgentContext, 'root' | 'stateDir'>) => ctx.root.resolve(join(ctx.stateDir, 'intents'));

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface FileWriteIntent {
  kind: 'file-write';
  id: string;
  createdAt: string;
  /** Host path of the live file. */
  path: string;
  /** The old content is in `<id>.previous`, or there was no file. */
  previous: 'saved' | 'absent';
  writtenSha256: string;
  reason: string;
}

export interface StorageRoleIntent {
  kind: 'storage-role';
  id: string;
  createdAt: string;
  role: StorageRole;
  /** The spec without the CHAP secret (tear-down does not need it). */
  spec: StorageSpec;
  /** The step running (or about to run) when the record was last written. */
  step: string;
  /** Steps that changed something. */
  changed: string[];
}

export type Intent = FileWriteIntent | StorageRoleIntent;

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export interface IntentHandle<T extends Intent> {
  readonly intent: T;
  /** Rewrites the record (a storage role moving to its next step). */
  update(patch: Partial<T>): Promise<void>;
  /** The operation is confirmed or over: the record goes. */
  done(): Promise<void>;
}

/**
 * `durable: false` writes the record without fsync (still a temp file and a rename, confined):
 * it survives the agent's death, not the host's. Enough for a record of runtime state that a
 * host crash loses anyway (DRBD role, tgtd, floating IP: rule 9 re-asserts them after a boot),
 * and an fsync took seconds on a loaded lab host, inside a switchover's I/O gap.
 */
async function begin<T extends Intent>(ctx: Pick<AgentContext, 'root' | 'stateDir'>, intent: T, previous?: string, durable = true): Promise<IntentHandle<T>> {
  const dir = intentsDir(ctx);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${intent.id}.json`);
  const opts = { mode: 0o600, confineTo: ctx.root.root, stagingDir: join(dir, '.staging') };
  const write = async (text: string) => void (await writeFileAtomic(file, text, { ...opts, durable }));
  if (previous !== undefined) await writeFileAtomic(join(dir, `${intent.id}.previous`), previous, opts);
  let current = intent;
  await write(`${JSON.stringify(current)}\n`);
  return {
    get intent() {
      return current;
    },
    async update(patch) {
      current = { ...current, ...patch };
      await write(`${JSON.stringify(current)}\n`);
    },
    async done() {
      await unlink(file).catch(() => undefined);
      await unlink(join(dir, `${intent.id}.previous`)).catch(() => undefined);
      if (durable) await fsyncDir(dir);
    },
  };
}

const newId = () => `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`;

/** Before a live config is written: enough to put the old one back. */
export function beginFileWrite(ctx: Pick<AgentContext, 'root' | 'stateDir'>, hostPath: string, previous: string | null, next: string, reason: string): Promise<IntentHandle<FileWriteIntent>> {
  const intent: FileWriteIntent = { kind: 'file-write', id: newId(), createdAt: new Date().toISOString(), path: hostPath, previous: previous === null ? 'absent' : 'saved', writtenSha256: sha256(next), reason };
  return begin(ctx, intent, previous ?? undefined);
}

/**
 * Before the first step of a storage role change. `changed` starts non-empty for a change that
 * records no step (a switchover's handover phase): its interruption is always torn down.
 */
export function beginStorageRole(ctx: Pick<AgentContext, 'root' | 'stateDir'>, role: StorageRole, spec: StorageSpec, firstStep: string, options: { durable?: boolean; changed?: string[] } = {}): Promise<IntentHandle<StorageRoleIntent>> {
  const safe: StorageSpec = { ...spec, ...(spec.target === undefined ? {} : { target: { ...spec.target, incomingUser: undefined } }) };
  const intent: StorageRoleIntent = { kind: 'storage-role', id: newId(), createdAt: new Date().toISOString(), role, spec: safe, step: firstStep, changed: options.changed ?? [] };
  return begin(ctx, intent, undefined, options.durable ?? true);
}

export interface RecoveredIntent {
  intent: Intent;
  action: 'restored' | 'removed-new-file' | 'not-written' | 'changed-since' | 'torn-down' | 'nothing-changed' | 'failed';
  detail: string;
}

export interface RecoveryHooks {
  /** Tears a storage role down (the agent passes assertRole(SLAVE)); without it storage records are only reported. */
  tearDown?: (spec: StorageSpec) => Promise<string>;
}

async function recoverFileWrite(ctx: AgentContext, dir: string, i: FileWriteIntent): Promise<RecoveredIntent> {
  const live = ctx.root.resolve(i.path);
  const now = await readFile(live, 'utf8').catch(() => null);
  if (now === null || sha256(now) !== i.writtenSha256) {
    const previous = i.previous === 'saved' ? await readFile(join(dir, `${i.id}.previous`), 'utf8').catch(() => null) : null;
    const untouched = (i.previous === 'absent' && now === null) || (previous !== null && now === previous);
    return { intent: i, action: untouched ? 'not-written' : 'changed-since', detail: untouched ? 'the crash came before the write' : 'the file changed since; left as it is' };
  }
  if (i.previous === 'absent') {
    await unlink(live);
    return { intent: i, action: 'removed-new-file', detail: `${i.path} did not exist before; removed` };
  }
  const previous = await readFile(join(dir, `${i.id}.previous`), 'utf8');
  await writeFileAtomic(live, previous, { confineTo: ctx.root.root });
  return { intent: i, action: 'restored', detail: `${i.path} put back as it was before the interrupted write` };
}

async function recoverStorageRole(i: StorageRoleIntent, hooks: RecoveryHooks): Promise<RecoveredIntent> {
  // An idempotent re-assertion of master that had changed nothing left the node as it was.
  if (i.role === StorageRole.STORAGE_ROLE_MASTER && i.changed.length === 0) return { intent: i, action: 'nothing-changed', detail: `interrupted at ${i.step}; no step had changed anything` };
  if (hooks.tearDown === undefined) return { intent: i, action: 'failed', detail: 'no tear-down available' };
  return { intent: i, action: 'torn-down', detail: await hooks.tearDown(i.spec) };
}

/**
 * Undoes what a crash interrupted: a config written but never confirmed is put back (or removed
 * when it did not exist); a storage role change that had changed something is torn down to slave
 * (a half-made master must not stay, and a half-done tear-down is finished), a master assertion
 * that had changed nothing is only cleared. Every record is removed once handled.
 */
export async function recoverIntents(ctx: AgentContext, hooks: RecoveryHooks = {}): Promise<RecoveredIntent[]> {
  const dir = intentsDir(ctx);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  const out: RecoveredIntent[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => null);
    if (text !== null && /^\0*$/.test(text)) {
      // A storage record (written without fsync) whose rename reached the disk before its data,
      // and then the host went down: empty, or zeros (XFS). Only a host crash tears one, and the
      // runtime state it named went with the host (rule 9 re-asserts the role after the boot).
      ctx.logger.warn({ file: name }, 'empty intent record (a host crash before its data reached the disk) removed');
      await unlink(join(dir, name)).catch(() => undefined);
      continue;
    }
    let intent: Intent;
    try {
      intent = JSON.parse(text ?? '') as Intent;
    } catch {
      // Every record is written whole (a temp file and a rename) and is torn only empty: only a
      // foreign file gets here.
      ctx.logger.error({ file: name }, 'unreadable intent record left as it is');
      continue;
    }
    let r: RecoveredIntent;
    try {
      r = intent.kind === 'file-write' ? await recoverFileWrite(ctx, dir, intent) : await recoverStorageRole(intent, hooks);
    } catch (err) {
      r = { intent, action: 'failed', detail: err instanceof Error ? err.message : String(err) };
    }
    out.push(r);
    ctx.logger.error({ kind: intent.kind, id: intent.id, action: r.action, detail: r.detail }, 'recovered an operation a crash interrupted');
    if (r.action !== 'failed') {
      await unlink(join(dir, name)).catch(() => undefined);
      await unlink(join(dir, `${intent.id}.previous`)).catch(() => undefined);
    }
  }
  if (names.length > 0) await fsyncDir(dir);
  return out;
}
