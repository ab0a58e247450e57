import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buildPoolFromDescription } from './build-pool-from-description.js';
import type { Clock } from './clock.js';
import type { XapiRelease } from './datamodel.js';
import type { DispatchEnv } from './dispatch.js';
import { HOST_ASSUMED_DEAD_INTERVAL_MS, watchHostHeartbeats } from './host-heartbeat.js';
import { handleJsonRpc, send } from './jsonrpc-endpoint.js';
import { loadPoolDumpFile } from './load-pool-dump.js';
import { MethodRegistry, type Credentials, type ServerInfo } from './method-registry.js';
import { registerCoreMethods } from './methods/index.js';
import { handlePoolXmlDbDump, poolXmlDbDumpPath } from './methods/precheck/index.js';
import { readPoolDescriptionFile, type PoolDescription } from './pool-description.js';
import { currentProtocol, pinRelease } from './pool-release.js';
import { TaskRunner } from './task-runner.js';
import { onXapiStateChange, xapiState } from './xapi-process.js';
import type { ProtocolOffer } from './xapi-release.js';
import type { XapiDb } from './xapi-db.js';
import { handleXmlRpc } from './xmlrpc-endpoint.js';

export type SimulatorSource =
  | { dumpFile: string }
  | { descriptionFile: string }
  | { description: PoolDescription }
  | { db: XapiDb };

export interface StartXapiSimulatorOptions {
  source: SimulatorSource;
  /** Address of the main listener, which always answers as the pool master. Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  credentials?: Credentials;
  /** Used when the source is a file or description; a given `db` keeps its own clock. */
  clock?: Clock;
  /**
   * Also listen on every host's own address (loopback addresses only) on the same port. A call
   * there on a host that is not the master fails with HOST_IS_SLAVE naming the master's address,
   * as a real slave does.
   */
  hostListeners?: boolean;
  /** Adds or replaces methods before the first request. */
  methods?: (registry: MethodRegistry) => void;
  /**
   * The xapi release to answer as, whatever the master's software_version says (which decides
   * otherwise, see pool-release.ts), and optionally the wire protocols to offer.
   */
  release?: XapiRelease;
  protocol?: ProtocolOffer;
  /**
   * How long a host whose xapi went down without a clean shutdown stays host_metrics.live, on the
   * pool's clock (xapi's host_assumed_dead_interval). Default HOST_ASSUMED_DEAD_INTERVAL_MS, 600 s.
   */
  hostAssumedDeadIntervalMs?: number;
}

