import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../../emulators/slack/admin-client.js';
import type { TestStack } from '../../../helpers/stack.js';

export interface AlertView {
  alertId: string;
  workflowId: string;
  source: 'workflow' | 'database';
  status: string;
  occurrences: number;
  flaps: number;
  current: {
    occurrence: number;
    acknowledgedBy: string | null;
    resolvedBy: string | null;
    resolvedVia: string | null;
    escalation: {
      step: number;
      pass: number;
      nextAt: string | null;
      ackTimeoutAt: string | null;
      retriggers: number;
      pages: number;
    } | null;
    paged: string[];
    channelMembersLoaded: boolean;
  } | null;
  slack: {
    root: { channel: string; ts: string } | null;
    copies: { channel: string; ts: string; purpose: string; target: string }[];
  };
  eventsProcessed: number;
  timeline: { kind: string; summary: string; actor?: string }[];
}

export const SAMPLE = JSON.parse(
  readFileSync(new URL('../../../fixtures/alertmanager/firing.json', import.meta.url), 'utf8'),
) as AlertmanagerPayload;
export interface AlertmanagerPayload {
  version: string;
  status: string;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
  [k: string]: unknown;
}

let seq = 0;
/** A unique hex fingerprint per call (workflow ids and DB rows are shared by every stack of a run). */
export const fingerprint = () =>
  `${Date.now().toString(16)}${(seq++).toString(16).padStart(4, '0')}${Math.floor(Math.random() * 0xffff).toString(16)}`.slice(
    0,
    16,
  );

/** The real sample with one alert, its own fingerprint, labels and status. */
export function amPayload(o: {
  fp: string;
  status?: 'firing' | 'resolved';
  labels?: Record<string, string>;
  startsAt?: string;
  summary?: string;
}): AlertmanagerPayload {
  const p = structuredClone(SAMPLE);
  const status = o.status ?? 'firing';
  p.status = status;
  const a = p.alerts[0]!;
  a.status = status;
  a.fingerprint = o.fp;
  a.labels = { ...a.labels, ...(o.labels ?? {}) };
  if (o.summary) a.annotations.summary = o.summary;
  a.startsAt = o.startsAt ?? a.startsAt;
  a.endsAt = status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z';
  return p;
}

/** Real HTTP in, the Slack emulator acting as people. */
export function alertsHarness(stack: TestStack) {
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const api = stack.urls.api;
  const auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };
  const amAuth = { authorization: 'Bearer tl_sandbox_alerts' };

  const webhook = (body: unknown, headers: Record<string, string> = amAuth) =>
    fetch(`${api}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  async function fire(body: unknown) {
    const res = await webhook(body);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { alerts: { alertId: string; outcome: string }[] };
  }
  const generic = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${api}/v1/alerts`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  async function get(alertId: string): Promise<AlertView> {
    const res = await fetch(`${api}/v1/alerts/${alertId}`, { headers: auth });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as AlertView;
  }
  const until = (alertId: string, ok: (v: AlertView) => boolean, timeoutMs = 20_000) =>
    slack.waitFor(async () => {
      const res = await fetch(`${api}/v1/alerts/${alertId}`, { headers: auth });
      if (res.status !== 200) return undefined;
      const v = (await res.json()) as AlertView;
      return ok(v) ? v : undefined;
    }, timeoutMs);

  const click = (user: string, m: { channel: string; ts: string }, verb: 'ack' | 'escalate' | 'resolve') =>
    slack.clickButton({ user, channel: m.channel, ts: m.ts, action_id: `tl:alert.${verb}` });

  /** The ephemeral answer sent through a click's response_url. */
  async function responseTo(url: string | undefined, timeoutMs = 10_000): Promise<string> {
    const post = await slack.waitFor(
      async () => (await slack.responseUrlPosts()).find((p) => url?.endsWith(`/${p.id}`)),
      timeoutMs,
    );
    return JSON.stringify(post.body);
  }
  const replies = (m: { channel: string; ts: string }) => slack.threadReplies(m.channel, m.ts);
  /** Waits until the thread has a reply containing `text`. */
  const replyWith = (m: { channel: string; ts: string }, text: string, timeoutMs = 20_000) =>
    slack.waitFor(async () => (await replies(m)).find((r) => r.text.includes(text)), timeoutMs);

  return { slack, api, auth, amAuth, webhook, fire, generic, get, until, click, responseTo, replies, replyWith };
}

/** What a person sees of a message (text plus blocks). */
export const seen = (m: InspectedMessage) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`;
export const buttons = (m: InspectedMessage) =>
  (seen(m).match(/tl:alert\.(ack|escalate|resolve)/g) ?? []).map((b) => b.slice(9));

export interface ActionRequest {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

/**
 * A ChatOps endpoint: verifies the HMAC signature independently of our code, answers per `respond`
 * (a status, or a status after a delay: an endpoint slower than the action's timeout).
 */
export async function startActionReceiver(
  secret: string,
  respond: (r: ActionRequest) => number | { status: number; delayMs: number } = () => 200,
) {
  const received: ActionRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = String(req.headers['x-threadline-signature'] ?? '');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
      const expected = m ? createHmac('sha256', secret).update(`${m[1]}.${body}`).digest() : Buffer.alloc(32);
      const verified =
        !!m && timingSafeEqual(Buffer.from(m[2]!, 'hex'), expected) && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
      const r = { headers: req.headers, body, verified };
      received.push(r);
      const answer = respond(r);
      const { status, delayMs } = typeof answer === 'number' ? { status: answer, delayMs: 0 } : answer;
      setTimeout(() => {
        if (res.destroyed) return; // the caller gave up (its timeout)
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            message:
              status < 300
                ? `restarted ${(JSON.parse(body) as { args: { service?: string } }).args.service ?? ''}`
                : 'busy',
          }),
        );
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/actions`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
