import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildPoolFromDescription } from './build-pool-from-description.js';
import type { Clock } from './clock.js';
import { handleJsonRpc } from './jsonrpc-endpoint.js';
import { handlePoolXmlDbDump, poolXmlDbDumpPath } from './methods/precheck/index.js';
import { loadPoolDumpFile } from './load-pool-dump.js';
import { MethodRegistry, type Credentials, type ServerInfo } from './method-registry.js';
import { registerCoreMethods } from './methods/index.js';
import { readPoolDescriptionFile, type PoolDescription } from './pool-description.js';
import { TaskRunner } from './task-runner.js';
import type { XapiDb } from './xapi-db.js';
import type { DispatchEnv } from './dispatch.js';

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

/** Starts an XAPI JSON-RPC server over a simulated pool. */
export async function startXapiSimulator(options: StartXapiSimulatorOptions): Promise<XapiSimulator> {
  const db = await loadSimulatorDb(options.source, options.clock);
  const registry = registerCoreMethods(new MethodRegistry());
  options.methods?.(registry);
  const tasks = new TaskRunner(db);
  const closing = new AbortController();
  const credentials = options.credentials ?? DEFAULT_SIM_CREDENTIALS;

  const servers: Server[] = [];
  const listen = async (address: string, port: number, listenerHostRef: string | undefined): Promise<number> => {
    const server: ServerInfo = { credentials, registry, tasks, listenerHostRef };
    const env: DispatchEnv = { db, clock: db.clock, server, closing: closing.signal };
    const http = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (req.method === 'POST' && path === '/jsonrpc') {
        void handleJsonRpc(req, res, env);
        return;
      }
      if (path === poolXmlDbDumpPath) {
        handlePoolXmlDbDump(req, res, { db, credentials });
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    servers.push(http);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, address, () => {
        http.off('error', reject);
        resolve();
      });
    });
    return (http.address() as AddressInfo).port;
  };

  const host = options.host ?? '127.0.0.1';
  const hostUrls = new Map<string, string>();
  try {
    const port = await listen(host, options.port ?? 0, undefined);
    if (options.hostListeners === true) {
      for (const hostRef of db.refs('host')) {
        const address = db.getRecord('host', hostRef)['address'];
        if (typeof address !== 'string' || !address.startsWith('127.') || address === host) continue;
        await listen(address, port, hostRef);
        hostUrls.set(address, `http://${address}:${port}`);
      }
    }
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      db,
      registry,
      hostUrls,
      close: async () => {
        // Pending event.from calls answer (with no events) before connections are cut.
        closing.abort(new Error('simulator closed'));
        tasks.abortAll(new Error('simulator closed'));
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.all(servers.map(closeServer));
      },
    };
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    throw error;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
