import { describe, expect, it } from 'vitest';
import { memoryPolicies } from './memory.js';
import { compareIntLists, compareVersionKey, describeVersions, displayVersion, maxParsedVersions, notOlder, sameOn, versionNumbers } from './versions.js';

/**
 * Version comparison as xapi's Checks module does it (ocaml/xapi/helpers.ml,
 * version_numbers_of_string: split at '-', the first two parts split at '.', then
 * int_of_string_opt keeps the integers; compare_int_lists: element by element, a longer list
 * greater when the shorter is its prefix). Expected values worked out by hand from that code.
 */
describe('versionNumbers (version_numbers_of_string)', () => {
  it.each([
    ['8.2.1', [8, 2, 1]],
    ['4.13.5-9.40', [4, 13, 5, 9, 40]],
    // standard_version :: patch :: _ : a third '-' part is dropped.
    ['4.17.5-20-x.7', [4, 17, 5, 20]],
    ['1.2-3-4', [1, 2, 3]],
    // Non-integers are dropped, in either part; signs are integers to int_of_string_opt.
    ['4.13.5-9.40.xs8', [4, 13, 5, 9, 40]],
    ['v1.2.rc3', [2]],
    ['8.2a.1', [8, 1]],
    ['+3.4', [3, 4]],
    // '1.-2' splits into '1.' and '2'.
    ['1.-2', [1, 2]],
    ['', []],
    ['1..2', [1, 2]],
  ])('%s -> %j', (text, numbers) => {
    expect(versionNumbers(text)).toEqual(numbers);
  });
});

describe('versionNumbers keeps what it parsed (the planner asks for the same strings again and again)', () => {
  it('a string asked again, with others in between, is answered with the same frozen array', () => {
    const first = versionNumbers('4.13.5-9.40');
    expect(versionNumbers('3.2.1')).toEqual([3, 2, 1]);
    expect(versionNumbers('4.13.5-9.40')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('holds at most maxParsedVersions strings: after that many others, a string is parsed anew, to the same numbers', () => {
    const first = versionNumbers('7.7.7-77');
    for (let i = 0; i < maxParsedVersions; i++) versionNumbers(`1.${i}.0`);
    const again = versionNumbers('7.7.7-77');
    expect(again).not.toBe(first);
    expect(again).toEqual([7, 7, 7, 77]);
  });
});

describe('compareIntLists (compare_int_lists)', () => {
  it.each([
    [[], [], 0],
    [[1], [], 1],
    [[], [1], -1],
    [[1, 2], [1, 2, 0], -1],
    [[1, 2, 0], [1, 2], 1],
    [[1, 3], [1, 2, 9], 1],
    [[1, 2, 9], [1, 3], -1],
    [[2], [10], -1],
    [[4, 13, 5, 9, 40], [4, 13, 5, 9, 40], 0],
  ])('%j vs %j -> %i', (a, b, want) => {
    expect(compareIntLists(a, b)).toBe(want);
  });
});

describe('the keys of software_version', () => {
  const a = { platform_version: '3.2.1', xapi_build: '1.249.41', xen: '4.13.5-9.40', product_version: '8.2.1' };
  it('a missing key counts as 0.0.0', () => {
    expect(compareVersionKey('xapi', a, {})).toBe(0);
    expect(compareVersionKey('xen', a, {})).toBe(1);
    expect(compareVersionKey('xen', {}, a)).toBe(-1);
    expect(compareVersionKey('xen', { xen: '0.0.0' }, {})).toBe(0);
  });
  it('notOlder and sameOn look at every key given, and only those', () => {
    const newerXen = { ...a, xen: '4.13.5-9.41' };
    expect(notOlder(newerXen, a)).toBe(true);
    expect(notOlder(a, newerXen)).toBe(false);
    expect(notOlder(a, newerXen, ['platform_version', 'xapi_build'])).toBe(true);
    expect(sameOn(a, newerXen, ['platform_version', 'xapi_build'])).toBe(true);
    expect(sameOn(a, newerXen, ['platform_version', 'xen'])).toBe(false);
    expect(sameOn(newerXen, a, ['xen', 'platform_version'])).toBe(false);
    expect(sameOn(a, a, ['platform_version', 'xapi_build', 'xen'])).toBe(true);
    expect(sameOn(a, { ...a, xen: '4.13.5-9.40.0' }, ['xen'])).toBe(false);
  });
  it('describeVersions lists the keys present, in the order given', () => {
    expect(describeVersions(a, ['xen', 'xapi', 'platform_version'])).toBe('xen: 4.13.5-9.40, platform_version: 3.2.1');
    expect(describeVersions(a)).toBe('product_version: 8.2.1, platform_version: 3.2.1, xapi_build: 1.249.41, xen: 4.13.5-9.40');
    expect(describeVersions({}, ['xen'])).toBe('');
  });
  it('displayVersion: the product version, else the platform version, else nothing', () => {
    expect(displayVersion(a)).toBe('8.2.1');
    expect(displayVersion({ platform_version: '3.2.1' })).toBe('3.2.1');
    expect(displayVersion({})).toBe('');
  });
  it('the memory policies are the two the CLI offers', () => {
    expect(memoryPolicies).toEqual(['xapi', 'static-max']);
  });
});
