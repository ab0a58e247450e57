import type { Server } from 'nice-grpc';
import { ControllerServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { controllerService } from '../services/controller-service.js';
import { PoolMultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/multipath';
import { poolMultipathService } from '../services/multipath/pool-multipath-service.js';
import { PoolScsiServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import { poolScsiService } from '../services/scsi/pool-scsi-service.js';
import { UpgradeServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import { upgradeService } from '../services/upgrade/upgrade-service.js';
import type { ControllerContext } from './controller-context.js';
import type { Registration } from './registration.js';

/**
 * The one place services are added to the controller: one entry per service, with the methods
 * that change something (operator only). Everything else is readable by viewers.
 */
export function serviceRegistrations(ctx: ControllerContext): Registration[] {
  return [
    { definition: ControllerServiceDefinition, impl: controllerService(ctx), operatorMethods: ['reloadInventory'] },
    { definition: PoolMultipathServiceDefinition, impl: poolMultipathService(ctx), operatorMethods: ['apply', 'enableDaemon'] },
    { definition: PoolScsiServiceDefinition, impl: poolScsiService(ctx), operatorMethods: [] },
    { definition: UpgradeServiceDefinition, impl: upgradeService(ctx), operatorMethods: ['startRollingUpgrade', 'pause', 'resume', 'abort'] },
  ];
}

export function registerServices(server: Server, registrations: readonly Registration[]): void {
  for (const r of registrations) server.add(r.definition, r.impl as never);
}
