import { createClientFactory, type Channel } from 'nice-grpc';
import { PoolScsiServiceDefinition, type PoolScsiServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import { clientDeadlineMiddleware, clientErrorMiddleware, type DeadlineOptions } from '@xsctl/common/grpc/index';

/** A client for the controller's PoolScsiService on the CLI's channel (reading every path of a pool takes a while). */
export function poolScsiClient(channel: Channel, deadlineMs = 600_000): PoolScsiServiceClient<DeadlineOptions> {
  return createClientFactory().use(clientErrorMiddleware).use(clientDeadlineMiddleware(deadlineMs)).create(PoolScsiServiceDefinition, channel);
}
