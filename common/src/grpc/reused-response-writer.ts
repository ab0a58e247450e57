import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** A response at least this large leaves its grown buffer behind: the next one gets a new writer. */
const maxKeptBytes = 64 * 1024;

/** The server's writer; `finish()` (nice-grpc calls it on every encoded response) resets it for the next. */
class ResponseWriter extends BinaryWriter {
  /** The last response grew the buffer past maxKeptBytes (a blob scan, a kernel-log excerpt). */
  oversized = false;

  override finish(): Uint8Array<ArrayBuffer> {
    const bytes = super.finish();
    if (bytes.length >= maxKeptBytes) this.oversized = true;
    return bytes;
  }
}

interface TsProtoMessageFns {
  encode(message: unknown, writer?: BinaryWriter): BinaryWriter;
}

interface TsProtoDefinition {
  name: string;
  fullName: string;
  methods: Record<string, { responseType: TsProtoMessageFns } & Record<string, unknown>>;
}

const isTsProtoDefinition = (d: unknown): d is TsProtoDefinition => d !== null && typeof d === 'object' && 'name' in d && 'fullName' in d && 'methods' in d;

/**
 * The definition with every response encoded into one writer, kept from response to response.
 * nice-grpc encodes a response as `encode(message).finish()`: each call made a new BinaryWriter,
 * whose buffer grows 128 -> 256 -> 512 bytes and a DataView for each, ~0.9 KB of garbage per
 * GetFacts (measured under Bun without its JIT, where every collection is a full one and the calls
 * that meet one are the agent's p99: bench/agent.mjs). The bytes are the same: the same generated
 * encoder writes them, into a buffer finish() copies out and rewinds. An encoder that throws
 * half-way leaves nothing behind for the next response; a response of 64 KiB or more does not
 * keep its buffer.
 */
export function reusedResponseWriter<D>(definition: D): D {
  if (!isTsProtoDefinition(definition)) return definition;
  let writer = new ResponseWriter();
  const methods: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const responseType = method.responseType;
    methods[key] = {
      ...method,
      responseType: {
        ...responseType,
        encode: (message: unknown, into?: BinaryWriter): BinaryWriter => {
          // A nested message (fork/join) or a caller with its own writer: as generated.
          if (into !== undefined) return responseType.encode(message, into);
          if (writer.oversized) writer = new ResponseWriter();
          try {
            return responseType.encode(message, writer);
          } catch (err) {
            writer.finish();
            throw err;
          }
        },
      },
    };
  }
  return { ...definition, methods } as D;
}

/** Every service added to `server` from now on encodes its responses with one writer (`reusedResponseWriter`). */
export function withReusedResponseWriter<S extends { add(definition: never, implementation: never): void }>(server: S): S {
  const add = server.add.bind(server) as (definition: unknown, implementation: unknown) => void;
  (server as unknown as { add: (definition: unknown, implementation: unknown) => void }).add = (definition, implementation) => add(reusedResponseWriter(definition), implementation);
  return server;
}
