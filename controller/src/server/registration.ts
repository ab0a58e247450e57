import type { CompatServiceDefinition } from 'nice-grpc';
import type { MethodAccess } from '@xsctl/common/grpc/index';

export interface Registration {
  definition: CompatServiceDefinition;
  impl: object;
  /** Method keys of the generated definition (e.g. `show`) that change nothing: any CLI role may call them. */
  readMethods: readonly string[];
  /** Method keys (e.g. `apply`) that change something: operator only. */
  operatorMethods: readonly string[];
}

interface GenericDefinition {
  fullName: string;
  methods: Record<string, { name: string }>;
}

/** Thrown at startup when a service's methods are not each classified exactly once. */
export class UnclassifiedMethodError extends Error {
  constructor(readonly service: string, readonly method: string, reason: string) {
    super(`${service}.${method}: ${reason}`);
    this.name = 'UnclassifiedMethodError';
  }
}

/**
 * The authorisation table for the auth middleware: every method of every registered service,
 * read or write. A method that is in neither list (or in both, or not in the definition) stops
 * the controller from starting, and the middleware refuses any path missing here.
 */
export function methodAccess(registrations: readonly Registration[]): Map<string, MethodAccess> {
  const table = new Map<string, MethodAccess>();
  for (const r of registrations) {
    const def = r.definition as unknown as GenericDefinition;
    for (const key of [...r.readMethods, ...r.operatorMethods]) {
      if (def.methods[key] === undefined) throw new UnclassifiedMethodError(def.fullName, key, 'classified but not in the definition');
    }
    for (const [key, m] of Object.entries(def.methods)) {
      const read = r.readMethods.includes(key);
      const write = r.operatorMethods.includes(key);
      if (read && write) throw new UnclassifiedMethodError(def.fullName, key, 'listed as both read and operator');
      if (!read && !write) throw new UnclassifiedMethodError(def.fullName, key, 'not classified: add it to readMethods or operatorMethods');
      table.set(`/${def.fullName}/${m.name}`, write ? 'write' : 'read');
    }
  }
  return table;
}

/** Full gRPC paths of operator-only methods. */
export function operatorPaths(registrations: readonly Registration[]): Set<string> {
  return new Set([...methodAccess(registrations)].filter(([, a]) => a === 'write').map(([path]) => path));
}
