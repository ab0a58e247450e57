import type { Server } from 'nice-grpc';
import { ControllerServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { controllerService } from '../services/controller-service.js';
import type { ControllerContext } from './controller-context.js';
import type { Registration } from './registration.js';

/**
 * The one place services are added to the controller: one entry per service, with the methods
 * that change something (operator only). Everything else is readable by viewers.
 */
export function serviceRegistrations(ctx: ControllerContext): Registration[] {
  return [
    { definition: ControllerServiceDefinition, impl: controllerService(ctx), operatorMethods: ['reloadInventory'] },
  ];
}

export function registerServices(server: Server, registrations: readonly Registration[]): void {
  for (const r of registrations) server.add(r.definition, r.impl as never);
}
