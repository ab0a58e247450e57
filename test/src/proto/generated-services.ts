import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface GeneratedMethod {
  /** Key in the generated definition, e.g. `getFacts`. */
  key: string;
  /** gRPC path, e.g. `/xsctl.agent.v1.HostService/GetFacts`. */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { fromPartial(o: object): unknown; encode(m: unknown): { finish(): Uint8Array }; decode(input: Uint8Array): unknown };
}

export interface GeneratedService {
  fullName: string;
  definition: object;
  methods: GeneratedMethod[];
}

interface RawMethod {
  name: string;
  requestType: GeneratedMethod['requestType'];
  requestStream: boolean;
  responseStream: boolean;
}

/**
 * Every service definition ts-proto generated for a proto package (`agent` or `controller`), read
 * from the built `@xsctl/proto`, so tests that must cover every method (authorisation, the auth
 * matrix, deadlines) cannot miss one added later.
 */
export async function generatedServices(pkg: 'agent' | 'controller'): Promise<GeneratedService[]> {
  const protoRoot = dirname(createRequire(import.meta.url).resolve('@xsctl/proto/package.json'));
  const dir = join(protoRoot, 'dist', 'gen', 'xsctl', pkg, 'v1');
  const services: GeneratedService[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.js')).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (!exportName.endsWith('ServiceDefinition') || value === null || typeof value !== 'object') continue;
      const def = value as { fullName: string; methods: Record<string, RawMethod> };
      services.push({
        fullName: def.fullName,
        definition: def,
        methods: Object.entries(def.methods).map(([key, m]) => ({
          key,
          path: `/${def.fullName}/${m.name}`,
          requestStream: m.requestStream,
          responseStream: m.responseStream,
          requestType: m.requestType,
        })),
      });
    }
  }
  return services;
}
