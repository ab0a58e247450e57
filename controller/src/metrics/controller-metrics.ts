import { X509Certificate } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets (seconds) for calls to agents and XAPI: a getter takes ms, an evacuation minutes. */
const callBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Step and workflow buckets (seconds): a step takes seconds, a host's reboot minutes, a pool hours. */
const stepBuckets = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
const workflowBuckets = [1, 10, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

/** A certificate the controller watches, with where it came from (for the label). */
export interface WatchedCertificate {
  /** ca, controller, agent, ... */
  role: string;
  name: string;
  pem: string | Buffer;
}

/**
 * The controller's one Prometheus registry. Everything the controller exports is declared here,
 * so names, labels and buckets are reviewed in one place; collectors that read state (journal
 * size, certificates) are registered by whoever owns that state through `onCollect`.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly #collectors: Array<() => void> = [];

  // Registered first: prom-client reads metrics in registration order, so state read at scrape
  // time (journal size, certificates) is up to date before the gauges holding it are read.
  readonly #hook = ((collectors: Array<() => void>) =>
    new Gauge({
      name: 'xsctl_controller_scrape_collectors',
      help: 'Collectors run at each scrape (journal size, certificates).',
      registers: [this.registry],
      collect() {
        for (const c of collectors) c();
        this.set(collectors.length);
      },
    }))(this.#collectors);

  readonly workflowDuration = new Histogram({
    name: 'xsctl_workflow_duration_seconds',
    help: 'Wall time of finished workflows, from creation to their final state.',
    labelNames: ['kind', 'state'] as const,
    buckets: workflowBuckets,
    registers: [this.registry],
  });

  readonly stepDuration = new Histogram({
    name: 'xsctl_workflow_step_duration_seconds',
    help: 'Wall time of workflow steps, from the recorded intent to the recorded outcome.',
    labelNames: ['kind', 'phase', 'status'] as const,
    buckets: stepBuckets,
    registers: [this.registry],
  });

  readonly agentCallDuration = new Histogram({
    name: 'xsctl_agent_call_duration_seconds',
    help: 'Latency of gRPC calls from the controller to agents (each attempt).',
    labelNames: ['method', 'host', 'outcome'] as const,
    buckets: callBuckets,
    registers: [this.registry],
  });

  readonly agentCallErrors = new Counter({
    name: 'xsctl_agent_call_errors_total',
    help: 'Failed gRPC calls from the controller to agents, by gRPC status name.',
    labelNames: ['method', 'host', 'status'] as const,
    registers: [this.registry],
  });

  readonly xapiCallDuration = new Histogram({
    name: 'xsctl_xapi_call_duration_seconds',
    help: 'Latency of XAPI calls (event.from includes its server-side wait).',
    labelNames: ['pool', 'method', 'outcome'] as const,
    buckets: callBuckets,
    registers: [this.registry],
  });

  readonly xapiCallErrors = new Counter({
    name: 'xsctl_xapi_call_errors_total',
    help: "Failed XAPI calls, by XAPI's error code (or XAPI_UNREACHABLE, XAPI_TIMEOUT).",
    labelNames: ['pool', 'method', 'code'] as const,
    registers: [this.registry],
  });

  readonly hostUp = new Gauge({
    name: 'xsctl_host_up',
    help: "1 when the host is up as seen by `view`: xapi (host_metrics.live) or agent (last call answered).",
    labelNames: ['pool', 'host', 'view'] as const,
    registers: [this.registry],
  });

  readonly certificateExpiry = new Gauge({
    name: 'xsctl_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the certificates the controller uses and sees (its own, the CA, each agent), as a Unix time.',
    labelNames: ['role', 'name'] as const,
    registers: [this.registry],
  });

  readonly callsLimited = new Counter({
    name: 'xsctl_calls_limited_total',
    help: 'Calls (gRPC and HTTPS) refused because their caller was over a per-identity limit: rate, concurrency or streams.',
    labelNames: ['role', 'limit'] as const,
    registers: [this.registry],
  });

  readonly revocationList = new Gauge({
    name: 'xsctl_revocation_list_number',
    help: 'cRLNumber of the revocation list the controller enforces and hands to the agents (0: none loaded).',
    registers: [this.registry],
  });

  readonly revocationListNextUpdate = new Gauge({
    name: 'xsctl_revocation_list_next_update_timestamp_seconds',
    help: 'When the revocation list should be re-signed (`xsctl pki crl`), as a Unix time.',
    registers: [this.registry],
  });

  readonly journalBytes = new Gauge({
    name: 'xsctl_journal_size_bytes',
    help: 'Size of the SQLite journal: database pages plus the write-ahead log.',
    registers: [this.registry],
  });

  readonly journalRows = new Gauge({
    name: 'xsctl_journal_rows',
    help: 'Rows in the journal by table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly poolWatch = new Gauge({
    name: 'xsctl_pool_watch_connected',
    help: '1 while the controller follows the pool through XAPI event.from.',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Process metrics (RSS, heap, event loop lag, fds) with the standard names.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'xsctl_controller_' });
    void this.#hook;
  }

  /** Runs `fn` before every scrape (cheap reads only: file sizes, counts). */
  onCollect(fn: () => void): void {
    this.#collectors.push(fn);
  }

  /** Records a certificate's notAfter; an unparsable PEM is skipped (the TLS layer reports it). */
  recordCertificate(cert: WatchedCertificate): Date | undefined {
    try {
      const notAfter = new Date(new X509Certificate(cert.pem).validTo);
      this.certificateExpiry.set({ role: cert.role, name: cert.name }, Math.floor(notAfter.getTime() / 1000));
      return notAfter;
    } catch {
      return undefined;
    }
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
