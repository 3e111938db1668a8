import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TrackerSignatureCheck } from '../../flows/tickets/tracker.js';

/** `sha256=<hex HMAC-SHA256(secret, raw body)>`: Jira Cloud's `X-Hub-Signature` for admin webhooks with a secret. */
export function computeJiraSignature(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/**
 * Verifies `X-Hub-Signature` on the raw bytes (the WebSub scheme Jira shares with GitHub's
 * `X-Hub-Signature-256`). Constant-time; pure, so it is tested against fixed vectors.
 */
export function verifyJiraSignature(input: {
  secret: string;
  rawBody: Buffer | string;
  signature: string | undefined;
}): TrackerSignatureCheck {
  if (!input.signature) return { ok: false, reason: 'missing_signature' };
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(input.signature.trim());
  if (!m) return { ok: false, reason: 'malformed_signature' };
  const given = Buffer.from(m[1]!.toLowerCase(), 'hex');
  const expected = Buffer.from(computeJiraSignature(input.secret, input.rawBody).slice('sha256='.length), 'hex');
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
