import { describe, expect, it } from 'vitest';
import { identityInvariant, type IdentityRecord } from './identity-invariant.js';

// Hand-made monitor records; the expected identity is the lab spec's, written out by hand.
const ID = 'XSCTL/DRBD-HA-LUN/XSLAB0000001';
const rec = (before: string[], beforeN: number, after: string[], afterN: number, faultAtMs = 5_000): IdentityRecord => ({
  faultAtMs,
  before: { answered: beforeN, identities: before },
  after: { answered: afterN, identities: after },
});

describe('identityInvariant', () => {
  it('fails when the initiator saw nothing at all, whether or not the LUN is served after', () => {
    expect(identityInvariant(rec([], 0, [], 0), ID, true)).toMatchObject({ ok: false, reason: expect.stringMatching(/nothing before the fault/) });
    expect(identityInvariant(rec([], 0, [], 0), ID, false).ok).toBe(false);
  });

  it('fails when the LUN was seen before only, on a row where it is served after', () => {
    expect(identityInvariant(rec([ID], 12, [], 0), ID, true)).toMatchObject({ ok: false, reason: expect.stringMatching(/nothing after it/) });
  });

  it('passes seen before only on a row where the LUN is not served after (fencing failed, refused)', () => {
    expect(identityInvariant(rec([ID], 12, [], 0), ID, false)).toEqual({ ok: true, reason: '' });
  });

  it('fails on a different serial, before or after the fault', () => {
    const other = 'XSCTL/DRBD-HA-LUN/XSLAB0000002';
    expect(identityInvariant(rec([ID], 3, [other], 4), ID, true)).toMatchObject({ ok: false, reason: expect.stringContaining(other) });
    expect(identityInvariant(rec([other], 3, [ID], 4), ID, true).ok).toBe(false);
    // A second identity beside the right one is as wrong as only a wrong one.
    expect(identityInvariant(rec([ID], 3, [ID, other], 4), ID, false).ok).toBe(false);
  });

  it('fails on a different vendor or product with the same serial', () => {
    expect(identityInvariant(rec([ID], 3, ['LIO-ORG/DRBD-HA-LUN/XSLAB0000001'], 1), ID, true).ok).toBe(false);
    expect(identityInvariant(rec([ID], 3, ['XSCTL/VIRTUAL-DISK/XSLAB0000001'], 1), ID, true).ok).toBe(false);
  });

  it('fails when the fault was never marked, even with answers', () => {
    expect(identityInvariant(rec([ID], 9, [], 0, -1), ID, false)).toMatchObject({ ok: false, reason: expect.stringMatching(/never marked/) });
  });

  it('passes the good case: seen before and after, one identity', () => {
    expect(identityInvariant(rec([ID], 20, [ID], 7), ID, true)).toEqual({ ok: true, reason: '' });
  });
});
