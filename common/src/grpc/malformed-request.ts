import type { CallContext, ServerMiddlewareCall } from 'nice-grpc-common';
import { ValidationError } from '../errors/index.js';

/**
 * grpc-js answers a request whose bytes do not decode with INTERNAL "Error deserializing request",
 * straight from its base call: no middleware sees it, so the caller got no stable code and no
 * field (found by the fuzz campaign, issue 10 R4). Decoding is made to succeed with a marker
 * instead, and `malformedRequestMiddleware` (after authorisation) refuses the marker as
 * VALIDATION_FAILED on `request`.
 */
const malformed = Symbol('xsctl.malformedRequest');

interface Malformed {
  [malformed]: { type: string; reason: string };
}

interface TsProtoMethod {
  requestType: { decode(input: Uint8Array, length?: number): unknown };
}

interface TsProtoDefinition {
  name: string;
  fullName: string;
  methods: Record<string, TsProtoMethod & Record<string, unknown>>;
}

const isTsProtoDefinition = (d: unknown): d is TsProtoDefinition => d !== null && typeof d === 'object' && 'name' in d && 'fullName' in d && 'methods' in d;

/** The definition with each request decoder answering a marker instead of throwing. */
export function tolerantDecoding<D>(definition: D): D {
  if (!isTsProtoDefinition(definition)) return definition;
  const methods: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const requestType = method.requestType;
    const type = String((method as { name?: unknown }).name ?? key);
    methods[key] = {
      ...method,
      requestType: {
        ...requestType,
        decode: (input: Uint8Array, length?: number): unknown => {
          try {
            return requestType.decode(input, length);
          } catch (err) {
            const marker: Malformed = { [malformed]: { type, reason: err instanceof Error ? err.message : String(err) } };
            return marker;
          }
        },
      },
    };
  }
  return { ...definition, methods } as D;
}

/** Every service added to `server` from now on decodes tolerantly (see `tolerantDecoding`). */
export function withTolerantDecoding<S extends { add(definition: never, implementation: never): void }>(server: S): S {
  const add = server.add.bind(server) as (definition: unknown, implementation: unknown) => void;
  (server as unknown as { add: (definition: unknown, implementation: unknown) => void }).add = (definition, implementation) => add(tolerantDecoding(definition), implementation);
  return server;
}

/** Throws VALIDATION_FAILED on `request` when the request's bytes did not decode (the marker). */
export function refuseMalformedRequest(request: unknown): void {
  if (request !== null && typeof request === 'object' && malformed in request) {
    const m = (request as Malformed)[malformed];
    throw new ValidationError('request', `the bytes are not a valid ${m.type} request message (${m.reason})`);
  }
}

/** Refuses a request whose bytes did not decode, after the caller was authorised. */
export function malformedRequestMiddleware() {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    refuseMalformedRequest(call.request);
    return yield* call.next(call.request, context);
  };
}
