import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { buildApp } from '../../../src/api/app.js';
import { flows } from '../../../src/flows/index.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { auditLogRepo, inboundEventsRepo, slackMessagesRepo } from '../../../src/platform/db/repositories.js';
import { computeSlackSignature } from '../../../src/integrations/slack/signature.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics, type Metrics } from '../../../src/platform/observability/metrics.js';
import { slackRequest, threadEventsIn } from '../../helpers/slack.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { waitIdle } from './ingress-helpers.js';

describe('Slack ingress through the real endpoints', () => {
  let stack: TestStack;
  let slack: SlackEmulatorAdmin;
  let pool: Pool;
  let secret: string;
  let temporalConnection: Connection;
  let temporal: Client;

  beforeAll(async () => {
    stack = await startTestStack();
    slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    pool = createPool(stack.urls.databaseUrl);
    secret = stack.config.slack.signingSecret;
    temporalConnection = await Connection.connect({ address: stack.urls.temporal });
    temporal = new Client({ connection: temporalConnection });
  });
  afterAll(async () => {
    await temporalConnection?.close();
    await pool?.end();
    await stack?.stop();
  });

  /** A lifecycle that owns a Slack thread: a payment (its root message is recorded in slack_messages). */
  async function ownedThread() {
    const orderId = `order_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const res = await fetch(`${stack.urls.api}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.config.apiKeys[0]}` },
      body: JSON.stringify({ orderId, payerName: 'Ingress Test', amount: 1000, currency: 'INR', paymentType: 'full' }),
    });
    expect(res.status).toBe(202);
    const workflowId = `payment:${orderId}`;
    const root = await slack.waitFor(async () => {
      const rows = await slackMessagesRepo(pool).bySubject(workflowId);
      return rows.find((r) => r.purpose === 'root');
    }, 20_000);
    return { workflowId, channel: root.channel, ts: root.ts };
  }

  it("answers Slack's signed url_verification handshake", async () => {
    const r = await slack.urlVerification();
    expect(r.verified).toBe(true);
  });

  it("routes a person's thread reply to the owning workflow exactly once, and never our own posts", async () => {
    const t = await ownedThread();
    const posted = await slack.postMessage({
      user: 'U0ALICE',
      channel: t.channel,
      text: 'looking into it',
      thread_ts: t.ts,
    });

    const delivery = await slack.waitFor(async () => {
      const ds = await slack.deliveries();
      return ds.find((d) => d.kind === 'event' && d.body.includes(posted.ts) && d.delivered);
    }, 10_000);
    const eventId = (JSON.parse(delivery.body) as { event_id: string }).event_id;
    await slack.waitFor(async () => (await inboundEventsRepo(pool).get('slack', eventId))?.status === 'handed_off');

    // Slack retries (x-slack-retry-num): acknowledged, not processed again, and counted.
    const retry = await slackRequest(`${stack.urls.api}/slack/events`, delivery.body, {
      secret,
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    expect(retry.status).toBe(200);
    const metrics = await (await fetch(`${stack.urls.api}/metrics`)).text();
    expect(metrics).toMatch(/threadline_slack_retries_total\{reason="http_timeout",num="1"\} [1-9]/);

    // Counted once the workflow is idle: a second signal or timeline entry would show here.
    await waitIdle(temporal, t.workflowId);
    const signals = await threadEventsIn(stack.urls.temporal, t.workflowId);
    expect(signals).toEqual([
      expect.objectContaining({
        eventId,
        kind: 'message',
        user: 'U0ALICE',
        text: 'looking into it',
        threadTs: t.ts,
        ts: posted.ts,
      }),
    ]);

    // The owning lifecycle recorded it once in its timeline (what GET /v1/payments/:id shows).
    const res = await fetch(`${stack.urls.api}/v1/payments/${t.workflowId.slice('payment:'.length)}`, {
      headers: { authorization: `Bearer ${stack.config.apiKeys[0]}` },
    });
    const { timeline } = (await res.json()) as { timeline: { kind: string; summary: string }[] };
    expect(timeline.filter((e) => e.kind === 'slack.message')).toEqual([
      expect.objectContaining({ summary: '<@U0ALICE> looking into it' }),
    ]);
    expect(await inboundEventsRepo(pool).get('slack', eventId)).toMatchObject({
      status: 'handed_off',
      subject: t.workflowId,
    });

    // The bot's own root post and its chat.update echoes were delivered too, and produced no signal.
    const echoes = (await slack.deliveries()).filter(
      (d) => d.kind === 'event' && d.body.includes('"bot_id":"B0TLBOT"') && d.body.includes(t.ts),
    );
    expect(echoes.length).toBeGreaterThan(0);
    expect(echoes.every((d) => d.delivered)).toBe(true);
  });

  it('routes edits, deletions and reactions in the thread', async () => {
    const t = await ownedThread();
    const posted = await slack.postMessage({ user: 'U0BOB', channel: t.channel, text: 'first', thread_ts: t.ts });
    await slack.editMessage({ user: 'U0BOB', channel: t.channel, ts: posted.ts, text: 'second' });
    await slack.addReaction({ user: 'U0CAROL', channel: t.channel, ts: t.ts, name: 'eyes' });
    await slack.deleteMessage({ user: 'U0BOB', channel: t.channel, ts: posted.ts });
    await slack.waitFor(async () => {
      const s = await threadEventsIn(stack.urls.temporal, t.workflowId);
      return s.length >= 4;
    }, 10_000);
    // Each exactly once: counted after the workflow is idle, not on the first look that saw four.
    await waitIdle(temporal, t.workflowId);
    const s = (await threadEventsIn(stack.urls.temporal, t.workflowId)) as { kind: string }[];
    expect(s.map((x) => x.kind).sort()).toEqual(['message', 'message_changed', 'message_deleted', 'reaction_added']);
  });

  /** What slack_messages holds of a subject in one channel (its root there, once recorded). */
  const threadRecords = async (workflowId: string, channel: string) =>
    (await slackMessagesRepo(pool).bySubject(workflowId)).filter((r) => r.channel === channel);

  it('parks a reply to a root it posted but has not recorded yet, and hands it to the workflow once the poster records the root', async () => {
    // The root's post commits in Slack but its answer is lost, and the retry's lookup fails until
    // the faults are cleared: Slack holds the root, slack_messages does not, and a person replies.
    const channel = 'C0TICKETS'; // no other test here posts in it
    await slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', channel });
    await slack.injectFault({ method: 'conversations.history', kind: 'status', status: 500, count: 10_000, channel });
    try {
      const id = randomUUID().replace(/-/g, '').slice(0, 12);
      const res = await fetch(`${stack.urls.api}/v1/approvals`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${stack.config.apiKeys[0]}`,
          'idempotency-key': `park-${id}`,
        },
        body: JSON.stringify({ title: `Parked ${id}`, requester: 'alice@example.com', approvers: ['U0BOB'], channel }),
      });
      expect(res.status).toBe(201);
      const { workflowId } = (await res.json()) as { workflowId: string };
      const root = await slack.waitFor(async () => {
        const ms = await slack.channelMessages(channel);
        return ms.find((m) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === workflowId);
      }, 60_000);
      expect(await threadRecords(workflowId, channel)).toEqual([]);

      const reply = await slack.postMessage({
        user: 'U0ALICE',
        channel,
        text: 'before the record',
        thread_ts: root.ts,
      });
      const delivery = await slack.waitFor(async () => {
        const ds = await slack.deliveries();
        return ds.find((d) => d.kind === 'event' && d.body.includes(reply.ts) && d.delivered);
      }, 60_000);
      const eventId = (JSON.parse(delivery.body) as { event_id: string }).event_id;
      expect(delivery.body).toContain('"parent_user_id":"U0TLBOT"');
      // Acked, parked (sealed), nothing queued: the root is still unknown to the database.
      const parked = await pool.query('SELECT channel, thread_ts FROM slack_parked_events WHERE event_id = $1', [
        eventId,
      ]);
      expect(parked.rows).toEqual([{ channel, thread_ts: root.ts }]);
      expect(await inboundEventsRepo(pool).get('slack', eventId)).toBeUndefined();
      expect(await threadRecords(workflowId, channel)).toEqual([]);

      // The lookup works again: the retry records the root and releases the reply in that transaction.
      await slack.clearFaults();
      await slack.waitFor(
        async () => (await inboundEventsRepo(pool).get('slack', eventId))?.status === 'handed_off',
        60_000,
      );
      await waitIdle(temporal, workflowId);
      const signals = await threadEventsIn(stack.urls.temporal, workflowId);
      expect(signals).toEqual([
        expect.objectContaining({ eventId, kind: 'message', user: 'U0ALICE', text: 'before the record', ts: reply.ts }),
      ]);
      expect(await inboundEventsRepo(pool).get('slack', eventId)).toMatchObject({ subject: workflowId });
      expect((await pool.query('SELECT 1 FROM slack_parked_events WHERE event_id = $1', [eventId])).rows).toEqual([]);
      // One root in Slack and in the record: the lookup found the committed post instead of posting again.
      const roots = (await slack.channelMessages(channel)).filter(
        (m) =>
          (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === workflowId &&
          (m.thread_ts === undefined || m.thread_ts === m.ts),
      );
      expect(roots.map((m) => m.ts)).toEqual([root.ts]);
      const metrics = await (await fetch(`${stack.urls.api}/metrics`)).text();
      expect(metrics).toMatch(/threadline_slack_parked_events_total\{outcome="parked"\} [1-9]/);
      expect(metrics).toMatch(/threadline_slack_parked_events_total\{outcome="released"\} [1-9]/);
    } finally {
      await slack.clearFaults();
    }
  });

  it('ignores messages in threads it does not own', async () => {
    const top = await slack.postMessage({ user: 'U0ALICE', channel: 'C0OPSALERT', text: 'unrelated' });
    const reply = await slack.postMessage({ user: 'U0BOB', channel: 'C0OPSALERT', text: 'reply', thread_ts: top.ts });
    const delivery = await slack.waitFor(async () => {
      const ds = await slack.deliveries();
      return ds.find((d) => d.kind === 'event' && d.body.includes(reply.ts) && d.delivered);
    }, 10_000);
    const eventId = (JSON.parse(delivery.body) as { event_id: string }).event_id;
    expect(await inboundEventsRepo(pool).get('slack', eventId)).toBeUndefined();
  });

  describe('rejects bad input with 4xx and no side effect', () => {
    // A dedicated app instance over the same Temporal and Postgres: its own metrics registry counts
    // every ledger claim it makes, and no background delivery from other tests can reach it.
    let app: FastifyInstance;
    let connection: Connection;
    let registry: Metrics;
    beforeAll(async () => {
      connection = await Connection.connect({ address: stack.urls.temporal });
      registry = createMetrics();
      app = await buildApp({
        config: stack.config,
        logger: createLogger({ level: 'silent' }),
        metrics: registry,
        temporal: new Client({ connection, dataConverter: testDataConverter(stack.config.temporal) }),
        pool,
        repos: { inbound: inboundEventsRepo(pool), slackMessages: slackMessagesRepo(pool), audit: auditLogRepo(pool) },
        readiness: async () => ({}),
        flows,
      });
    });
    afterAll(async () => {
      await app?.close();
      await connection?.close();
    });
    const ledgerClaims = async () =>
      (await registry.inboundEvents.get()).values
        .filter((v) => ['handed_off', 'duplicate', 'ignored', 'failed'].includes(String(v.labels.outcome)))
        .reduce((n, v) => n + v.value, 0);
    const post = (url: string, payload: string, headers: Record<string, string>) =>
      app.inject({ method: 'POST', url, payload, headers });
    const signed = (
      payload: string,
      contentType = 'application/json',
      ts = Math.floor(Date.now() / 1000),
      key = secret,
    ) => ({
      'content-type': contentType,
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': computeSlackSignature(key, String(ts), payload),
    });
    const eventBody = () => {
      const eventId = `Ev${randomUUID()}`;
      const payload = JSON.stringify({
        type: 'event_callback',
        event_id: eventId,
        event_time: 1,
        api_app_id: 'A0THREADLN',
        event: { type: 'message', user: 'U0ALICE', text: 'x', ts: '2.2', thread_ts: '1.1', channel: 'C0PAYMENTS' },
      });
      return { eventId, payload };
    };

    it.each([
      ['unsigned', (_p: string) => ({ 'content-type': 'application/json' }), 'missing_signature'],
      [
        'stale timestamp',
        (p: string) => signed(p, 'application/json', Math.floor(Date.now() / 1000) - 301),
        'stale_timestamp',
      ],
      [
        'future timestamp',
        (p: string) => signed(p, 'application/json', Math.floor(Date.now() / 1000) + 400),
        'stale_timestamp',
      ],
      ['wrong secret', (p: string) => signed(p, 'application/json', undefined, 'not-the-secret'), 'bad_signature'],
    ])('%s → 401', async (_n, headers, code) => {
      const { eventId, payload } = eventBody();
      const before = await ledgerClaims();
      const res = await post('/slack/events', payload, headers(payload));
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: code });
      expect(res.headers['x-slack-no-retry']).toBe('1'); // a retry of a refused request cannot help
      expect(await ledgerClaims()).toBe(before);
      expect(await inboundEventsRepo(pool).get('slack', eventId)).toBeUndefined();
    });

    it('tampered body → 401', async () => {
      const { eventId, payload } = eventBody();
      const res = await post('/slack/events', payload.replace('"x"', '"y"'), signed(payload));
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'bad_signature' });
      expect(await inboundEventsRepo(pool).get('slack', eventId)).toBeUndefined();
    });

    const form = 'application/x-www-form-urlencoded';
    it.each([
      [
        'wrong content type',
        '/slack/events',
        '{"type":"url_verification","challenge":"c"}',
        'text/plain',
        'unsupported_content_type',
        /application\/json/,
      ],
      ['malformed JSON', '/slack/events', '{"type":', 'application/json', 'invalid_json', /not valid JSON/],
      [
        'missing event_id',
        '/slack/events',
        JSON.stringify({ type: 'event_callback', event_time: 1, event: { type: 'message' } }),
        'application/json',
        'invalid_payload',
        /event_id/,
      ],
      [
        'unknown envelope type',
        '/slack/events',
        JSON.stringify({ type: 'mystery' }),
        'application/json',
        'invalid_payload',
        /type/,
      ],
      ['interaction without payload', '/slack/interactions', 'foo=bar', form, 'missing_payload', /payload/],
      ['interaction with broken JSON', '/slack/interactions', 'payload=%7Bnope', form, 'invalid_json', /payload/],
      [
        'interaction as JSON',
        '/slack/interactions',
        '{"type":"block_actions"}',
        'application/json',
        'unsupported_content_type',
        /x-www-form-urlencoded/,
      ],
      [
        'block_actions without actions',
        '/slack/interactions',
        `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U0ALICE' }, trigger_id: 't' }))}`,
        form,
        'invalid_payload',
        /actions/,
      ],
      [
        'command without user_id',
        '/slack/commands',
        'command=%2Fthreadline&text=help&channel_id=C1&response_url=x&trigger_id=t',
        form,
        'invalid_payload',
        /user_id/,
      ],
    ])('%s → 400 naming the problem', async (_n, path, body, type, code, msg) => {
      const before = await ledgerClaims();
      const res = await post(path, body, signed(body, type));
      expect(res.statusCode).toBe(400);
      expect(res.headers['x-slack-no-retry']).toBe('1');
      const json = res.json<{ error: string; message: string }>();
      expect(json.error).toBe(code);
      expect(json.message).toMatch(msg);
      expect(await ledgerClaims()).toBe(before);
    });
  });

  it('acknowledges unknown event types without processing them, and counts them', async () => {
    const res = await slackRequest(
      `${stack.urls.api}/slack/events`,
      JSON.stringify({
        type: 'event_callback',
        event_id: `Ev${randomUUID()}`,
        event_time: 1,
        event: { type: 'team_join', user: { id: 'U9' } },
      }),
      { secret },
    );
    expect(res.status).toBe(200);
    const metrics = await (await fetch(`${stack.urls.api}/metrics`)).text();
    expect(metrics).toMatch(
      /threadline_inbound_events_total\{source="slack",type="team_join",outcome="unsupported"\} [1-9]/,
    );
  });

  it('answers ssl_check probes, /threadline help at once, and /threadline status through response_url', async () => {
    const probe = await fetch(`${stack.urls.api}/slack/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ssl_check=1&token=x',
    });
    expect(probe.status).toBe(200);

    const help = await slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0OPSALERT',
      command: '/threadline',
      text: 'help',
    });
    expect(help.delivery.status).toBe(200);
    expect(JSON.stringify(help.delivery.response)).toContain('/threadline status');

    const t = await ownedThread();
    const status = await slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0OPSALERT',
      command: '/threadline',
      text: `status ${t.workflowId}`,
    });
    expect(JSON.stringify(status.delivery.response)).toContain('Looking up');
    const answer = await slack.waitFor(async () => {
      const posts = await slack.responseUrlPosts();
      return posts.find((p) => status.response_url.endsWith(`/${p.id}`));
    }, 15_000);
    expect(JSON.stringify(answer)).toContain(t.workflowId);
    // Answered from the live workflow (threadlineStatus query), not a fallback.
    expect(JSON.stringify(answer)).toContain('Ingress Test');
    expect(JSON.stringify(answer)).toContain('ephemeral');
  });

  it('ignores clicks on buttons that are not ours', async () => {
    const msg = await slack.postMessage({
      user: 'U0ALICE',
      channel: 'C0OPSALERT',
      text: 'foreign',
      blocks: [
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'other_app_button', text: { type: 'plain_text', text: 'Go' }, value: 'v' },
          ],
        },
      ],
    });
    const click = await slack.clickButton({
      user: 'U0BOB',
      channel: 'C0OPSALERT',
      ts: msg.ts,
      action_id: 'other_app_button',
    });
    expect(click.delivery.status).toBe(200);
    expect(await inboundEventsRepo(pool).get('slack_interaction', click.trigger_id)).toBeUndefined();
  });

  it('acks while its Temporal is unreachable (the event is recorded), and the relay hands it off once', async () => {
    const t = await ownedThread();
    const deadClient = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 300 }) });
    const deps = {
      config: stack.config,
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics(),
      pool,
      repos: { inbound: inboundEventsRepo(pool), slackMessages: slackMessagesRepo(pool), audit: auditLogRepo(pool) },
      readiness: async () => ({}),
      flows,
    };
    const down = await buildApp({ ...deps, temporal: deadClient });
    const eventId = `Ev${randomUUID()}`;
    const payload = JSON.stringify({
      type: 'event_callback',
      event_id: eventId,
      event_time: 1732250000,
      api_app_id: 'A0THREADLN',
      event: {
        type: 'message',
        user: 'U0DAVE',
        text: 'during outage',
        ts: '1999999999.000001',
        thread_ts: t.ts,
        channel: t.channel,
      },
    });
    const sign = () => {
      const ts = String(Math.floor(Date.now() / 1000));
      return {
        'content-type': 'application/json',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': computeSlackSignature(secret, ts, payload),
      };
    };
    const acked = await down.inject({ method: 'POST', url: '/slack/events', headers: sign(), payload });
    expect(acked.statusCode).toBe(200);
    await down.close();

    // Retries (had Slack not seen the 200) reach a healthy instance: duplicates; the stack's relay sends it once.
    const connection = await Connection.connect({ address: stack.urls.temporal });
    const up = await buildApp({
      ...deps,
      temporal: new Client({ connection, dataConverter: testDataConverter(stack.config.temporal) }),
    });
    const ok = await up.inject({
      method: 'POST',
      url: '/slack/events',
      headers: { ...sign(), 'x-slack-retry-num': '1' },
      payload,
    });
    expect(ok.statusCode).toBe(200);
    const again = await up.inject({
      method: 'POST',
      url: '/slack/events',
      headers: { ...sign(), 'x-slack-retry-num': '2' },
      payload,
    });
    expect(again.statusCode).toBe(200);
    const duplicates = await deps.metrics.inboundEvents.get();
    expect(duplicates.values.filter((v) => v.labels.outcome === 'duplicate').reduce((n, v) => n + v.value, 0)).toBe(2);
    await slack.waitFor(
      async () => ((await inboundEventsRepo(pool).get('slack', eventId))?.status === 'handed_off' ? true : undefined),
      60_000,
    );
    await waitIdle(temporal, t.workflowId);
    const signals = (await threadEventsIn(stack.urls.temporal, t.workflowId)) as { eventId: string }[];
    expect(signals.filter((s) => s.eventId === eventId)).toHaveLength(1);
    await up.close();
    await connection.close();
  });
});
