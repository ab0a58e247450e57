import type { CompatServiceDefinition } from 'nice-grpc';

export interface Registration {
  definition: CompatServiceDefinition;
  impl: object;
  /** Method keys of the generated definition (e.g. `apply`) that need the operator role. */
  operatorMethods: readonly string[];
}

interface GenericDefinition {
  fullName: string;
  methods: Record<string, { name: string }>;
}

/** Full gRPC paths of operator-only methods, for the auth middleware. */
export function operatorPaths(registrations: readonly Registration[]): Set<string> {
  const paths = new Set<string>();
  for (const r of registrations) {
    const def = r.definition as unknown as GenericDefinition;
    for (const key of r.operatorMethods) {
      const m = def.methods[key];
      if (m === undefined) throw new Error(`operator method ${key} is not in ${def.fullName}`);
      paths.add(`/${def.fullName}/${m.name}`);
    }
  }
  return paths;
}
