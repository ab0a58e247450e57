import { EventEmitter } from 'node:events';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { XsctlError } from '@xsctl/common/errors/index';
import type { PoolConfig } from '../config/inventory.js';
import { XapiError, type XapiClient } from '../xapi/index.js';
import { applyEvents, emptyRecords, watchedClasses, type PoolRecords, type WatchedClass } from './pool-records.js';

export interface PoolWatchState {
  pool: string;
  connected: boolean;
  /** The last error while not connected ('' when connected). */
  error: string;
  /** When the last batch of events arrived. */
  updatedAt: string;
  records: PoolRecords;
}

export interface PoolWatcherOptions {
  pool: PoolConfig;
  open(signal: AbortSignal): Promise<XapiClient>;
  logger: Logger;
  /** event.from's server-side wait, seconds. */
  waitSeconds?: number;
  onConnected?(connected: boolean): void;
}

/**
 * Follows one pool through XAPI's event.from (read-only session): the first call with an empty
 * token returns every object of the watched classes, later calls what changed. Emits `change`
 * with the classes that changed. Reconnects with backoff when XAPI goes away (master reboot) and
 * starts over from an empty token when XAPI says the token is too old (EVENTS_LOST).
 */
export class PoolWatcher extends EventEmitter<{ change: [Set<WatchedClass>] }> {
  readonly #options: PoolWatcherOptions;
  readonly #stop = new AbortController();
  #state: PoolWatchState;
  #running: Promise<void> | undefined;

  constructor(options: PoolWatcherOptions) {
    super();
    this.#options = options;
    this.#state = { pool: options.pool.name, connected: false, error: 'not connected yet', updatedAt: '', records: emptyRecords() };
  }

  get state(): PoolWatchState {
    return this.#state;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      // A fresh backoff for every outage: a session that ran for days reconnects at once.
      await pRetry(() => this.#follow(), {
        forever: true,
        retries: 6,
        factor: 2,
        minTimeout: 1000,
        maxTimeout: 30_000,
        signal,
        onFailedAttempt: (err) => this.#disconnected(err),
      }).catch((err: unknown) => {
        if (!signal.aborted) this.#disconnected(err);
      });
    }
  }

  #disconnected(err: unknown): void {
    const message = err instanceof XsctlError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    this.#state = { ...this.#state, connected: false, error: message };
    this.#options.onConnected?.(false);
    this.emit('change', new Set(watchedClasses));
    this.#options.logger.debug({ pool: this.#options.pool.name, err: message }, 'pool watch interrupted');
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  /**
   * One session: follows events until an error; returns only when stopped. An error after the
   * session delivered its snapshot ends this backoff run (AbortError) so the next one starts fresh.
   */
  async #follow(): Promise<void> {
    const signal = this.#stop.signal;
    const xapi = await this.#options.open(signal);
    let delivered = false;
    try {
      let token = '';
      let records = emptyRecords();
      const wait = this.#options.waitSeconds ?? 30;
      while (!signal.aborted) {
        let batch;
        try {
          batch = await xapi.call('event.from', [[...watchedClasses], token, wait], { signal });
        } catch (err) {
          // The token fell out of XAPI's window: re-read everything on this same session.
          if (err instanceof XapiError && err.code === 'EVENTS_LOST') {
            token = '';
            records = emptyRecords();
            continue;
          }
          throw err;
        }
        const first = token === '';
        token = batch.token;
        const changed = applyEvents(records, batch.events);
        if (first) {
          // Swap in the full snapshot at once so a reconnect never shows a half-read pool.
          this.#state = { pool: this.#options.pool.name, connected: true, error: '', updatedAt: new Date().toISOString(), records };
          this.#options.onConnected?.(true);
          delivered = true;
          this.emit('change', new Set(watchedClasses));
        } else if (changed.size > 0) {
          this.#state = { ...this.#state, updatedAt: new Date().toISOString() };
          this.emit('change', changed);
        }
      }
    } catch (err) {
      if (delivered && err instanceof Error) throw new AbortError(err);
      throw err;
    } finally {
      await xapi.close();
    }
  }
}
