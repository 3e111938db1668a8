import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { inboundEventsRepo } from '../../../src/platform/db/repositories.js';
import { razorpayEvent, signRazorpay } from '../../fixtures/razorpay/build.js';
import { signalsIn, threadEventsIn } from '../../helpers/slack.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import {
  acceptedUpdates,
  apiHeaders,
  openApproval,
  counted,
  dedicatedApp,
  hostPort,
  ownedPayment,
  razorpaySecret,
  slackHeaders,
  startTcpProxy,
  threadReplyEnvelope,
  timedPost,
  waitUntil,
  waitIdle,
  type DedicatedApp,
  type TcpProxy,
  clickApprove,
} from './ingress-helpers.js';

/**
 * Issue 18: "exactly once" at the ingress, asserted so that a duplicate would show. Concurrent
 * deliveries of one webhook overlap for real (Temporal answers through a proxy that adds latency,
 * so all three are in flight together); effects are counted once the workflow is idle.
 */
describe('ingress dedup under concurrent and repeated deliveries', () => {
  let stack: TestStack;
  let pool: Pool;
  let slack: SlackEmulatorAdmin;
  let connection: Connection;
  let temporal: Client;
  let proxy: TcpProxy;
  let app: DedicatedApp;
  let opened: DedicatedApp | undefined;

  beforeAll(async () => {
    stack = await startTestStack();
    pool = createPool(stack.urls.databaseUrl);
    slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    connection = await Connection.connect({ address: stack.urls.temporal });
    temporal = new Client({ connection });
    proxy = await startTcpProxy(hostPort(stack.urls.temporal));
  });
  afterEach(async () => {
    proxy.pass();
    await opened?.close();
    opened = undefined;
  });
  afterAll(async () => {
    await proxy?.close();
    await connection?.close();
    await pool?.end();
    await stack?.stop();
  });

  it('three concurrent deliveries of one Slack event: one recorded, two duplicates, one signal', async () => {
    app = opened = await dedicatedApp(stack, { temporalAddress: proxy.address });
    const t = await ownedPayment(stack, pool);
    const eventId = `Ev${randomUUID()}`;
    const body = threadReplyEnvelope({
      eventId,
      channel: t.channel,
      threadTs: t.ts,
      user: 'U0CAROL',
      text: 'said three times',
    });
    proxy.delay(150); // the first hand-off takes ≥ 300 ms: the other two arrive while it is in flight
    const answers = await Promise.all(
      [0, 1, 2].map(() =>
        timedPost(
          `${app.url}/slack/events`,
          body,
          slackHeaders(stack.config.slack.signingSecret, body, 'application/json'),
        ),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(await counted(app.metrics, 'inboundEvents', { type: 'message', outcome: 'queued' })).toBe(1);
    expect(await counted(app.metrics, 'inboundEvents', { type: 'message', outcome: 'duplicate' })).toBe(2);

    // The stack's relay hands the recorded event off; count once it has and the workflow is idle.
    await waitUntil(async () => (await inboundEventsRepo(pool).get('slack', eventId))?.status === 'handed_off', 60_000);
    await waitIdle(temporal, t.workflowId);
    const signals = (await threadEventsIn(stack.urls.temporal, t.workflowId)) as { eventId: string }[];
    expect(signals.filter((s) => s.eventId === eventId)).toHaveLength(1);
    expect(await inboundEventsRepo(pool).get('slack', eventId)).toMatchObject({ status: 'handed_off', claims: 1 });
  });

  it('three concurrent deliveries of one Razorpay event: one queued and two duplicate answers; one reply in the thread', async () => {
    app = opened = await dedicatedApp(stack, { temporalAddress: proxy.address });
    const t = await ownedPayment(stack, pool);
    await waitIdle(temporal, t.workflowId);
    const repliesBefore = (await slack.threadReplies(t.channel, t.ts)).length;
    const eventId = `evt_${randomUUID().slice(0, 18)}`;
    const body = JSON.stringify(
      razorpayEvent('payment.captured', { orderId: t.orderId, paymentId: `pay_${t.orderId.slice(6)}`, amount: 987650 }),
    );
    const headers = {
      'content-type': 'application/json',
      'x-razorpay-event-id': eventId,
      'x-razorpay-signature': signRazorpay(razorpaySecret(stack), body),
    };
    proxy.delay(150);
    const answers = await Promise.all([0, 1, 2].map(() => timedPost(`${app.url}/webhooks/razorpay`, body, headers)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.json().status).sort()).toEqual(['duplicate', 'duplicate', 'queued']);
    proxy.pass();

    // The stack's relay hands the recorded event off; count once it has and the workflow is idle.
    await waitUntil(
      async () => (await inboundEventsRepo(pool).get('razorpay', eventId))?.status === 'handed_off',
      60_000,
    );
    await waitIdle(temporal, t.workflowId);
    const signals = await signalsIn(stack.urls.temporal, t.workflowId, 'paymentEvent');
    expect(signals.filter((s) => JSON.stringify(s).includes(eventId))).toHaveLength(1);
    const replies = await slack.threadReplies(t.channel, t.ts);
    expect(replies.length - repliesBefore).toBe(1);
  });

  it('a click delivered twice (same trigger_id) is one update in history, also when the ledger lost its mark', async () => {
    const {
      approvalId,
      workflowId,
      channelMsg: msg,
    } = await openApproval(stack, {
      title: `Grant access ${randomUUID().slice(0, 6)}`,
      policy: { required: 2 },
    });

    const click = await clickApprove(slack, 'U0BOB', msg);
    expect(click.delivery.status).toBe(200);
    const delivered = (await slack.deliveries()).find((d) => d.body.includes(click.trigger_id))!;
    const again = () =>
      timedPost(
        `${stack.urls.api}/slack/interactions`,
        delivered.body,
        slackHeaders(stack.config.slack.signingSecret, delivered.body, 'application/x-www-form-urlencoded'),
      );

    expect((await again()).status).toBe(200); // the ledger: a duplicate, no Temporal call
    // As if we had crashed between the update and the ledger mark: the re-delivery is sent again,
    // and Temporal dedups it by update id (= trigger_id).
    await pool.query(
      `UPDATE inbound_events SET status = 'received' WHERE source = 'slack_interaction' AND event_id = $1`,
      [click.trigger_id],
    );
    expect((await again()).status).toBe(200);
    expect(await inboundEventsRepo(pool).get('slack_interaction', click.trigger_id)).toMatchObject({
      status: 'handed_off',
      claims: 2,
    });

    await waitIdle(temporal, workflowId);
    expect(await acceptedUpdates(temporal, workflowId, 'slackActionUpdate')).toEqual([click.trigger_id]);
    const view = (await (
      await fetch(`${stack.urls.api}/v1/approvals/${approvalId}`, { headers: apiHeaders(stack) })
    ).json()) as {
      votes: { user: string }[];
      status: string;
    };
    expect(view.votes.filter((v) => v.user === 'U0BOB')).toHaveLength(1);
    expect(view.status).toBe('pending');
  });
});
