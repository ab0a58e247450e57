import type { Channel } from 'nice-grpc';
import { UpgradeServiceDefinition, type UpgradeServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { serviceClient } from '../../client/connect-controller.js';

const week = 7 * 24 * 3600_000;

/** The controller's UpgradeService on the CLI's channel. Event streams last as long as the upgrade. */
export function upgradeClient(channel: Channel): UpgradeServiceClient<DeadlineOptions> {
  return serviceClient(channel, UpgradeServiceDefinition, 120_000, {
    '/xsctl.controller.v1.UpgradeService/StartRollingUpgrade': week,
    '/xsctl.controller.v1.UpgradeService/Watch': week,
    '/xsctl.controller.v1.UpgradeService/Plan': 600_000,
  });
}
