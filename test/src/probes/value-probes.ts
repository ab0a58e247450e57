/**
 * Boundary values for the round-trip tests of config writers: every printable ASCII character and
 * the control characters config parsers care about, planted first, in the middle and last of a
 * value that is valid on its own. A validator decides which of them are allowed; the tests then
 * prove that every allowed one reads back unchanged through the real consumer (tgt-admin,
 * drbdadm, lvmconfig, iptables-save, multipath -t).
 */
export const probeChars: readonly string[] = [
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)),
  '\t',
  '\n',
  '\r',
  '\0',
  '\x7f',
  '\u00e9',
];

/** `base` with `c` put first, in the middle and last. */
export function planted(base: string, c: string): string[] {
  const mid = Math.floor(base.length / 2);
  return [`${c}${base.slice(1)}`, `${base.slice(0, mid)}${c}${base.slice(mid + 1)}`, `${base.slice(0, -1)}${c}`];
}

/** Whether `validate` accepts `v` (it throws on refusal). */
export function accepts(validate: (v: string) => unknown, v: string): boolean {
  try {
    validate(v);
    return true;
  } catch {
    return false;
  }
}

/** Every probe of `base` the validator accepts, without duplicates. */
export function acceptedProbes(base: string, validate: (v: string) => unknown): string[] {
  const out = new Set<string>();
  for (const c of probeChars) for (const v of planted(base, c)) if (accepts(validate, v)) out.add(v);
  return [...out];
}

/** Every probe of `base` the validator refuses (to check each refusal names the field). */
export function refusedProbes(base: string, validate: (v: string) => unknown): string[] {
  const out = new Set<string>();
  for (const c of probeChars) for (const v of planted(base, c)) if (!accepts(validate, v)) out.add(v);
  return [...out];
}
