import { describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import type { DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { normalizeDrbdSpec, normalizeDrbdSpecs } from './drbd-spec.js';

const base: DrbdResourceSpec = {
  name: 'iscsi1',
  minor: 1,
  nodes: [
    { hostname: 'XCP1', disk: '/dev/sdb', address: '10.10.10.1', port: 0 },
    { hostname: 'XCP2', disk: '/dev/sdb', address: '10.10.10.2', port: 0 },
  ],
  protocol: '',
  afterSb0pri: '',
  afterSb1pri: '',
  afterSb2pri: '',
  sharedSecret: '',
  cramHmacAlg: '',
  resyncRate: '',
  quorum: '',
  onNoQuorum: '',
};

const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.field;
    throw err;
  }
  return '(accepted)';
};

describe('normalizeDrbdSpec', () => {
  it("fills the how-to's defaults: protocol C, port 7789, discard-zero-changes/consensus/disconnect, node ids by position", () => {
    expect(normalizeDrbdSpec(base)).toMatchObject({
      protocol: 'C',
      afterSb0pri: 'discard-zero-changes',
      afterSb1pri: 'consensus',
      afterSb2pri: 'disconnect',
      cramHmacAlg: 'sha1',
      quorum: 'off',
      onNoQuorum: '',
      // The how-to's `common { syncer { rate 100M; } }`: without it 8.3 resyncs at 250 KB/s.
      resyncRate: '100M',
      nodes: [expect.objectContaining({ port: 7789, nodeId: 0 }), expect.objectContaining({ port: 7789, nodeId: 1 })],
    });
  });

  it.each([
    ['after-sb-1pri discard-secondary', { afterSb1pri: 'discard-secondary' }, 'resources[0].afterSb1pri'],
    ['after-sb-0pri discard-least-changes', { afterSb0pri: 'discard-least-changes' }, 'resources[0].afterSb0pri'],
    ['after-sb-2pri violently-as0p', { afterSb2pri: 'violently-as0p' }, 'resources[0].afterSb2pri'],
    ['a quote in the secret', { sharedSecret: 'a"b' }, 'resources[0].sharedSecret'],
    ['a 65-character secret', { sharedSecret: 'x'.repeat(65) }, 'resources[0].sharedSecret'],
    ['protocol D', { protocol: 'D' }, 'resources[0].protocol'],
    ['a shell in the name', { name: 'r0;reboot' }, 'resources[0].name'],
    ['a rate with a space', { resyncRate: '100 M' }, 'resources[0].resyncRate'],
  ])('refuses %s (rule 10: no silent split-brain recovery; allow-lists)', (_what, patch, field) => {
    expect(fieldOf(() => normalizeDrbdSpec({ ...base, ...patch }))).toBe(field);
  });

  it.each([
    ['a disk outside /dev', { disk: '/etc/shadow' }, 'resources[0].nodes[0].disk'],
    ['an address that is not an IP', { address: 'xcp2.local' }, 'resources[0].nodes[0].address'],
    ['a host name with a space', { hostname: 'XCP 1' }, 'resources[0].nodes[0].hostname'],
  ])('refuses a node with %s', (_what, patch, field) => {
    const nodes = [{ ...base.nodes[0]!, ...patch }, base.nodes[1]!];
    expect(fieldOf(() => normalizeDrbdSpec({ ...base, nodes }))).toBe(field);
  });

  it('refuses one node, duplicate hosts, duplicate resources or minors', () => {
    expect(fieldOf(() => normalizeDrbdSpec({ ...base, nodes: [base.nodes[0]!] }))).toBe('resources[0].nodes');
    expect(fieldOf(() => normalizeDrbdSpec({ ...base, nodes: [base.nodes[0]!, { ...base.nodes[1]!, hostname: 'xcp1' }] }))).toBe('resources[0].nodes');
    expect(fieldOf(() => normalizeDrbdSpecs([base, { ...base, minor: 2 }]))).toBe('resources');
    expect(fieldOf(() => normalizeDrbdSpecs([base, { ...base, name: 'iscsi2' }]))).toBe('resources');
  });

  it('turns quorum on with on-no-quorum io-error by default (DRBD 9)', () => {
    expect(normalizeDrbdSpec({ ...base, quorum: 'majority' })).toMatchObject({ quorum: 'majority', onNoQuorum: 'io-error' });
  });
});
