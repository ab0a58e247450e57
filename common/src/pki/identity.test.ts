import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { assertCertName, identityFromCertificate, identityUris, parseKind, parseRole } from './identity.js';

/**
 * The PKI's name and identity checks, table-driven. A certificate name is 1-63 of letters, digits,
 * dot, dash, underscore, starting with a letter or digit (it becomes a CN and a file name); the
 * kind and role come only from `urn:xsctl:` SAN URIs, in the form Node prints `subjectaltname`.
 */
const x = (n: number, c = 'a') => c.repeat(n);

describe('assertCertName', () => {
  it.each(['a', 'z', 'A', 'Z', '0', '9', 'xs1', 'ctl.example-1_b', x(63), `9${x(62, '.')}`])('accepts %j', (n) => {
    expect(assertCertName(n)).toBe(n);
  });
  it.each(['', x(64), '.a', '-a', '_a', 'a b', 'a/b', '../a', 'a\n', ' a', 'a ', 'a;', ';a', 'a:b', 'ä'])('refuses %j', (n) => {
    let err: unknown;
    try {
      assertCertName(n);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('name');
    expect((err as ValidationError).message).toBe('invalid name: use 1-63 letters, digits, dot, dash or underscore');
  });
});

describe('parseKind and parseRole', () => {
  it('accept exactly the kinds and roles', () => {
    expect(['controller', 'agent', 'cli'].map(parseKind)).toEqual(['controller', 'agent', 'cli']);
    expect(['viewer', 'operator'].map(parseRole)).toEqual(['viewer', 'operator']);
  });
  it.each(['', 'Agent', 'agent ', 'admin', 'clix'])('refuse the kind %j', (k) => {
    expect(() => parseKind(k)).toThrow('invalid kind: expected one of controller, agent, cli');
  });
  it.each(['', 'Operator', 'admin', 'viewer '])('refuse the role %j', (r) => {
    expect(() => parseRole(r)).toThrow('invalid role: expected one of viewer, operator');
  });
});

describe('identityUris', () => {
  it('a kind URI, and a role URI only with a role', () => {
    expect(identityUris('agent', null)).toEqual(['urn:xsctl:kind:agent']);
    expect(identityUris('cli', 'operator')).toEqual(['urn:xsctl:kind:cli', 'urn:xsctl:role:operator']);
  });
});

describe('identityFromCertificate', () => {
  it.each([
    ['an agent', 'xs1', 'DNS:xs1, IP Address:10.0.0.1, URI:urn:xsctl:kind:agent', { name: 'xs1', kind: 'agent', role: null }],
    ['the controller', 'ctl', 'URI:urn:xsctl:kind:controller', { name: 'ctl', kind: 'controller', role: null }],
    ['a CLI operator', 'alice', 'URI:urn:xsctl:kind:cli, URI:urn:xsctl:role:operator', { name: 'alice', kind: 'cli', role: 'operator' }],
    ['a CLI viewer, role before kind, no space after the comma', 'bob', 'URI:urn:xsctl:role:viewer,URI:urn:xsctl:kind:cli', { name: 'bob', kind: 'cli', role: 'viewer' }],
    // The kind URI after the role URI must not reset the role (a reset would read as the default, viewer).
    ['a CLI operator, role before kind', 'erin', 'URI:urn:xsctl:role:operator, URI:urn:xsctl:kind:cli', { name: 'erin', kind: 'cli', role: 'operator' }],
    ['a CLI without a role is a viewer', 'carol', 'URI:urn:xsctl:kind:cli', { name: 'carol', kind: 'cli', role: 'viewer' }],
    ['a CLI with an unknown role is a viewer', 'dave', 'URI:urn:xsctl:kind:cli, URI:urn:xsctl:role:admin', { name: 'dave', kind: 'cli', role: 'viewer' }],
    ['a role on an agent certificate is ignored', 'xs2', 'URI:urn:xsctl:kind:agent, URI:urn:xsctl:role:operator', { name: 'xs2', kind: 'agent', role: null }],
  ])('%s', (_what, cn, san, identity) => {
    expect(identityFromCertificate(cn, san)).toEqual(identity);
  });
  it.each([
    ['no CN', undefined, 'URI:urn:xsctl:kind:agent'],
    ['no SAN', 'xs1', undefined],
    ['no kind URI', 'xs1', 'DNS:xs1, URI:urn:xsctl:role:operator'],
    ['an unknown kind', 'xs1', 'URI:urn:xsctl:kind:root'],
    ['a kind in a DNS name, not a URI', 'xs1', 'DNS:urn:xsctl:kind:agent'],
    ['a kind URI with a prefix', 'xs1', 'URI:x-urn:xsctl:kind:agent'],
    ['a kind with a suffix', 'xs1', 'URI:urn:xsctl:kind:agentx'],
    ['another namespace', 'xs1', 'URI:urn:other:kind:agent'],
  ])('no identity with %s', (_what, cn, san) => {
    expect(identityFromCertificate(cn, san)).toBeNull();
  });
  it('a later unknown kind URI wins over an earlier valid one (two kinds is no identity)', () => {
    expect(identityFromCertificate('xs1', 'URI:urn:xsctl:kind:agent, URI:urn:xsctl:kind:bogus')).toBeNull();
  });
});
