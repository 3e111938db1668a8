import { createHmac, timingSafeEqual } from 'node:crypto';

export type SlackSignatureResult =
  | { ok: true }
  | {
      ok: false;
      reason: 'missing_signature' | 'missing_timestamp' | 'stale_timestamp' | 'malformed_signature' | 'bad_signature';
    };

/** Slack's window: |now − X-Slack-Request-Timestamp| ≤ 5 minutes, both directions. */
export const SLACK_MAX_SKEW_SECONDS = 300;

/** `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`). */
export function computeSlackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
}

/**
 * Verifies a Slack request on its raw bytes, before anything is parsed. Pure: the clock is a
 * parameter. The comparison is constant-time over equal-length buffers.
 */
export function verifySlackSignature(input: {
  signingSecret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer | string;
  nowSeconds: number;
}): SlackSignatureResult {
  if (!input.signature) return { ok: false, reason: 'missing_signature' };
  if (!input.timestamp) return { ok: false, reason: 'missing_timestamp' };
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'stale_timestamp' };
  if (Math.abs(input.nowSeconds - Number(input.timestamp)) > SLACK_MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'stale_timestamp' };
  }
  if (!/^v0=[0-9a-f]{64}$/.test(input.signature)) return { ok: false, reason: 'malformed_signature' };
  const expected = Buffer.from(computeSlackSignature(input.signingSecret, input.timestamp, input.rawBody));
  const given = Buffer.from(input.signature);
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? { ok: true }
    : { ok: false, reason: 'bad_signature' };
}

/** A signing secret and, for the old one during a rotation, until when it is still accepted. */
export interface SigningSecret {
  secret: string;
  /** Epoch ms after which this secret is refused (the end of the rotation's overlap window). */
  untilMs?: number;
}

/**
 * Verifies against the current secret and, during a rotation's overlap window, the previous one
 * (Slack signs with one secret at a time; while the new one is being rolled out, requests may be
 * signed with either). `which` says which secret matched: an old one still in use late in the
 * window is worth knowing. Pure: the clock is a parameter. An empty secret never matches.
 */
export function verifySlackSignatureRotating(input: {
  secrets: readonly SigningSecret[];
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer | string;
  nowSeconds: number;
}): SlackSignatureResult & { which?: number } {
  let last: SlackSignatureResult = { ok: false, reason: 'bad_signature' };
  for (const [i, s] of input.secrets.entries()) {
    if (!s.secret || (s.untilMs !== undefined && input.nowSeconds * 1000 > s.untilMs)) continue;
    last = verifySlackSignature({ ...input, signingSecret: s.secret });
    if (last.ok) return { ok: true, which: i };
    if (last.reason !== 'bad_signature') return last;
  }
  return last;
}
