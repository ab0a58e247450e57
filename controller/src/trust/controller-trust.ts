import { watchFile, unwatchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { parseRevocationList, RevocationStore } from '@xsctl/common/pki/index';

/**
 * The controller's revocation list: read from `tls.crl` (the CA's ca/crl.pem, or a copy of it),
 * re-read when the file changes, verified against the CA. It refuses revoked CLI certificates,
 * revoked agents at the handshake, and is handed to every agent (AgentConnection).
 */
export class ControllerTrust {
  readonly store = new RevocationStore();
  #watching = false;

  constructor(
    readonly ca: Buffer,
    readonly file: string | null,
    private readonly logger: Logger,
  ) {}

  /** Reads the file; a missing file is no list (yet), a bad or older one is logged and ignored. */
  async load(): Promise<void> {
    if (this.file === null) return;
    let pem: string;
    try {
      pem = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.error({ err, file: this.file }, 'cannot read the revocation list');
      return;
    }
    try {
      const list = await parseRevocationList(pem, this.ca);
      if (this.store.offer(list)) this.logger.info({ number: list.number, revoked: list.serials.size, nextUpdate: list.nextUpdate?.toISOString() }, 'revocation list loaded');
    } catch (err) {
      this.logger.error({ err, file: this.file }, 'ignoring a revocation list that does not verify or is older than the one held');
    }
  }

  /** Polls the file (works across atomic renames, unlike fs.watch on the old inode). */
  watch(intervalMs = 2_000): void {
    if (this.file === null || this.#watching) return;
    this.#watching = true;
    watchFile(this.file, { interval: intervalMs, persistent: false }, () => void this.load());
  }

  close(): void {
    if (this.file !== null && this.#watching) unwatchFile(this.file);
    this.#watching = false;
  }
}
