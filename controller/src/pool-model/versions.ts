/**
 * Host versions as xapi compares them (ocaml/xapi/helpers.ml, module Checks): a version string is
 * split at its first '-' into a release and a patch part, both split at '.', non-numbers dropped
 * ("4.17.5-20" -> [4, 17, 5, 20]); a missing key counts as "0.0.0"; lists compare element by
 * element, a longer list being greater when the shorter one is its prefix (compare_int_lists).
 * Two key sets matter:
 * - RPU (Checks.RPU.version_keys = platform_version, xapi): the pool is in "rolling upgrade" mode
 *   while any host differs from the master on one of them (db_gc.ml detect_rolling_upgrade).
 * - Migration (Checks.Migration.version_keys = platform_version, xapi_build, xen): a VM may only
 *   go to a host that is not older on every one of them (host_versions_not_decreasing). An XCP-ng
 *   `yum update` changes xen and xapi_build without touching platform_version.
 */
export type SoftwareVersion = Readonly<Record<string, string>>;

export const rpuVersionKeys = ['platform_version', 'xapi'] as const;
export const migrationVersionKeys = ['platform_version', 'xapi_build', 'xen'] as const;
/** What the final uniformity check compares: every key that names what a host runs. */
export const uniformityVersionKeys = ['product_version', 'platform_version', 'build_number', 'xapi', 'xapi_build', 'xen'] as const;

/**
 * Parsed version strings, kept: the planner compares the same few strings (a pool runs one or two
 * releases) for every VM, candidate host, wave and order it tries (roles.ts mayGo), and parsing
 * them again was 200-330 ms of a 64-host pool precheck (bench/fanout.mjs). Bounded, so strings
 * from many pools over a controller's life cannot grow it without end.
 */
const parsed = new Map<string, readonly number[]>();
export const maxParsedVersions = 1024;

/** The numbers of a version string; the same frozen array for the same string while it is held. */
export function versionNumbers(text: string): readonly number[] {
  const held = parsed.get(text);
  if (held !== undefined) return held;
  // standard_version :: patch :: _ (a third '-' part is dropped), or standard_version alone.
  const pieces = text.split('-').slice(0, 2).flatMap((part) => part.split('.'));
  // OCaml's int_of_string_opt: an optional sign and digits only.
  const numbers = Object.freeze(pieces.filter((p) => /^[+-]?\d+$/.test(p)).map(Number));
  if (parsed.size >= maxParsedVersions) parsed.clear();
  parsed.set(text, numbers);
  return numbers;
}

export function compareIntLists(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; ; i++) {
    if (i >= a.length && i >= b.length) return 0;
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return Math.sign(d);
  }
}

export function versionOf(key: string, v: SoftwareVersion): readonly number[] {
  return versionNumbers(v[key] ?? '0.0.0');
}

export function compareVersionKey(key: string, a: SoftwareVersion, b: SoftwareVersion): number {
  return compareIntLists(versionOf(key, a), versionOf(key, b));
}

/** Checks.compare_all_versions: `a` is greater or equal to `b` on every key. */
export function notOlder(a: SoftwareVersion, b: SoftwareVersion, keys: readonly string[] = migrationVersionKeys): boolean {
  return keys.every((k) => compareVersionKey(k, a, b) >= 0);
}

export function sameOn(a: SoftwareVersion, b: SoftwareVersion, keys: readonly string[]): boolean {
  return keys.every((k) => compareVersionKey(k, a, b) === 0);
}

/** "platform_version: 3.2.1, xapi_build: 1.249.41, xen: 4.13.5-9.40" for messages. */
export function describeVersions(v: SoftwareVersion, keys: readonly string[] = uniformityVersionKeys): string {
  return keys.filter((k) => v[k] !== undefined).map((k) => `${k}: ${v[k]}`).join(', ');
}

/** The label admins read: product version, else platform version. */
export function displayVersion(v: SoftwareVersion): string {
  return v['product_version'] ?? v['platform_version'] ?? '';
}
