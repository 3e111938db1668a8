import { createHmac } from 'node:crypto';

/**
 * Slack's v0 request signature: `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`).
 * Pure so it can be checked against Slack's published test vector.
 */
export function slackSignature(signingSecret: string, timestampSec: number | string, rawBody: string): string {
  const mac = createHmac('sha256', signingSecret).update(`v0:${timestampSec}:${rawBody}`).digest('hex');
  return `v0=${mac}`;
}

/** Headers the emulator puts on every request it sends to the app (fresh timestamp per attempt). */
export function signedHeaders(
  signingSecret: string,
  rawBody: string,
  contentType: string,
  nowMs: number = Date.now(),
): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': slackSignature(signingSecret, ts, rawBody),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
  };
}
