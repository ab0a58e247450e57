import { createClientFactory, type Channel, type Client, type CompatServiceDefinition } from 'nice-grpc';
import { ControllerServiceDefinition, type ControllerServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { clientDeadlineMiddleware, clientErrorMiddleware, mtlsChannel, type DeadlineOptions } from '@xsctl/common/grpc/index';
import { loadTlsMaterial } from '@xsctl/common/pki/index';
import { loadCliConfig, type GlobalFlags } from '../config/cli-config.js';

export interface ControllerConnection {
  address: string;
  controller: ControllerServiceClient<DeadlineOptions>;
  channel: Channel;
  close(): void;
}

/**
 * A client for any controller service on the CLI's channel: typed errors and a deadline on every
 * call (`limits` for methods that run longer, like workflow event streams).
 */
export function serviceClient<Service extends CompatServiceDefinition>(
  channel: Channel,
  definition: Service,
  deadlineMs: number,
  limits: Readonly<Record<string, number>> = {},
): Client<Service, DeadlineOptions> {
  // Last attached runs first (nice-grpc): a deadline that passes reaches the caller as RemoteError too.
  return createClientFactory().use(clientDeadlineMiddleware(deadlineMs, limits)).use(clientErrorMiddleware).create(definition, channel);
}

export async function connectController(flags: GlobalFlags): Promise<ControllerConnection> {
  const config = await loadCliConfig(flags);
  // The server must hold a controller certificate: an agent's (same CA) must not pass for it. It
  // must name --server-name, else the address's host (an IP address is checked, never sent as SNI).
  const channel = mtlsChannel(config.controller, await loadTlsMaterial(config.tls), { kind: 'controller', ...(config.serverName === undefined ? {} : { serverName: config.serverName }) });
  return {
    address: config.controller,
    controller: serviceClient(channel, ControllerServiceDefinition, 30_000),
    channel,
    close: () => channel.close(),
  };
}

/** Runs `fn` with a connection and always closes it. */
export async function withController<T>(flags: GlobalFlags, fn: (c: ControllerConnection) => Promise<T>): Promise<T> {
  const conn = await connectController(flags);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}
