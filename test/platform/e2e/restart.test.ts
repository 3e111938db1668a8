import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../dev/stack.js';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../emulators/slack/admin-client.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { deliverRazorpay, razorpayEvent } from '../../fixtures/razorpay/build.js';
import { freePort } from '../../helpers/ports.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';
import { paymentWorkflowId } from '../../../src/flows/payments/contract.js';

const EventType = temporal.api.enums.v1.EventType;
const { PENDING_ACTIVITY_STATE_STARTED } = temporal.api.enums.v1.PendingActivityState;

/**
 * `npm start` twice on the same data directory (the stack `npm start` runs, in process, with the
 * embedded engines): the embedded Temporal (SQLite file), the embedded Postgres and the emulator
 * snapshots persist, so lifecycles that were waiting resume: a payment waiting for its webhook,
 * an approval waiting for a click with a reminder timer running. The first stop is the ordered
 * shutdown the README promises, observed while a Slack post is in flight.
 */
describe('restart keeps workflows and data', () => {
  let dataDir: string;
  let stack: Stack | undefined;
  let env: Record<string, string>;
  const stopLog: string[] = [];
  afterAll(async () => {
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const start = (log: (m: string) => void = () => undefined) =>
    startStack({
      config: loadConfig(env),
      logger: createLogger({ level: 'silent' }),
      log,
      emulatorRateLimits: false,
    });
  const auth = () => ({ authorization: `Bearer ${loadConfig(env).apiKeys[0]!}` });
  const subjectOf = (m: InspectedMessage) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject;

  const orderId = `order_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  let paymentRoot: InspectedMessage;
  let approvalId: string;
  let approvalRoot: { channel: string; ts: string };
  let restartedAt: number;

  it('ordered shutdown: the API refuses new requests while an in-flight Slack post completes, engines stop last', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'threadline-restart-'));
    env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      THREADLINE_SANDBOX: 'true',
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      SLACK_EMULATOR_PORT: String(await freePort()),
      JIRA_EMULATOR_PORT: String(await freePort()),
    };
    stack = await start((m) => stopLog.push(m));
    const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);

    const paid = await fetch(`${stack.urls.api}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify({
        orderId,
        payerName: 'Restart Test',
        amount: 250000,
        currency: 'INR',
        paymentType: 'full',
      }),
    });
    expect(paid.status).toBe(202);
    paymentRoot = await slack.waitFor(async () => {
      const ms = await slack.channelMessages('C0PAYMENTS');
      return ms.find((m) => subjectOf(m) === `payment:${orderId}`);
    }, 60_000);

    // An approval whose reminder is due after the restart (the timer lives in Temporal, not in us).
    const filed = await fetch(`${stack.urls.api}/v1/approvals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify({
        title: 'Deploy restart-test to production',
        requester: 'alice@example.com',
        approvers: ['U0BOB'],
        channel: 'C0APPROVAL',
        sla: { remindAfter: '30s', expireAfter: '1h' },
      }),
    });
    expect(filed.status, await filed.clone().text()).toBe(201);
    approvalId = ((await filed.json()) as { approvalId: string }).approvalId;
    approvalRoot = await slack.waitFor(async () => {
      const r = await fetch(`${stack!.urls.api}/v1/approvals/${approvalId}`, { headers: auth() });
      const v = (await r.json()) as { slack: { channel: string; ts: string; purpose: string }[] };
      return v.slack.find((m) => m.purpose === 'channel');
    }, 60_000);

    // The next post (the payment's "authorized" reply) takes 6 s to answer: it is in flight when
    // the shutdown begins.
    await slack.injectFault({ method: 'chat.postMessage', kind: 'latency', latencyMs: 6000 });
    const secret = flowConfigOf(loadConfig(env), paymentsFlow).razorpayWebhookSecret!;
    const authorized = razorpayEvent('payment.authorized', {
      orderId,
      paymentId: `pay_${orderId.slice(6)}`,
      amount: 250000,
    });
    const hook = await deliverRazorpay(
      stack.urls.api,
      secret,
      JSON.stringify(authorized),
      `evt_${randomUUID().slice(0, 12)}`,
    );
    expect(hook.status).toBe(200);
    const connection = await Connection.connect({ address: stack.urls.temporal });
    const handle = new Client({ connection }).workflow.getHandle(paymentWorkflowId(orderId));
    const postInFlight = async () =>
      (await handle.describe()).raw.pendingActivities?.some(
        (a) => a.activityType?.name === 'postSlackMessage' && a.state === PENDING_ACTIVITY_STATE_STARTED,
      ) ?? false;
    await slack.waitFor(async () => ((await postInFlight()) ? true : undefined), 60_000);

    const apiUrl = stack.urls.api;
    const stopping = stack.stop();
    stack = undefined;
    await slack.waitFor(
      async () =>
        (await fetch(`${apiUrl}/readyz`).then(
          () => undefined,
          () => 'refused' as const,
        )) ?? undefined,
      10_000,
    );
    // The API already refuses; the post is still running, and Temporal still answers.
    expect(await postInFlight()).toBe(true);
    await stopping;
    await connection.close();
    const order = [
      'api stopped',
      'worker stopped',
      'jira emulator stopped',
      'slack emulator stopped',
      'postgres stopped',
      'temporal stopped',
    ];
    expect(stopLog.filter((l) => order.includes(l))).toEqual(order);

    stack = await start();
    restartedAt = Date.now();
    // The in-flight post finished before the worker stopped: one completed attempt, no retry.
    const history = await new Client({
      connection: await Connection.connect({ address: stack.urls.temporal }),
    }).workflow
      .getHandle(paymentWorkflowId(orderId))
      .fetchHistory();
    const posts = (history.events ?? []).filter(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'postSlackMessage',
    );
    const scheduledIds = new Set(posts.map((e) => String(e.eventId)));
    const outcomes = (history.events ?? []).filter((e) => {
      const a =
        e.activityTaskCompletedEventAttributes ??
        e.activityTaskFailedEventAttributes ??
        e.activityTaskTimedOutEventAttributes;
      return a && scheduledIds.has(String(a.scheduledEventId));
    });
    // At least the root post and the "authorized" reply, each completed once.
    expect(posts.length).toBeGreaterThanOrEqual(2);
    expect(outcomes.map((e) => e.eventType)).toEqual(posts.map(() => EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED));
    const started = (history.events ?? []).filter(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
        scheduledIds.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)),
    );
    expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual(posts.map(() => 1));
  }, 300_000);

  it('a payment waiting for its webhook before the restart completes after it, in the same thread', async () => {
    expect(stack, 'the first test restarted the stack').toBeDefined();
    const slack = new SlackEmulatorAdmin(stack!.urls.slackEmulator!);
    const hook = await deliverRazorpay(
      stack!.urls.api,
      flowConfigOf(loadConfig(env), paymentsFlow).razorpayWebhookSecret!,
      JSON.stringify(
        razorpayEvent('payment.captured', { orderId, paymentId: `pay_${orderId.slice(6)}`, amount: 250000 }),
      ),
      `evt_${randomUUID().slice(0, 12)}`,
    );
    expect(hook.status).toBe(200);
    const after = await slack.waitFor(async () => {
      const ms = await slack.channelMessages('C0PAYMENTS');
      const m = ms.find((x) => subjectOf(x) === `payment:${orderId}`);
      return m && (m.replies?.length ?? 0) >= 2 ? m : undefined;
    }, 60_000);
    // Same root message (same ts, from the snapshot), with the reply posted during the shutdown
    // and the captured reply after the restart, each once.
    expect(after.ts).toBe(paymentRoot.ts);
    expect(after.replies!.map((r) => r.text)).toEqual([
      expect.stringMatching(/authorized/i),
      expect.stringMatching(/captured/i),
    ]);
    const got = await fetch(`${stack!.urls.api}/v1/payments/${orderId}`, { headers: auth() });
    expect(await got.json()).toMatchObject({ status: 'captured' });
  }, 120_000);

  it('an approval filed before the restart sends its reminder after it, and a click decides it', async () => {
    expect(stack, 'the first test restarted the stack').toBeDefined();
    const slack = new SlackEmulatorAdmin(stack!.urls.slackEmulator!);
    const reminder = await slack.waitFor(async () => {
      const replies = await slack.threadReplies(approvalRoot.channel, approvalRoot.ts);
      return replies.find((m) => m.text.includes('Reminder'));
    }, 60_000);
    expect(reminder.text).toContain('<@U0BOB>');
    // Sent by the restarted stack: the emulator that shows it was started after the restart.
    expect(Number(reminder.ts) * 1000).toBeGreaterThan(restartedAt - 1000);

    const click = await slack.clickButton({
      user: 'U0BOB',
      channel: approvalRoot.channel,
      ts: approvalRoot.ts,
      action_id: 'tl:approval.approve',
    });
    expect(click.delivery.status).toBe(200);
    const decided = await slack.waitFor(async () => {
      const r = await fetch(`${stack!.urls.api}/v1/approvals/${approvalId}`, { headers: auth() });
      const v = (await r.json()) as { status: string; decidedBy: string | null };
      return v.status === 'approved' ? v : undefined;
    }, 60_000);
    expect(decided.decidedBy).toBe('U0BOB');
    // The decision is in the workflow's state before the message is locked (a chat.update that
    // follows it): wait for the lock, then check it once more.
    const locked = await slack.waitFor(async () => {
      const m = await slack.message(approvalRoot.channel, approvalRoot.ts);
      return JSON.stringify(m.blocks ?? []).includes('tl:approval.approve') ? undefined : m;
    }, 60_000);
    expect(JSON.stringify(locked.blocks ?? [])).not.toContain('tl:approval.approve');
  }, 120_000);
});
