import type { Channel } from 'nice-grpc';
import { PoolStorageServiceDefinition, type PoolStorageServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { serviceClient } from '../../client/connect-controller.js';

/** A client for the controller's PoolStorageService on the CLI's channel, with the same middleware as connect-controller. */
export function poolStorageClient(channel: Channel, deadlineMs = 660_000): PoolStorageServiceClient<DeadlineOptions> {
  return serviceClient(channel, PoolStorageServiceDefinition, deadlineMs);
}
