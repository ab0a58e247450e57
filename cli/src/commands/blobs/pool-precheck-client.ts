import type { Channel } from 'nice-grpc';
import { PoolPrecheckServiceDefinition, type PoolPrecheckServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { serviceClient } from '../../client/connect-controller.js';

/** Prechecks wait for every agent (each may walk a large blobs tree): allow minutes, not seconds. */
export function poolPrecheckClient(channel: Channel, deadlineMs = 300_000): PoolPrecheckServiceClient<DeadlineOptions> {
  return serviceClient(channel, PoolPrecheckServiceDefinition, deadlineMs);
}
