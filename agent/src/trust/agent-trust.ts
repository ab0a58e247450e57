import type { Logger } from 'pino';
import { parseRevocationList, RevocationStore, type RevocationList } from '@xsctl/common/tls-trust/index';
import { readOptionalFile } from '../fs/read-optional-file.js';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { writeFileAtomic } from '../fs/write-file-atomic.js';

/** What the agent trusts: its CA, and the revocation list it enforces against callers. */
export interface AgentTrust {
  ca: Buffer;
  store: RevocationStore;
  /** Where the list the controller sent is kept (host path resolved under the root). */
  file: string;
  /** Verifies, installs if newer, persists atomically. Returns whether it installed. */
  install(pem: string, signal?: AbortSignal): Promise<{ list: RevocationList; installed: boolean }>;
}

export const trustDirOf = (stateDir: string): string => `${stateDir}/trust`;

/**
 * Loads the newest valid list among the one persisted in the state dir (sent by a controller) and
 * an optional file from the config (installed with the agent). A damaged or foreign file is
 * logged and ignored: the agent still starts, and the next push from the controller fixes it.
 */
export async function loadAgentTrust(options: { root: SandboxRoot; stateDir: string; ca: Buffer; crlFile?: string; logger: Logger }): Promise<AgentTrust> {
  const file = options.root.resolve(`${trustDirOf(options.stateDir)}/crl.pem`);
  const store = new RevocationStore();
  for (const path of [file, ...(options.crlFile === undefined ? [] : [options.crlFile])]) {
    const pem = await readOptionalFile(path);
    if (pem === null) continue;
    try {
      const list = await parseRevocationList(pem, options.ca);
      if (list.number > (store.current?.number ?? 0)) store.offer(list);
    } catch (err) {
      options.logger.error({ err, file: path }, 'ignoring a revocation list that does not verify');
    }
  }
  if (store.current !== null) options.logger.info({ number: store.current.number, revoked: store.current.serials.size }, 'revocation list loaded');

  const trust: AgentTrust = {
    ca: options.ca,
    store,
    file,
    async install(pem, signal) {
      const list = await parseRevocationList(pem, options.ca);
      // offer() refuses an older list before anything is written.
      const newer = list.number > (store.current?.number ?? 0);
      if (newer) {
        await writeFileAtomic(file, list.pem, { mode: 0o644, backupDir: options.root.resolve(`${trustDirOf(options.stateDir)}/backup`), ...(signal === undefined ? {} : { signal }) });
      }
      const installed = store.offer(list);
      if (installed) options.logger.info({ number: list.number, revoked: list.serials.size }, 'revocation list installed');
      return { list: store.current ?? list, installed };
    },
  };
  return trust;
}
