import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createReadiness } from '../../../src/api/readiness.js';
import { flows } from '../../../src/flows/index.js';
import { migrationDirs } from '../../../src/platform/db/migrate.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics, type Metrics } from '../../../src/platform/observability/metrics.js';
import { createCallSealer, relayLane } from '../../../src/platform/relay/call.js';
import { createRelay, SUBJECT_LOCK_CLASS, type Relay } from '../../../src/platform/relay/relay.js';
import { signalsIn, threadEventsIn } from '../../helpers/slack.js';
import { paymentStateQuery } from '../../../src/flows/payments/contract.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { freePort } from '../../helpers/ports.js';
import { spawnApi } from '../../helpers/worker-process.js';
import {
  type TcpProxy,
  counted,
  dedicatedApp,
  hostPort,
  ownedPayment,
  slackHeaders,
  startTcpProxy,
  threadReplyEnvelope,
  timedPost,
  waitIdle,
  waitUntil,
} from './ingress-helpers.js';

/**
 * The outbox ack: `/slack/events` answers once the delivery is recorded, and a relay hands it to
 * Temporal after. Each test runs its app and relays on a lane of its own (another task queue name:
 * the lane is `<namespace>/<task queue>`), so the stack's own relay leaves its rows alone, while the
 * signals still reach the stack's workflows (a signal names a workflow id, not a queue).
 */
