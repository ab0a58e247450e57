import { ValidationError } from '../errors/index.js';
import type { PeerKind } from './identity.js';

/**
 * Default lifetimes, in days. Short enough that a leaked key stops working on its own within a
 * season (the revocation list covers the time until then), long enough that rotation is a
 * quarterly chore, not a weekly one. CLI certificates are personal and shortest.
 */
export const defaultLeafDays: Readonly<Record<PeerKind, number>> = { controller: 180, agent: 180, cli: 90 };
export const defaultCaDays = 3650;

/** 397 days: the ceiling browsers enforce on TLS server certificates (CA/Browser Forum, 2020). */
export const maxLeafDays = 397;
export const maxCaDays = 7300;

/** Certificates expiring within this many days are reported by `xsctl hosts`, `pki list` and metrics. */
export const expiryWarningDays = 30;

/**
 * A validity in whole days, from a number or the CLI's string: a positive integer up to `max`.
 * `-1` would issue an already expired certificate and `NaN` an unreadable one.
 */
export function parseDays(value: number | string, max: number, field = 'days'): number {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (!/^[0-9]+$/.test(text)) throw new ValidationError(field, `expected a whole number of days from 1 to ${max}, got "${String(value)}"`);
  const days = Number(text);
  if (!Number.isSafeInteger(days) || days < 1 || days > max) throw new ValidationError(field, `expected a whole number of days from 1 to ${max}, got ${text}`);
  return days;
}
