import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a console session lasts after logging in (a working day). */
export const SESSION_TTL_MS = 8 * 3600_000;
export const SESSION_COOKIE = 'tl_console';

/** A logged-in operator: which API key (by fingerprint, never the key) and the per-session nonce. */
export interface ConsoleSession {
  keyFingerprint: string;
  nonce: string;
  expiresAtMs: number;
  /** The token every form of this session carries (double-submit against CSRF). */
  csrf: string;
}

const b64url = (b: Buffer) => b.toString('base64url');
const fingerprint = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 16);
const mac = (key: string, purpose: string, data: string) =>
  b64url(createHmac('sha256', key).update(`threadline-console:${purpose}:${data}`).digest());
const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Stateless console sessions signed with the API key that opened them: any API replica can check
 * one, nothing is stored, and removing a key from THREADLINE_API_KEYS ends its sessions. The
 * cookie holds the key's fingerprint, an expiry, a nonce and an HMAC, never the key.
 */
export function consoleSessions(apiKeys: readonly string[], now: () => number = Date.now) {
  const byFingerprint = new Map(apiKeys.map((k) => [fingerprint(k), k]));
  const digests = apiKeys.map((k) => createHash('sha256').update(k).digest());

  const session = (key: string, nonce: string, expiresAtMs: number): ConsoleSession => ({
    keyFingerprint: fingerprint(key),
    nonce,
    expiresAtMs,
    csrf: mac(key, 'csrf', nonce),
  });

  return {
    /** The configured key equal to `candidate` (constant time over every key), if any. */
    keyMatching(candidate: string): string | undefined {
      const d = createHash('sha256').update(candidate).digest();
      let found: string | undefined;
      digests.forEach((k, i) => {
        if (timingSafeEqual(k, d)) found = apiKeys[i];
      });
      return found;
    },
    /** A new session for a valid key, and the cookie value that carries it. */
    open(key: string): { session: ConsoleSession; cookie: string } {
      const nonce = b64url(randomBytes(18));
      const expiresAtMs = now() + SESSION_TTL_MS;
      const body = `v1.${fingerprint(key)}.${expiresAtMs}.${nonce}`;
      return { session: session(key, nonce, expiresAtMs), cookie: `${body}.${mac(key, 'session', body)}` };
    },
    /** The session a cookie value proves, or undefined (unsigned, tampered, expired, or its key was removed). */
    verify(cookie: string | undefined): ConsoleSession | undefined {
      const m = /^v1\.([0-9a-f]{16})\.(\d{1,15})\.([\w-]{24})\.([\w-]{43})$/.exec(cookie ?? '');
      if (!m) return undefined;
      const [, fp, exp, nonce, sig] = m as unknown as [string, string, string, string, string];
      const key = byFingerprint.get(fp);
      if (!key || !same(sig, mac(key, 'session', `v1.${fp}.${exp}.${nonce}`))) return undefined;
      if (Number(exp) <= now()) return undefined;
      return session(key, nonce, Number(exp));
    },
    /** True when a form's token is this session's. */
    csrfValid(s: ConsoleSession, token: unknown): boolean {
      return typeof token === 'string' && same(token, s.csrf);
    },
  };
}
export type ConsoleSessions = ReturnType<typeof consoleSessions>;

/** Failed logins one client may make per window before the console stops checking its keys. */
export const LOGIN_ATTEMPTS = 10;
export const LOGIN_WINDOW_MS = 10 * 60_000;

/**
 * Slows down guessing API keys at the login form: after LOGIN_ATTEMPTS failures from one client
 * address within LOGIN_WINDOW_MS, every login from it (right key or not) is refused until the
 * window ends. In memory and per API process: a bound on guessing, not an account lock.
 */
export function loginThrottle(now: () => number = Date.now) {
  const failures = new Map<string, { count: number; since: number }>();
  const current = (client: string) => {
    const f = failures.get(client);
    if (f && now() - f.since >= LOGIN_WINDOW_MS) failures.delete(client);
    return failures.get(client);
  };
  return {
    /** Milliseconds until this client may try again, or 0 when it may now. */
    blockedFor(client: string): number {
      const f = current(client);
      return f && f.count >= LOGIN_ATTEMPTS ? f.since + LOGIN_WINDOW_MS - now() : 0;
    },
    failed(client: string): void {
      const f = current(client);
      if (f) f.count += 1;
      else failures.set(client, { count: 1, since: now() });
      // Bounded memory under a spray of addresses: forget the oldest.
      if (failures.size > 10_000) failures.delete(failures.keys().next().value!);
    },
  };
}
