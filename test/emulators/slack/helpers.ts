import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { LogLevel, WebClient } from '@slack/web-api';
import type { Logger } from '@slack/web-api';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { startSlackEmulator } from '../../../emulators/slack/server.js';
import type { SlackEmulator, SlackEmulatorOptions } from '../../../emulators/slack/server.js';

export const BOT_TOKEN = 'xoxb-test-bot-token';
export const SIGNING_SECRET = 'test-signing-secret';

// The client logs every platform error; tests provoke many on purpose.
const noop = () => {};
const quietLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  setLevel: noop,
  getLevel: () => LogLevel.ERROR,
  setName: noop,
};

export interface Harness {
  emu: SlackEmulator;
  admin: SlackEmulatorAdmin;
  client: WebClient;
  clientFor(token: string): WebClient;
}

export async function startHarness(opts: Partial<SlackEmulatorOptions> = {}): Promise<Harness> {
  const emu = await startSlackEmulator({
    port: 0,
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    rateLimits: false,
    eventRetryDelaysMs: [10, 10, 10],
    ...opts,
  });
  const clientFor = (token: string) =>
    new WebClient(token, {
      slackApiUrl: emu.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: quietLogger,
    });
  return { emu, admin: new SlackEmulatorAdmin(emu.url), client: clientFor(BOT_TOKEN), clientFor };
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A stand-in for the app: records every request and answers with `respond` (default: empty 200).
 * Deliberately independent of the emulator's code so signatures are checked by a second implementation.
 */
export async function startReceiver(
  respond: (req: Received, res: ServerResponse) => void = (_r, res) => res.end(),
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(r);
      respond(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Slack's documented verification: v0 HMAC over `v0:ts:body`, constant-time compare, 5-minute window. */
export function verifySlackSignature(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const ts = headers['x-slack-request-timestamp'];
  const sig = headers['x-slack-signature'];
  if (typeof ts !== 'string' || typeof sig !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`);
  const got = Buffer.from(sig);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

export async function waitUntil<T>(fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('waitUntil: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
