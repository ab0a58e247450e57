/** The method table of a generated (ts-proto, nice-grpc) service definition. */
interface ServiceDefinitionLike {
  methods: Readonly<Record<string, { responseStream: boolean }>>;
}

type Handler = (request: unknown, context: unknown) => unknown;

/** A loader that runs once and is shared by its callers; a failed load is tried again by the next caller. */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    }));
}

/**
 * A service implementation whose code is loaded on its first call. A starting agent is asked for
 * GetFacts first; the DRBD, tgt, SCSI, multipath and precheck code (and the libraries it pulls
 * in) cost start time and resident memory on every dom0, while many hosts never call them
 * (bench/agent.mjs). The definition is registered at once, so a method is never UNIMPLEMENTED
 * while its code loads; a load that fails fails that call (INTERNAL, through the error
 * middleware) and the next call loads again.
 */
export function lazyImplementation<I>(definition: ServiceDefinitionLike, load: () => Promise<I>): I {
  const loaded = once(load);
  const handlerOf = async (name: string): Promise<{ impl: Record<string, Handler>; handler: Handler }> => {
    const impl = (await loaded()) as Record<string, Handler>;
    const handler = impl[name];
    if (handler === undefined) throw new Error(`lazily loaded service has no handler for ${name}`);
    return { impl, handler };
  };
  const out: Record<string, Handler> = {};
  for (const [name, method] of Object.entries(definition.methods)) {
    out[name] = method.responseStream
      ? async function* (request: unknown, context: unknown) {
          const { impl, handler } = await handlerOf(name);
          yield* handler.call(impl, request, context) as AsyncIterable<unknown>;
        }
      : async (request: unknown, context: unknown) => {
          const { impl, handler } = await handlerOf(name);
          return handler.call(impl, request, context);
        };
  }
  return out as I;
}
