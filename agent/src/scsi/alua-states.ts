/** Asymmetric access states (SPC-4 6.37, REPORT TARGET PORT GROUPS), by code. */
export const aluaStates: Readonly<Record<number, string>> = {
  0x0: 'active/optimized',
  0x1: 'active/non-optimized',
  0x2: 'standby',
  0x3: 'unavailable',
  0x4: 'lba-dependent',
  0xe: 'offline',
  0xf: 'transitioning',
};

export function aluaStateName(code: number): string {
  return aluaStates[code] ?? `reserved-0x${code.toString(16)}`;
}

/** sysfs access_state and sg_rtpg spell the states a little differently; this maps them to ours. */
export function normalizeAluaState(s: string): string | null {
  const t = s.trim().toLowerCase().replace(/\s+/g, ' ');
  if (t === '' || t === 'unknown') return null;
  if (t.startsWith('active/optimized')) return 'active/optimized';
  if (/^active\/non[- ]optimized/.test(t)) return 'active/non-optimized';
  if (t.startsWith('standby')) return 'standby';
  if (t.startsWith('unavailable')) return 'unavailable';
  if (/^(lba[- ]dependent|lb dependent|logical block dependent)/.test(t)) return 'lba-dependent';
  if (t.startsWith('offline')) return 'offline';
  if (t.startsWith('transitioning')) return 'transitioning';
  return null;
}
