import { describe, expect, it } from 'vitest';
import type { FastifyRequest } from 'fastify';
import { DashboardSessions } from './dashboard-sessions.js';
import { httpIdentity, sessionCookie } from './http-identity.js';
import { LoginLinkError } from './login-link-error.js';

const problem = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof LoginLinkError) return err.problem;
    throw err;
  }
  return 'accepted';
};

describe('dashboard login links', () => {
  it('open one session, once, for the name and role they were issued for', () => {
    const s = new DashboardSessions({ sessionMinutes: 30 });
    const { token } = s.issueLink({ name: 'vera', role: 'viewer', serial: '0a' });
    const { id, session } = s.redeem(token);
    expect(session).toMatchObject({ name: 'vera', role: 'viewer', serial: '0a' });
    expect(s.session(id)).toMatchObject({ name: 'vera', role: 'viewer', serial: '0a' });
    expect(problem(() => s.redeem(token))).toBe('already-used');
  });

  it('expire: the link after linkSeconds, the session after sessionMinutes', () => {
    let now = 1_000_000;
    const s = new DashboardSessions({ sessionMinutes: 10, linkSeconds: 60, now: () => now });
    const late = s.issueLink({ name: 'a', role: 'operator', serial: '0b' }).token;
    const ok = s.issueLink({ name: 'b', role: 'operator', serial: '0b' }).token;
    const { id } = s.redeem(ok);
    now += 60_000;
    expect(problem(() => s.redeem(late))).toBe('expired');
    now += 9 * 60_000 - 1;
    expect(s.session(id)?.name).toBe('b');
    now += 1;
    expect(s.session(id)).toBeUndefined();
  });

  it('refuse a link signed by another controller, an edited payload, and garbage', () => {
    const mine = new DashboardSessions({ sessionMinutes: 5 });
    const other = new DashboardSessions({ sessionMinutes: 5 });
    expect(problem(() => mine.redeem(other.issueLink({ name: 'x', role: 'viewer', serial: '0a' }).token))).toBe('bad-signature');
    const [body, sig] = mine.issueLink({ name: 'x', role: 'viewer', serial: '0a' }).token.split('.');
    const edited = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body ?? '', 'base64url').toString()), r: 'operator' })).toString('base64url');
    expect(problem(() => mine.redeem(`${edited}.${sig}`))).toBe('bad-signature');
    expect(problem(() => mine.redeem('no-dot'))).toBe('malformed');
    expect(problem(() => mine.redeem(''))).toBe('malformed');
    expect(mine.session('not-a-session')).toBeUndefined();
  });

  it('end when the certificate that asked for the link is revoked', () => {
    const s = new DashboardSessions({ sessionMinutes: 30 });
    const { id } = s.redeem(s.issueLink({ name: 'vera', role: 'viewer', serial: '0a' }).token);
    // A browser: no client certificate, only the cookie.
    const browser = { raw: { socket: { authorized: false } }, headers: { cookie: `theme=dark; ${sessionCookie}=${id}` } } as unknown as FastifyRequest;
    const revoked = new Set<string>();
    expect(httpIdentity(browser, s, (serial) => revoked.has(serial))).toEqual({ name: 'vera', role: 'viewer', via: 'session' });
    revoked.add('0a');
    expect(httpIdentity(browser, s, (serial) => revoked.has(serial))).toBeUndefined();
    expect(s.session(id)).toBeUndefined();
  });
});
