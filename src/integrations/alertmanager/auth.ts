import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Alertmanager authenticates to a webhook receiver with what its `http_config` sends:
 * `authorization: {credentials}` → `Authorization: Bearer <token>` (the default type), or
 * `basic_auth: {username, password}` → `Authorization: Basic base64(username:password)`. We accept
 * either with the configured token as the bearer credential or the basic-auth password (the
 * username is not a secret and is ignored). Pure; compared as SHA-256 digests in constant time so
 * neither timing nor length tells how close a guess was.
 */
export type AlertmanagerAuthResult =
  | { ok: true; scheme: 'bearer' | 'basic' }
  | { ok: false; reason: 'missing_credentials' | 'malformed_credentials' | 'bad_credentials' };

export function verifyAlertmanagerAuth(input: {
  authorization: string | undefined;
  token: string;
}): AlertmanagerAuthResult {
  const header = input.authorization?.trim();
  if (!header) return { ok: false, reason: 'missing_credentials' };
  const m = /^(Bearer|Basic)\s+(\S+)$/i.exec(header);
  if (!m) return { ok: false, reason: 'malformed_credentials' };
  const scheme = m[1]!.toLowerCase() as 'bearer' | 'basic';
  let secret: string;
  if (scheme === 'bearer') secret = m[2]!;
  else {
    const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false, reason: 'malformed_credentials' };
    secret = decoded.slice(colon + 1);
  }
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(secret), digest(input.token))
    ? { ok: true, scheme }
    : { ok: false, reason: 'bad_credentials' };
}
