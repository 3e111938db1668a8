import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A secret-looking value unique to this run, so a match can only come from this run's data. */
export const unique = (prefix: string) => `${prefix}${randomBytes(9).toString('hex')}`;

/**
 * Every secret the app is configured with, each set to a value unique to this run (the stack's
 * emulators accept the same ones), for tests that look for them where they must never appear.
 */
export function uniqueSecrets() {
  return {
    SLACK_BOT_TOKEN: unique('xoxb-test-'),
    SLACK_SIGNING_SECRET: unique('signing-'),
    RAZORPAY_WEBHOOK_SECRET: unique('razorpay-'),
    JIRA_API_TOKEN: unique('jira-token-'),
    JIRA_WEBHOOK_SECRET: unique('jira-hook-'),
    THREADLINE_API_KEYS: unique('tl_test_'),
    APPROVAL_CALLBACK_SECRET: unique('callback-secret-'),
    ALERTMANAGER_WEBHOOK_TOKEN: unique('alertmanager-'),
    ALERTS_ACTION_SIGNING_SECRET: unique('chatops-'),
    REPORT_PULL_SECRET: unique('report-pull-'),
    SLACK_STATE_SECRET: unique('oauth-state-'),
    SLACK_ADMIN_USER_TOKEN: unique('xoxp-admin-'),
    THREADLINE_PAYLOAD_KEYS: `test-key:${randomBytes(32).toString('base64')}`,
  };
}

/**
 * A decision-callback receiver whose URL carries a token; it fails its first delivery (so an
 * activity failure is recorded and logged), then accepts.
 */
export async function callbackReceiver() {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hits.push(body);
      res.statusCode = hits.length === 1 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const token = unique('cbtoken');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/approval?token=${token}`;
  return { url, token, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Everything `value` holds, as one searchable text: every string, every bytes field read as
 * UTF-8, and every base64-looking string decoded too (proto JSON and the SDK's trace logs carry
 * payloads as base64), so a secret is found wherever and however it was written. Walks own
 * fields itself: proto messages' toJSON() would turn bytes into base64 first.
 */
export function searchableText(value: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      parts.push(v);
      if (v.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (v && typeof v === 'object') for (const child of Object.values(v)) walk(child);
  };
  walk(value);
  return parts.join('\n');
}
