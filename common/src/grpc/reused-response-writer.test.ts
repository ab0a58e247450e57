import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GetFactsResponse, HostServiceDefinition, PoolRole, type HostFacts } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { reusedResponseWriter } from './reused-response-writer.js';

const { encode } = reusedResponseWriter(HostServiceDefinition).methods.getFacts.responseType;
/** The bytes as nice-grpc sends them: `encode(message).finish()`. */
const sent = (message: GetFactsResponse): Uint8Array => encode(message).finish();
const generated = (message: GetFactsResponse): Uint8Array => GetFactsResponse.encode(message).finish();

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ minLength: 120, maxLength: 400 }));
const facts: fc.Arbitrary<HostFacts> = fc.record({
  hostname: text,
  productBrand: text,
  productVersion: text,
  buildNumber: text,
  installationUuid: fc.uuid(),
  controlDomainUuid: fc.uuid(),
  poolRole: fc.constantFrom(PoolRole.POOL_ROLE_UNSPECIFIED, PoolRole.POOL_ROLE_MASTER, PoolRole.POOL_ROLE_SLAVE),
  masterAddress: text,
  uptimeSeconds: fc.double({ noNaN: true }),
  agentVersion: text,
  root: text,
});
const small: HostFacts = { hostname: 'xs1', productBrand: 'XCP-ng', productVersion: '8.2.1', buildNumber: 'release/yangtze/master/58', installationUuid: 'b1c2', controlDomainUuid: 'd3e4', poolRole: PoolRole.POOL_ROLE_MASTER, masterAddress: '', uptimeSeconds: 1234.5, agentVersion: '0.1.0', root: '/' };

describe('reusedResponseWriter', () => {
  it('sends the bytes the generated encoder makes, response after response of any size (non-ASCII, length prefixes past one byte)', () => {
    fc.assert(
      fc.property(fc.array(facts, { minLength: 1, maxLength: 8 }), (all) => {
        for (const f of all) expect(sent({ facts: f })).toEqual(generated({ facts: f }));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps one writer from response to response', () => {
    const first = encode({ facts: small });
    first.finish();
    const second = encode({ facts: { ...small, uptimeSeconds: 1 } });
    expect(second.finish()).toEqual(generated({ facts: { ...small, uptimeSeconds: 1 } }));
    expect(second).toBe(first);
  });

  it('after an encoder that threw half-way, the next response carries nothing of it', () => {
    // int32 refuses 1.5 after hostname .. controlDomainUuid were written into the kept writer.
    expect(() => sent({ facts: { ...small, hostname: 'half-way', poolRole: 1.5 as PoolRole } })).toThrow();
    expect(sent({ facts: small })).toEqual(generated({ facts: small }));
  });

  it('does not keep the buffer a response of 64 KiB or more grew', () => {
    const kept = encode({ facts: small });
    kept.finish();
    const large = { facts: { ...small, hostname: 'x'.repeat(70_000) } };
    expect(encode(large)).toBe(kept);
    expect(kept.finish()).toEqual(generated(large));
    const next = encode({ facts: small });
    expect(next).not.toBe(kept);
    expect(next.finish()).toEqual(generated({ facts: small }));
  });
});
