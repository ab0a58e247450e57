import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '@xsctl/common/pki/index';
import { LoginLinkError } from './login-link-error.js';

export interface DashboardSession {
  name: string;
  role: Role;
  /** Serial of the certificate that asked for the link: revoking it ends the session too. */
  serial: string;
  expiresAt: number;
}

interface LinkPayload {
  /** name, role, serial of the asking certificate, expiry (ms), nonce */
  n: string;
  r: Role;
  s: string;
  e: number;
  j: string;
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * One-time login links and the sessions they open, for browsers without a client certificate.
 * A link is `payload.signature` (HMAC-SHA256 with a key that lives only in this process), valid
 * for `linkSeconds` and once; redeeming it opens a session whose id is an unguessable random
 * value kept in memory. A controller restart invalidates every link and session: people run
 * `xsctl dashboard open` again.
 */
export class DashboardSessions {
  readonly #key = randomBytes(32);
  readonly #used = new Map<string, number>();
  readonly #sessions = new Map<string, DashboardSession>();
  readonly #now: () => number;
  readonly sessionMs: number;
  readonly linkMs: number;

  constructor(options: { sessionMinutes: number; linkSeconds?: number; now?: () => number }) {
    this.sessionMs = options.sessionMinutes * 60_000;
    this.linkMs = (options.linkSeconds ?? 120) * 1000;
    this.#now = options.now ?? Date.now;
  }

  issueLink(identity: { name: string; role: Role; serial: string }): { token: string; expiresAt: Date } {
    const payload: LinkPayload = { n: identity.name, r: identity.role, s: identity.serial, e: this.#now() + this.linkMs, j: randomBytes(12).toString('base64url') };
    const body = b64(JSON.stringify(payload));
    return { token: `${body}.${this.#sign(body)}`, expiresAt: new Date(payload.e) };
  }

  /** Checks the link, burns it, and opens a session; returns the session id for the cookie. */
  redeem(token: string): { id: string; session: DashboardSession } {
    const [body, sig, extra] = token.split('.');
    if (body === undefined || sig === undefined || extra !== undefined || body === '' || sig === '') throw new LoginLinkError('malformed');
    const expected = Buffer.from(this.#sign(body));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new LoginLinkError('bad-signature');
    let payload: LinkPayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkPayload;
    } catch {
      throw new LoginLinkError('malformed');
    }
    const now = this.#now();
    this.#prune(now);
    if (typeof payload.e !== 'number' || payload.e <= now) throw new LoginLinkError('expired');
    if (this.#used.has(payload.j)) throw new LoginLinkError('already-used');
    this.#used.set(payload.j, payload.e);
    const id = randomBytes(32).toString('base64url');
    const session: DashboardSession = { name: payload.n, role: payload.r === 'operator' ? 'operator' : 'viewer', serial: String(payload.s), expiresAt: now + this.sessionMs };
    this.#sessions.set(id, session);
    return { id, session };
  }

  session(id: string | undefined): DashboardSession | undefined {
    if (id === undefined) return undefined;
    const s = this.#sessions.get(id);
    if (s === undefined) return undefined;
    if (s.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }

  #prune(now: number): void {
    for (const [nonce, exp] of this.#used) if (exp <= now) this.#used.delete(nonce);
    for (const [id, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(id);
  }
}
