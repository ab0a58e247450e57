import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * The management path from the controller to one host's agent. The agents of the fleet run in the
 * test process (their commands run inside the host's namespace), so the controller reaches each
 * one through this relay on loopback; cutting the host's management link also cuts the relay.
 *
 * A cut behaves like a pulled cable, not like a refused port: connections in flight stop
 * carrying data (no FIN, no RST), and new ones are accepted but never answered, so the
 * controller's calls run into their deadlines, as they would over a dead link.
 */
export class ManagementRelay {
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket | null }>();
  #cut = false;
  #port = 0;

  private constructor(private targetPort: number) {
    this.#server = createServer((client) => this.#accept(client));
  }

  /**
   * `listen` puts the relay where the controller looks for the host's agent (the host's XAPI
   * address and the pool's agent port); default: any free port on 127.0.0.1.
   */
  static async start(targetPort: number, listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<ManagementRelay> {
    const relay = new ManagementRelay(targetPort);
    await new Promise<void>((resolve, reject) => {
      relay.#server.once('error', reject);
      relay.#server.listen(listen.port, listen.host, () => resolve());
    });
    const address = relay.#server.address();
    relay.#port = typeof address === 'object' && address !== null ? address.port : 0;
    return relay;
  }

  get port(): number {
    return this.#port;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  #accept(client: Socket): void {
    const pair: { client: Socket; upstream: Socket | null } = { client, upstream: null };
    this.#pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      this.#pairs.delete(pair);
    });
    if (this.#cut) {
      // Accepted, never answered: the TLS handshake times out on the caller's side.
      client.pause();
      return;
    }
    this.#connect(pair);
  }

  #connect(pair: { client: Socket; upstream: Socket | null }): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    pair.upstream = upstream;
    upstream.on('error', () => pair.client.destroy());
    upstream.on('close', () => pair.client.destroy());
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
  }

  /** The host's agent started again (a boot) on another port: new connections go there. */
  retarget(port: number): void {
    this.targetPort = port;
  }

  /** Pulls the cable: nothing passes any more in either direction. */
  cut(): void {
    this.#cut = true;
    for (const pair of this.#pairs) {
      pair.client.unpipe();
      pair.upstream?.unpipe();
      pair.client.pause();
      pair.upstream?.pause();
    }
  }

  /**
   * Plugs it back. Sessions that were open across the cut are closed (their TCP state would
   * have timed out on a real link long before): the caller reconnects.
   */
  restore(): void {
    this.#cut = false;
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
