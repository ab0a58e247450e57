import type { Channel } from 'nice-grpc';
import { PoolMultipathServiceDefinition, type PoolMultipathServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/multipath';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { serviceClient } from '../../client/connect-controller.js';

/** A client for the controller's PoolMultipathService on the CLI's channel, with the same middleware as connect-controller. */
export function poolMultipathClient(channel: Channel, deadlineMs = 600_000): PoolMultipathServiceClient<DeadlineOptions> {
  return serviceClient(channel, PoolMultipathServiceDefinition, deadlineMs);
}
