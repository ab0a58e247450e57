import type { Server } from 'nice-grpc';
import { ControllerServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { controllerService } from '../services/controller-service.js';
import { PoolMultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/multipath';
import { poolMultipathService } from '../services/multipath/pool-multipath-service.js';
import { PoolScsiServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/scsi';
import { poolScsiService } from '../services/scsi/pool-scsi-service.js';
import { UpgradeServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import { upgradeService } from '../services/upgrade/upgrade-service.js';
import { PoolStorageServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { poolStorageService } from '../services/storage/pool-storage-service.js';
import { PoolPrecheckServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { poolPrecheckService } from '../services/precheck/pool-precheck-service.js';
import { DashboardServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/dashboard';
import { dashboardService } from '../services/dashboard/dashboard-service.js';
import { StorageFailoverServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/storage_failover';
import { storageFailoverService } from '../services/storage/storage-failover-service.js';
import { StorageSetupServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import { storageSetupService } from '../services/storage/storage-setup-service.js';
import { MultipathRolloutServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import { multipathRolloutService } from '../services/multipath/multipath-rollout-service.js';
import type { ControllerContext } from './controller-context.js';
import type { Registration } from './registration.js';

/**
 * The one place services are added to the controller: one entry per service, each method listed
 * once, as a read (any CLI role) or an operator method (changes something). Default deny: an
 * unlisted method stops the controller from starting (registration.ts).
 */
export function serviceRegistrations(ctx: ControllerContext): Registration[] {
  return [
    { definition: ControllerServiceDefinition, impl: controllerService(ctx), readMethods: ['listPools', 'listHosts', 'whoAmI'], operatorMethods: ['reloadInventory'] },
    { definition: PoolMultipathServiceDefinition, impl: poolMultipathService(ctx), readMethods: ['listProfiles', 'show', 'listMaps'], operatorMethods: ['apply', 'enableDaemon'] },
    { definition: PoolScsiServiceDefinition, impl: poolScsiService(ctx), readMethods: ['getAluaReport', 'inspect'], operatorMethods: [] },
    { definition: UpgradeServiceDefinition, impl: upgradeService(ctx), readMethods: ['plan', 'status', 'watch'], operatorMethods: ['startRollingUpgrade', 'pause', 'resume', 'abort'] },
    { definition: PoolStorageServiceDefinition, impl: poolStorageService(ctx), readMethods: ['getPoolStorageStatus', 'renderPoolDrbdConfig', 'showPoolTargets'], operatorMethods: ['promotePoolDrbd', 'demotePoolDrbd', 'resolvePoolDrbdSplitBrain', 'assertPoolStorageRole'] },
    { definition: StorageFailoverServiceDefinition, impl: storageFailoverService(ctx), readMethods: ['getWitnessStatus'], operatorMethods: ['switchover', 'failover'] },
    { definition: StorageSetupServiceDefinition, impl: storageSetupService(ctx), readMethods: ['plan', 'status'], operatorMethods: ['start'] },
    { definition: MultipathRolloutServiceDefinition, impl: multipathRolloutService(ctx), readMethods: ['plan', 'status'], operatorMethods: ['start'] },
    { definition: PoolPrecheckServiceDefinition, impl: poolPrecheckService(ctx), readMethods: ['run', 'scanBlobs'], operatorMethods: ['cleanBlobs', 'restoreBlobs', 'takeMetadataBackup'] },
    { definition: DashboardServiceDefinition, impl: dashboardService(ctx), readMethods: ['createLoginLink'], operatorMethods: [] },
  ];
}

export function registerServices(server: Server, registrations: readonly Registration[]): void {
  for (const r of registrations) server.add(r.definition, r.impl as never);
}
