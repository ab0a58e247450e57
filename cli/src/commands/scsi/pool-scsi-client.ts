import type { Channel } from 'nice-grpc';
import { PoolScsiServiceDefinition, type PoolScsiServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { serviceClient } from '../../client/connect-controller.js';

/** A client for the controller's PoolScsiService on the CLI's channel (reading every path of a pool takes a while). */
export function poolScsiClient(channel: Channel, deadlineMs = 600_000): PoolScsiServiceClient<DeadlineOptions> {
  return serviceClient(channel, PoolScsiServiceDefinition, deadlineMs);
}
