import { setMaxListeners } from 'node:events';
import { XapiClient, type XapiTransport, type XapiTransportFactory } from '@xsctl/controller/xapi/index';
import { dispatch, type DispatchEnv } from '../xapi-sim/dispatch.js';
import { MethodRegistry, type Credentials } from '../xapi-sim/method-registry.js';
import { TaskRunner } from '../xapi-sim/task-runner.js';
import type { XapiDb } from '../xapi-sim/xapi-db.js';
import { XapiFailure } from '../xapi-sim/xapi-failure.js';
import { registerCoreMethods } from '../xapi-sim/methods/index.js';

/**
 * The simulator without HTTP, for tests, benchmarks and `--from-dump` rehearsals that run in one
 * process: the same dispatch (sessions, slave check, argument counts, tasks) plugged into the
 * controller's XapiClient as its transport. Callers get a real XapiClient, so the code under test
 * speaks to XAPI through the one typed adapter, as in production; only the wire is skipped.
 */
export interface InProcessSim {
  db: XapiDb;
  registry: MethodRegistry;
  tasks: TaskRunner;
  env: DispatchEnv;
  /** What XapiConnectOptions.transport takes. */
  transport: XapiTransportFactory;
  /** A new XapiClient on this simulator, as the controller opens one per workflow run. */
  connect(options?: { readOnly?: boolean }): Promise<XapiClient>;
  close(): void;
}

export const IN_PROCESS_URL = 'http://xapi.in-process.invalid';
const credentials: Credentials = { user: 'root', password: 'in-process' };

export function inProcessSim(db: XapiDb): InProcessSim {
  const registry = registerCoreMethods(new MethodRegistry());
  const tasks = new TaskRunner(db);
  const closing = new AbortController();
  // The in-process transport has no connections: every call in flight listens to the simulator's
  // lifetime (an event.from waiting for a change, a task). That is as many listeners as calls in
  // flight, each removed when its call ends (test/e2e/upgrade-listeners.test.ts counts them), not a
  // leak: a rolling upgrade migrating VMs on two hosts at once passed Node's limit of 10 and warned.
  setMaxListeners(0, closing.signal);
  const env: DispatchEnv = { db, clock: db.clock, server: { credentials, registry, tasks, listenerHostRef: undefined }, closing: closing.signal };
  const transport: XapiTransportFactory = (_url, auth) => new InProcessTransport(env, auth);
  return {
    db,
    registry,
    tasks,
    env,
    transport,
    connect: (options = {}) => XapiClient.connect({ url: IN_PROCESS_URL, user: credentials.user, password: credentials.password, transport, readOnly: options.readOnly === true }),
    close: () => {
      closing.abort(new Error('closed'));
      tasks.abortAll(new Error('closed'));
    },
  };
}

/** A closed simulator looks like a host that refuses connections. */
function refused(): Error {
  return Object.assign(new Error('in-process simulator closed'), { code: 'ECONNREFUSED' });
}

/** xen-api's client contract: login on connect, the session passed on every call, one re-login on SESSION_INVALID. */
class InProcessTransport implements XapiTransport {
  status: XapiTransport['status'] = 'disconnected';
  private session = '';

  constructor(
    private readonly env: DispatchEnv,
    private readonly auth: { user: string; password: string },
  ) {}

  async connect(): Promise<void> {
    if (this.env.closing.aborted) throw refused();
    this.status = 'connecting';
    try {
      this.session = String(await dispatch(this.env, 'session.login_with_password', [this.auth.user, this.auth.password], this.env.closing));
      this.status = 'connected';
    } catch (error) {
      this.status = 'disconnected';
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    const session = this.session;
    this.session = '';
    this.status = 'disconnected';
    if (session !== '' && !this.env.closing.aborted) await dispatch(this.env, 'session.logout', [session], this.env.closing).catch(() => undefined);
  }

  async call(method: string, ...args: unknown[]): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      if (this.env.closing.aborted) throw refused();
      try {
        return await dispatch(this.env, method, [this.session, ...args], this.env.closing);
      } catch (error) {
        if (error instanceof XapiFailure && error.code === 'SESSION_INVALID' && attempt === 0) {
          await this.connect();
          continue;
        }
        throw error;
      }
    }
  }
}
