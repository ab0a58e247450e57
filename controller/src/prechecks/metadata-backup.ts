import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';
import { xapiHttpRequest, type XapiTransportPolicy } from '../xapi/index.js';

/**
 * A pool metadata backup, taken the way `xe pool-dump-database` takes it: GET /pool/xmldbdump on
 * the master (XAPI's pull_database_backup_handler), which streams the whole pool database as the
 * XML that `xe pool-restore-database` reads back. XAPI's HTTP handlers accept a session_id, or
 * HTTP Basic credentials for which they open (and close) a session themselves; Basic is used here
 * so no session id leaves the XAPI adapter. The dump holds the pool's secrets: files are 0600 in
 * a 0700 directory beside the controller's journal.
 */

export const xmlDbDumpPath = '/pool/xmldbdump';

export class MetadataBackupError extends XsctlError {
  readonly code = 'METADATA_BACKUP_FAILED';

  constructor(
    readonly pool: string,
    reason: string,
    options?: XsctlErrorOptions,
  ) {
    super(`metadata backup of pool ${pool} failed: ${reason}`, options);
  }
}

/**
 * The dump is bigger than the configured cap (`metadataBackup.maxMiB`): the download was stopped
 * and the partial file deleted. A pool database is a few MiB even for large pools; an endless or
 * huge body (a wrong URL, a proxy, a hostile host) must not fill the controller's disk.
 */
export class MetadataBackupTooLargeError extends XsctlError {
  readonly code = 'METADATA_BACKUP_TOO_LARGE';

  constructor(
    readonly pool: string,
    readonly maxBytes: number,
    options?: XsctlErrorOptions,
  ) {
    super(`metadata backup of pool ${pool} stopped: the dump exceeds ${maxBytes} bytes (controller config metadataBackup.maxMiB)`, options);
  }
}

/** Default cap on one dump: generous, pool databases are a few MiB. */
export const defaultMetadataBackupMaxBytes = 512 * 1024 * 1024;

/** The dump is fetched with the password (HTTP Basic), under the pool's XAPI transport policy. */
export interface DumpSource extends XapiTransportPolicy {
  /** The master's origin, e.g. https://10.0.0.5 (XapiClient.url after it found the master). */
  url: string;
  user: string;
  password: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Stop and delete the partial file past this many bytes (default defaultMetadataBackupMaxBytes). */
  maxBytes?: number;
}

export interface TakenBackup {
  file: string;
  bytes: number;
  takenAt: Date;
  sha256: string;
}

/** Directory for one pool's dumps. */
export function backupDir(journalPath: string, pool: string): string {
  return join(dirname(journalPath), 'metadata-backups', pool);
}

const stampOf = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const fileRe = /^pool-(\d{8}T\d{6}Z)\.xml$/;

function get(source: DumpSource, pool: string): Promise<IncomingMessage> {
  const url = new URL(xmlDbDumpPath, source.url);
  const auth = `Basic ${Buffer.from(`${source.user}:${source.password}`).toString('base64')}`;
  const options = {
    method: 'GET',
    headers: { authorization: auth, accept: '*/*' },
    timeout: source.timeoutMs ?? 120_000,
    ...(source.signal === undefined ? {} : { signal: source.signal }),
  };
  return new Promise((resolve, reject) => {
    const req = xapiHttpRequest(url, source, options, resolve);
    req.on('timeout', () => req.destroy(new MetadataBackupError(pool, `no answer from ${url.origin} in time`)));
    req.on('error', (err) => reject(err instanceof MetadataBackupError ? err : new MetadataBackupError(pool, `${url.origin}${xmlDbDumpPath}: ${err.message}`, { cause: err })));
    req.end();
  });
}

/** Downloads the pool database and stores it atomically; checks it is a complete dump. */
export async function takeMetadataBackup(source: DumpSource, pool: string, dir: string, now = new Date()): Promise<TakenBackup> {
  const res = await get(source, pool);
  if (res.statusCode !== 200) {
    res.resume();
    throw new MetadataBackupError(pool, `${xmlDbDumpPath} answered HTTP ${res.statusCode ?? '?'}${res.statusCode === 401 ? ' (credentials refused)' : res.statusCode === 403 ? ' (the account may not dump the database)' : ''}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `pool-${stampOf(now)}.xml`);
  const tmp = join(dir, `.pool-${stampOf(now)}.${randomBytes(3).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  let bytes = 0;
  let head = '';
  let tail = '';
  const maxBytes = source.maxBytes ?? defaultMetadataBackupMaxBytes;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes > maxBytes) throw new MetadataBackupTooLargeError(pool, maxBytes);
      if (head.length < 256) head += chunk.toString('utf8', 0, Math.min(chunk.length, 256));
      tail = (tail + chunk.toString('utf8', Math.max(0, chunk.length - 64))).slice(-64);
      await fh.write(chunk);
    }
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    if (err instanceof MetadataBackupTooLargeError) {
      res.destroy();
      throw err;
    }
    throw new MetadataBackupError(pool, 'the download broke off', { cause: err });
  }
  await fh.close();
  // A truncated dump restores nothing: it must be one whole <database> document.
  if (!/^\s*(<\?xml[^>]*>\s*)?<database>/.test(head) || !/<\/database>\s*$/.test(tail)) {
    await unlink(tmp).catch(() => undefined);
    throw new MetadataBackupError(pool, `${xmlDbDumpPath} did not return a complete pool database (${bytes} bytes)`);
  }
  await rename(tmp, file);
  return { file, bytes, takenAt: now, sha256: hash.digest('hex') };
}

/** The newest dump in `dir`, by the time in its name. */
export async function latestMetadataBackup(dir: string): Promise<{ file: string; takenAt: Date } | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const newest = names.filter((n) => fileRe.test(n)).sort().at(-1);
  if (newest === undefined) return undefined;
  const m = fileRe.exec(newest)!;
  const iso = (m[1] ?? '').replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
  const takenAt = new Date(iso);
  const file = join(dir, newest);
  return { file, takenAt: Number.isNaN(takenAt.getTime()) ? (await stat(file)).mtime : takenAt };
}
