import { createClientFactory, type Channel } from 'nice-grpc';
import { PoolStorageServiceDefinition, type PoolStorageServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { clientDeadlineMiddleware, clientErrorMiddleware, type DeadlineOptions } from '@xsctl/common/grpc/index';

/** A client for the controller's PoolStorageService on the CLI's channel, with the same middleware as connect-controller. */
export function poolStorageClient(channel: Channel, deadlineMs = 660_000): PoolStorageServiceClient<DeadlineOptions> {
  return createClientFactory().use(clientErrorMiddleware).use(clientDeadlineMiddleware(deadlineMs)).create(PoolStorageServiceDefinition, channel);
}
