import type { MonitorReport } from './lab-monitor.js';

/** What a row's identity check reads of the monitor's report. */
export type IdentityRecord = Pick<MonitorReport, 'faultAtMs' | 'before' | 'after'>;

export interface IdentityVerdict {
  ok: boolean;
  /** Why it failed ('' when it held). */
  reason: string;
}

/**
 * Issue 11's fourth invariant: the initiator sees the same vendor, product and serial before and
 * after the fault. It holds only when
 * - the fault's moment was marked (otherwise before and after cannot be told apart);
 * - the initiator saw the LUN at least once before the fault;
 * - every identity it saw, before or after, is `expected` (the lab spec's vendor/product/serial);
 * - where the row says the LUN is served after the fault (`servedAfter`, a fact of the scenario),
 *   it saw the LUN at least once after the fault.
 * Seeing nothing passes nothing: an initiator that never answered is a broken row, not a kept identity.
 */
export function identityInvariant(r: IdentityRecord, expected: string, servedAfter: boolean): IdentityVerdict {
  const fail = (reason: string): IdentityVerdict => ({ ok: false, reason });
  if (r.faultAtMs < 0) return fail('the fault was never marked: no before/after');
  if (r.before.answered === 0) return fail('the initiator saw nothing before the fault');
  const wrong = [...r.before.identities, ...r.after.identities].filter((i) => i !== expected);
  if (wrong.length > 0) return fail(`the initiator saw ${[...new Set(wrong)].join(', ')}, not ${expected}`);
  if (servedAfter && r.after.answered === 0) return fail('the LUN is served after the fault in this scenario, but the initiator saw nothing after it');
  return { ok: true, reason: '' };
}