export interface XapiSimulator {
  /** `http://<host>:<port>` of the main listener. */
  readonly url: string;
  readonly port: number;
  readonly db: XapiDb;
  readonly registry: MethodRegistry;
  /** host address -> URL, for each host listener opened. */
  readonly hostUrls: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

/** Credentials the simulator accepts unless told otherwise. Test-only; never a real pool's. */
export const DEFAULT_SIM_CREDENTIALS: Credentials = { user: 'root', password: 'xsctl-sim' };

export async function loadSimulatorDb(source: SimulatorSource, clock?: Clock): Promise<XapiDb> {
  if ('db' in source) return source.db;
  if ('dumpFile' in source) return loadPoolDumpFile(source.dumpFile, { clock });
  if ('descriptionFile' in source) return buildPoolFromDescription(await readPoolDescriptionFile(source.descriptionFile), { clock });
  return buildPoolFromDescription(source.description, { clock });
}

/**
 * One address the simulator serves, as one host's xapi: closed while that xapi is down (a
 * reboot), so connecting is refused and open connections are cut, and opened again on the same
 * port when it starts.
 */
class Listener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly address: string,
    private readonly env: DispatchEnv,
  ) {}

  async open(port: number): Promise<number> {
    if (this.server !== undefined) return this.port;
    const server = createServer((req, res) => this.route(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Stops listening and cuts every connection, as a host going down does. */
  async shut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  get isOpen(): boolean {
    return this.server !== undefined;
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === poolXmlDbDumpPath) {
      handlePoolXmlDbDump(req, res, { db: this.env.db, credentials: this.env.server.credentials });
      return;
    }
    if (req.method === 'OPTIONS') {
      send(res, 200, 'text/plain', '');
      return;
    }
    if (req.method !== 'POST') {
      send(res, 404, 'text/html', '<html><body><h1>HTTP 404 not found</h1>The requested resource could not be found.</body></html>');
      return;
    }
    // Http_svr picks the handler whose URI is the longest prefix of the path: /jsonrpc where the
    // release has it, "/" (XML-RPC) for everything else, /RPC2 and /xmlrpc included.
    if (path.startsWith('/jsonrpc') && currentProtocol(this.env.db) !== 'xmlrpc') {
      void handleJsonRpc(req, res, this.env);
      return;
    }
    void handleXmlRpc(req, res, this.env);
  }
}

/** Starts a simulated pool master serving XML-RPC at / and JSON-RPC at /jsonrpc as its release does. */
export async function startXapiSimulator(options: StartXapiSimulatorOptions): Promise<XapiSimulator> {
  const db = await loadSimulatorDb(options.source, options.clock);
  if (options.release !== undefined || options.protocol !== undefined) pinRelease(db, options.release, options.protocol);
  const registry = registerCoreMethods(new MethodRegistry());
  options.methods?.(registry);
  const tasks = new TaskRunner(db);
  const closing = new AbortController();
  const credentials = options.credentials ?? DEFAULT_SIM_CREDENTIALS;
  const envFor = (listenerHostRef: string | undefined): DispatchEnv => {
    const server: ServerInfo = { credentials, registry, tasks, listenerHostRef };
    return { db, clock: db.clock, server, closing: closing.signal };
  };

  const host = options.host ?? '127.0.0.1';
  const main = new Listener(host, envFor(undefined));
  /** Host listeners by host ref. */
  const byHost = new Map<string, Listener>();
  const hostUrls = new Map<string, string>();
  let closed = false;

  // A host whose xapi stops takes its sockets down with it; the main listener is the master's.
  const unwatchHeartbeats = watchHostHeartbeats(db, options.hostAssumedDeadIntervalMs ?? HOST_ASSUMED_DEAD_INTERVAL_MS, closing.signal);
  const unsubscribe = onXapiStateChange(db, (hostRef, state) => {
    if (closed) return;
    const targets = [byHost.get(hostRef), hostRef === db.masterRef() ? main : undefined].filter((l): l is Listener => l !== undefined);
    for (const listener of targets) {
      if (state === 'down') void listener.shut();
      else void listener.open(listener.port).catch(() => undefined);
    }
  });

  try {
    const port = await main.open(options.port ?? 0);
    if (options.hostListeners === true) {
      for (const hostRef of db.refs('host')) {
        const address = db.getRecord('host', hostRef)['address'];
        if (typeof address !== 'string' || !address.startsWith('127.') || address === host) continue;
        const listener = new Listener(address, envFor(hostRef));
        await listener.open(port);
        byHost.set(hostRef, listener);
        hostUrls.set(address, `http://${address}:${port}`);
      }
    }
    if (xapiState(db, db.masterRef()) === 'down') await main.shut();
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      db,
      registry,
      hostUrls,
      close: async () => {
        closed = true;
        unsubscribe();
        unwatchHeartbeats();
        // Pending event.from calls answer (with no events) before connections are cut.
        closing.abort(new Error('simulator closed'));
        tasks.abortAll(new Error('simulator closed'));
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.all([main, ...byHost.values()].map((l) => l.shut()));
      },
    };
  } catch (error) {
    closed = true;
    unsubscribe();
    unwatchHeartbeats();
    await Promise.all([main, ...byHost.values()].map((l) => l.shut()));
    throw error;
  }
}