describe('the relay hands acked Slack events to Temporal', () => {
  let stack: TestStack;
  let pool: Pool;
  let connection: Connection;
  let temporal: Client;
  const silent = createLogger({ level: 'silent' });
  const cleanups: (() => Promise<void>)[] = [];
  type Thread = Awaited<ReturnType<typeof ownedPayment>>;
  /** The threads the tests reply in, filed at once up front (each waits for its root post). */
  let threads: Thread[];
  /** The API process the kill -9 test kills (started up front: its start is the slow part), and its Temporal proxy. */
  let doomed: { api: Awaited<ReturnType<typeof spawnApi>>; port: number; proxy: TcpProxy };

  beforeAll(async () => {
    stack = await startTestStack();
    pool = createPool(stack.urls.databaseUrl);
    connection = await Connection.connect({ address: stack.urls.temporal });
    temporal = new Client({ connection, dataConverter: testDataConverter(stack.config.temporal) });
    const proxy = await startTcpProxy(hostPort(stack.urls.temporal));
    cleanups.push(() => proxy.close());
    const port = await freePort();
    const [api, ...filed] = await Promise.all([
      spawnApi({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        THREADLINE_SANDBOX: 'true',
        HOST: '127.0.0.1',
        PORT: String(port),
        TEMPORAL_TASK_QUEUE: laneConfig('kill').temporal.taskQueue,
        DATABASE_URL: inject('databaseUrl'),
        TEMPORAL_ADDRESS: proxy.address,
      }),
      ...Array.from({ length: 7 }, () => ownedPayment(stack, pool)),
    ]);
    cleanups.push(() => api.kill9());
    doomed = { api, port, proxy };
    threads = filed;
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await connection?.close();
    await pool?.end();
    await stack?.stop();
  });

  const laneConfig = (name: string) => ({
    ...stack.config,
    temporal: { ...stack.config.temporal, taskQueue: `${stack.taskQueue}-${name}` },
  });

  function relayOn(config: TestStack['config'], client: Client, metrics: Metrics, batchSize = 100): Relay {
    const relay = createRelay({
      pool,
      temporal: client,
      sealer: createCallSealer(config.temporal),
      lane: relayLane(config.temporal),
      metrics,
      log: silent,
      options: { pollIntervalMs: 200, batchSize, callTimeoutMs: 1_500 },
    });
    cleanups.push(() => relay.stop());
    return relay;
  }

  const ledgerRow = async (eventId: string) =>
    (
      await pool.query<{ status: string; relay_attempts: number; relay_error: string | null; claims: number }>(
        `SELECT status, relay_attempts, relay_error, claims FROM inbound_events WHERE source = 'slack' AND event_id = $1`,
        [eventId],
      )
    ).rows[0];

  /** A person's reply in `t`'s thread, as Slack's signed Events API delivery: its event id and body. */
  const reply = (t: Thread, text: string) => {
    const eventId = `Ev${randomUUID()}`;
    const body = threadReplyEnvelope({ eventId, channel: t.channel, threadTs: t.ts, user: 'U0DAVE', text });
    return {
      eventId,
      body,
      headers: (extra: Record<string, string> = {}) =>
        slackHeaders(stack.config.slack.signingSecret, body, 'application/json', extra),
    };
  };

  /** Waits until every one of these Slack deliveries is marked handed off. */
  const allHandedOff = (eventIds: string[]) =>
    waitUntil(async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbound_events WHERE source = 'slack' AND event_id = ANY($1) AND status = 'handed_off'`,
        [eventIds],
      );
      return rows[0]!.n === eventIds.length;
    }, 60_000);

  const eventIdsSignalled = async (workflowId: string) =>
    ((await threadEventsIn(stack.urls.temporal, workflowId)) as { eventId: string }[]).map((s) => s.eventId);

  it('an event acked while Temporal is unreachable is handed off once after it comes back', async () => {
    const config = laneConfig('outage');
    const proxy = await startTcpProxy(hostPort(stack.urls.temporal));
    cleanups.push(() => proxy.close());
    const app = await dedicatedApp(stack, { temporalAddress: proxy.address, config });
    cleanups.push(() => app.close());
    const relay = relayOn(config, app.temporal, app.metrics);
    relay.start();
    const t = threads[0]!;

    proxy.stall(); // Temporal hangs: every call waits for its deadline
    const { eventId, body, headers } = reply(t, 'during outage');
    const first = await timedPost(`${app.url}/slack/events`, body, headers());
    expect(first.status).toBe(200);
    // Slack's redelivery of the same event is a duplicate of what is recorded, not a second row.
    const retry = await timedPost(
      `${app.url}/slack/events`,
      body,
      headers({ 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'timeout' }),
    );
    expect(retry.status).toBe(200);
    expect(await counted(app.metrics, 'inboundEvents', { source: 'slack', outcome: 'duplicate' })).toBe(1);

    // The relay keeps trying with Temporal down, and the event waits in the ledger.
    const waiting = await waitUntil(async () => {
      const r = await ledgerRow(eventId);
      return r && r.relay_attempts >= 2 ? r : undefined;
    }, 60_000);
    expect(waiting).toMatchObject({ status: 'queued', claims: 1 });
    expect(waiting.relay_error).toBeTruthy();
    expect(await eventIdsSignalled(t.workflowId)).not.toContain(eventId);

    proxy.reset(); // drop what the stall held (it never reached Temporal), then Temporal is back
    proxy.pass();
    await waitUntil(async () => (await ledgerRow(eventId))?.status === 'handed_off', 60_000);
    await waitIdle(temporal, t.workflowId);
    expect((await eventIdsSignalled(t.workflowId)).filter((id) => id === eventId)).toHaveLength(1);
    expect(await counted(app.metrics, 'relayHandOffs', { outcome: 'retry' })).toBeGreaterThanOrEqual(2);
    expect(await counted(app.metrics, 'relayHandOffs', { outcome: 'handed_off' })).toBe(1);
    const lag = await app.metrics.relayLag.get();
    expect(lag.values.find((v) => v.metricName === 'threadline_relay_lag_seconds_count')?.value).toBe(1);
  });

  it('two relays racing a backlog hand off each event once, in order per thread', async () => {
    const config = laneConfig('race');
    const app = await dedicatedApp(stack, { config });
    cleanups.push(() => app.close());
    const racing = threads.slice(1, 5);
    // The backlog, recorded through the endpoint while no relay runs on this lane: 6 replies per thread, interleaved.
    const sent = new Map<string, string[]>(racing.map((t) => [t.workflowId, []]));
    for (let i = 0; i < 6; i++) {
      for (const t of racing) {
        const { eventId, body, headers } = reply(t, `reply ${i}`);
        const res = await app.app.inject({
          method: 'POST',
          url: '/slack/events',
          headers: headers(),
          payload: body,
        });
        expect(res.statusCode).toBe(200);
        sent.get(t.workflowId)!.push(eventId);
      }
    }
    const all = [...sent.values()].flat();
    // Two relays (their own Temporal connections, as two API processes would have), small batches so they contend.
    const second = await Connection.connect({ address: stack.urls.temporal });
    cleanups.push(() => second.close());
    const metrics = [createMetrics(), createMetrics()];
    const relays = [
      relayOn(config, app.temporal, metrics[0]!, 2),
      relayOn(
        config,
        new Client({ connection: second, dataConverter: testDataConverter(stack.config.temporal) }),
        metrics[1]!,
        2,
      ),
    ];
    relays.forEach((r) => r.start());
    await allHandedOff(all);
    for (const t of racing) {
      await waitIdle(temporal, t.workflowId);
      const ours = new Set(sent.get(t.workflowId));
      // History order is the order recorded, and each event is there once.
      expect((await eventIdsSignalled(t.workflowId)).filter((id) => ours.has(id))).toEqual(sent.get(t.workflowId));
    }
    const byRelay = await Promise.all(metrics.map((m) => counted(m, 'relayHandOffs', { outcome: 'handed_off' })));
    expect(byRelay[0]! + byRelay[1]!).toBe(all.length);
  });

  it("a thread's backlog goes to its workflow as one batch signal, in order, and every event is applied once", async () => {
    const config = laneConfig('batch');
    const app = await dedicatedApp(stack, { config });
    cleanups.push(() => app.close());
    const t = threads[6]!;
    // Recorded through the endpoint while no relay runs on this lane; one of them delivered twice.
    const sent: { eventId: string; text: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const text = `backlog ${i} ${randomUUID().slice(0, 8)}`;
      const { eventId, body, headers } = reply(t, text);
      for (let n = 0; n < (i === 3 ? 2 : 1); n++) {
        const res = await app.app.inject({ method: 'POST', url: '/slack/events', headers: headers(), payload: body });
        expect(res.statusCode).toBe(200);
      }
      sent.push({ eventId, text });
    }
    const metrics = createMetrics();
    const relay = relayOn(config, app.temporal, metrics);
    relay.start();
    await allHandedOff(sent.map((s) => s.eventId));
    await waitIdle(temporal, t.workflowId);
    // What Temporal received: one `slackThreadEvents` signal carrying the eight, oldest first.
    const batches = (await signalsIn(stack.urls.temporal, t.workflowId, 'slackThreadEvents')) as {
      eventId: string;
    }[][];
    expect(batches.map((b) => b.map((e) => e.eventId))).toEqual([sent.map((s) => s.eventId)]);
    expect(await counted(metrics, 'relayCalls', { rows: 'batch' })).toBe(1);
    expect(await counted(metrics, 'relayBatchedRows')).toBe(8);
    // What the workflow made of it: each reply once in the payment's timeline, in order.
    const state = await temporal.workflow.getHandle(t.workflowId).query(paymentStateQuery);
    const replies = state.timeline.filter((e) => e.kind === 'slack.message').map((e) => e.eventId);
    expect(replies.filter((id) => sent.some((s) => s.eventId === id))).toEqual(sent.map((s) => s.eventId));

    // A backlog longer than one batch may carry (50): two signals, in order, nothing lost.
    await relay.stop();
    const more: string[] = [];
    for (let i = 0; i < 55; i++) {
      const { eventId, body, headers } = reply(t, `long backlog ${i}`);
      const res = await app.app.inject({ method: 'POST', url: '/slack/events', headers: headers(), payload: body });
      expect(res.statusCode).toBe(200);
      more.push(eventId);
    }
    relay.start();
    await allHandedOff(more);
    await waitIdle(temporal, t.workflowId);
    const later = ((await signalsIn(stack.urls.temporal, t.workflowId, 'slackThreadEvents')) as { eventId: string }[][])
      .slice(1)
      .map((b) => b.map((e) => e.eventId));
    expect(later.map((b) => b.length)).toEqual([50, 5]);
    expect(later.flat()).toEqual(more);
  });

  it('/readyz reports a stuck relay while Temporal answers, and recovers once the backlog moves', async () => {
    const config = laneConfig('stuck');
    const metrics = createMetrics();
    const relay = relayOn(config, temporal, metrics); // not started yet: nothing sends this lane
    const readiness = createReadiness({
      client: temporal,
      pool,
      namespace: config.temporal.namespace,
      taskQueue: stack.taskQueue,
      migrationDirs: migrationDirs(flows),
      relay: { stats: relay.stats, lastError: relay.lastError, stuckAfterMs: 500 },
    });
    const app = await dedicatedApp(stack, { config, readiness });
    cleanups.push(() => app.close());
    const t = threads[5]!;
    const { eventId, body, headers } = reply(t, 'stuck');
    const res = await timedPost(`${app.url}/slack/events`, body, headers());
    expect(res.status).toBe(200);

    const stuck = await waitUntil(async () => {
      const r = await fetch(`${app.url}/readyz`);
      const j = (await r.json()) as { failing?: string[]; checks: Record<string, { ok: boolean; error?: string }> };
      return r.status === 503 && j.failing?.includes('relay') ? j : undefined;
    }, 60_000);
    expect(stuck.checks.relay!.error).toMatch(/relay stuck: 1 queued/);
    expect(stuck.checks.temporal!.ok).toBe(true);

    relay.start();
    await waitUntil(async () => (await ledgerRow(eventId))?.status === 'handed_off', 60_000);
    const ready = (await (await fetch(`${app.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };
    expect(ready.checks.relay!.ok).toBe(true);
    await waitIdle(temporal, t.workflowId);
    expect((await eventIdsSignalled(t.workflowId)).filter((id) => id === eventId)).toHaveLength(1);
  });

  it('kill -9 of the API in the middle of a hand-off: the next relay hands the acked event off once', async () => {
    const config = laneConfig('kill');
    const { api, port, proxy } = doomed;
    // A thread of its own: the outage test's thread, whose workflow is idle by now.
    const t = threads[0]!;
    proxy.stall(); // the API's relay will be holding the row, its call hanging, when it dies
    const { eventId, body, headers } = reply(t, 'then a crash');
    const res = await timedPost(`http://127.0.0.1:${port}/slack/events`, body, headers());
    expect(res.status).toBe(200);
    // The dying API's relay is sending it: it holds the thread's subject lock (the relay's
    // per-subject advisory lock, taken for its open round; rows themselves are read unlocked).
    await waitUntil(async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND classid = $2 AND objsubid = 2
           AND objid::bigint = (hashtext($1)::bigint + 4294967296) % 4294967296`,
        [t.workflowId, SUBJECT_LOCK_CLASS],
      );
      return rows[0]!.n > 0;
    }, 60_000);
    await api.kill9();
    expect((await ledgerRow(eventId))?.status).toBe('queued');

    proxy.reset();
    proxy.pass();
    const next = relayOn(config, temporal, createMetrics());
    next.start();
    await waitUntil(async () => (await ledgerRow(eventId))?.status === 'handed_off', 60_000);
    await waitIdle(temporal, t.workflowId);
    expect((await eventIdsSignalled(t.workflowId)).filter((id) => id === eventId)).toHaveLength(1);
  });
});
