import type { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/api/app.js';
import { flows } from '../../../src/flows/index.js';
import type { AckWindowOptions } from '../../../src/platform/http/ack.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { auditLogRepo, inboundEventsRepo, slackMessagesRepo } from '../../../src/platform/db/repositories.js';
import { computeSlackSignature } from '../../../src/integrations/slack/signature.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics, type Metrics } from '../../../src/platform/observability/metrics.js';
import type { Readiness } from '../../../src/api/readiness.js';
import type { TestStack } from '../../helpers/stack.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';

/**
 * A TCP proxy in front of a real server (Postgres, the Temporal frontend) that can be made slow or
 * stuck, the way a sick host or network is: `delay(ms)` holds every chunk for `ms` before
 * forwarding it (both directions, order kept); `stall()` stops forwarding altogether (connections
 * are accepted and then hang, new handshakes included); `pass()` forwards at once again; `reset()`
 * drops what is held and closes every connection (clients reconnect). Only loopback.
 */
export interface TcpProxy {
  address: string;
  port: number;
  delay(ms: number): void;
  stall(): void;
  pass(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'stall' } = { kind: 'pass' };
  const pipes = new Set<{ sockets: Socket[]; timers: Set<NodeJS.Timeout>; held: (() => void)[] }>();

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pipe = { sockets: [client, upstream], timers: new Set<NodeJS.Timeout>(), held: [] as (() => void)[] };
    pipes.add(pipe);
    // One queue per direction keeps chunk order even when the mode changes mid-stream.
    const forward = (from: Socket, to: Socket) => {
      let tail = Promise.resolve();
      from.on('data', (chunk) => {
        // Each chunk is due `ms` after it arrived (latency, not a serial delay per chunk).
        const due = mode.kind === 'delay' ? Date.now() + mode.ms : 0;
        tail = tail.then(
          () =>
            new Promise<void>((resolve) => {
              const write = () => {
                if (!to.destroyed) to.write(chunk);
                resolve();
              };
              const go = () => (mode.kind === 'stall' ? pipe.held.push(write) : write());
              const wait = due - Date.now();
              if (wait <= 0) return void go();
              const t = setTimeout(() => {
                pipe.timers.delete(t);
                go();
              }, wait);
              pipe.timers.add(t);
            }),
        );
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      for (const t of pipe.timers) clearTimeout(t);
      client.destroy();
      upstream.destroy();
      pipes.delete(pipe);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  const releaseHeld = () => {
    for (const p of pipes) p.held.splice(0).forEach((w) => w());
  };
  const reset = () => {
    for (const p of [...pipes]) {
      for (const t of p.timers) clearTimeout(t);
      p.held.length = 0;
      for (const s of p.sockets) s.destroy();
      pipes.delete(p);
    }
  };
  return {
    address: `127.0.0.1:${port}`,
    port,
    delay(ms) {
      mode = { kind: 'delay', ms };
      releaseHeld();
    },
    stall() {
      mode = { kind: 'stall' };
    },
    pass() {
      mode = { kind: 'pass' };
      releaseHeld();
    },
    reset,
    async close() {
      reset();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** host/port of a `host:port` address or a postgres:// URL. */
export function hostPort(addressOrUrl: string): { host: string; port: number } {
  if (addressOrUrl.includes('://')) {
    const u = new URL(addressOrUrl);
    return { host: u.hostname, port: Number(u.port) };
  }
  const [host, port] = addressOrUrl.split(':');
  return { host: host!, port: Number(port) };
}

/** The same database URL, through another host:port (a proxy). */
export function viaProxy(databaseUrl: string, proxy: TcpProxy): string {
  const u = new URL(databaseUrl);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

export interface DedicatedApp {
  app: FastifyInstance;
  url: string;
  metrics: Metrics;
  pool: Pool;
  temporal: Client;
  close(): Promise<void>;
}

/**
 * An API instance over the test stack's Temporal and Postgres (optionally through proxies), with
 * its own metrics registry (so a test counts exactly its own outcomes), listening on a free port.
 * It serves the same routes and the same worker task queue as the stack's own API.
 */
export async function dedicatedApp(
  stack: TestStack,
  opts: {
    temporalAddress?: string;
    databaseUrl?: string;
    ack?: AckWindowOptions;
    readiness?: Readiness;
    /** Another config than the stack's (e.g. another relay lane). */
    config?: TestStack['config'];
  } = {},
): Promise<DedicatedApp> {
  // Through a proxy (a Temporal the test stalls): no gRPC retry interceptor, whose retries of the
  // calls a deadline abandoned would fire on a timer after close ("Channel has been shut down").
  const connection = await Connection.connect({
    address: opts.temporalAddress ?? stack.urls.temporal,
    ...(opts.temporalAddress ? { interceptors: [] } : {}),
  });
  const temporal = new Client({
    connection,
    namespace: stack.config.temporal.namespace,
    dataConverter: testDataConverter(stack.config.temporal),
  });
  const pool = createPool(opts.databaseUrl ?? stack.urls.databaseUrl, { onError: () => undefined });
  const metrics = createMetrics();
  const app = await buildApp({
    config: opts.config ?? stack.config,
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent' }),
    metrics,
    temporal,
    pool,
    repos: { inbound: inboundEventsRepo(pool), slackMessages: slackMessagesRepo(pool), audit: auditLogRepo(pool) },
    readiness: opts.readiness ?? (async () => ({})),
    flows,
    ack: opts.ack,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    metrics,
    pool,
    temporal,
    async close() {
      await app.close();
      await connection.close();
      await pool.end();
    },
  };
}

/** Sum of a counter's values whose labels include `labels`. */
export async function counted(metrics: Metrics, name: keyof Metrics, labels: Record<string, string> = {}) {
  const metric = metrics[name] as unknown as { get(): Promise<{ values: { labels: object; value: number }[] }> };
  const { values } = await metric.get();
  return values
    .filter((v) =>
      Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
    )
    .reduce((n, v) => n + v.value, 0);
}

/** Slack's v0 signature headers for a body, with a fresh timestamp. */
export function slackHeaders(secret: string, body: string, contentType: string, extra: Record<string, string> = {}) {
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': ts,
    'x-slack-signature': computeSlackSignature(secret, ts, body),
    ...extra,
  };
}

/** POSTs and reports status, body and how long the answer took; fails (rejects) after `timeoutMs`. */
export async function timedPost(url: string, body: string, headers: Record<string, string>, timeoutMs = 10_000) {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
    ms: performance.now() - started,
  };
}

/** A person's reply in a thread, as Slack's Events API envelope. */
export function threadReplyEnvelope(o: {
  eventId: string;
  channel: string;
  threadTs: string;
  user: string;
  text: string;
}) {
  const ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  return JSON.stringify({
    type: 'event_callback',
    event_id: o.eventId,
    event_time: Math.floor(Date.now() / 1000),
    api_app_id: 'A0THREADLN',
    team_id: 'T0THREADLN',
    event: { type: 'message', user: o.user, text: o.text, ts, thread_ts: o.threadTs, channel: o.channel },
  });
}

export { waitIdle } from './helpers.js';

/** The update ids of accepted updates with this name, in history order (a duplicate shows twice). */
export async function acceptedUpdates(temporal: Client, workflowId: string, name: string): Promise<string[]> {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest)
    .filter((r) => r?.input?.name === name)
    .map((r) => r!.meta?.updateId ?? '');
}

/** A payment lifecycle that owns a Slack thread (its root is recorded in slack_messages). */
export async function ownedPayment(stack: TestStack, pool: Pool, over: Record<string, unknown> = {}) {
  const orderId = `order_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const res = await fetch(`${stack.urls.api}/v1/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.config.apiKeys[0]}` },
    body: JSON.stringify({
      orderId,
      payerName: 'Priya Payer',
      amount: 987650,
      currency: 'INR',
      paymentType: 'full',
      ...over,
    }),
  });
  if (res.status !== 202) throw new Error(`payment not accepted: ${res.status} ${await res.text()}`);
  const workflowId = `payment:${orderId}`;
  const root = await waitUntil(async () => {
    const rows = await slackMessagesRepo(pool).bySubject(workflowId);
    return rows.find((r) => r.purpose === 'root');
  }, 20_000);
  return { orderId, workflowId, channel: root.channel, ts: root.ts };
}

/** Polls until `predicate` returns a truthy value (25 ms apart); rejects after `timeoutMs`. */
export async function waitUntil<T>(predicate: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The Razorpay webhook secret the stack's payments flow verifies with. */
export function razorpaySecret(stack: TestStack): string {
  return flowConfigOf(stack.config, paymentsFlow).razorpayWebhookSecret!;
}

/** The stack's API key as request headers. */
export function apiHeaders(stack: TestStack): Record<string, string> {
  return { authorization: `Bearer ${stack.config.apiKeys[0]!}`, 'content-type': 'application/json' };
}

/**
 * Files an approval through the API (approvers U0BOB and U0CAROL in C0APPROVAL unless `over`
 * says otherwise) and waits until at least `posts` of its messages are out; returns its channel post.
 */
export async function openApproval(stack: TestStack, over: Record<string, unknown> = {}, posts = 1) {
  const res = await fetch(`${stack.urls.api}/v1/approvals`, {
    method: 'POST',
    headers: apiHeaders(stack),
    body: JSON.stringify({
      title: `Approve ${randomUUID().slice(0, 6)}`,
      requester: 'U0ALICE',
      approvers: ['U0BOB', 'U0CAROL'],
      channel: 'C0APPROVAL',
      ...over,
    }),
  });
  if (res.status !== 201) throw new Error(`approval not created: ${res.status} ${await res.text()}`);
  const { approvalId } = (await res.json()) as { approvalId: string };
  const channelMsg = await waitUntil(async () => {
    const v = (await (
      await fetch(`${stack.urls.api}/v1/approvals/${approvalId}`, { headers: apiHeaders(stack) })
    ).json()) as { slack: { channel: string; ts: string; purpose: string }[] };
    return v.slack.length >= posts ? v.slack.find((m) => m.purpose === 'channel') : undefined;
  }, 60_000);
  return { approvalId, workflowId: `approval:${approvalId}`, channelMsg };
}

/** A Temporal client of its own (tests read histories with it). */
export async function temporalClient(address: string): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/** `user` clicks Approve on an approval's message, as a person in the emulator. */
export function clickApprove(slack: SlackEmulatorAdmin, user: string, msg: { channel: string; ts: string }) {
  return slack.clickButton({ user, channel: msg.channel, ts: msg.ts, action_id: 'tl:approval.approve' });
}
