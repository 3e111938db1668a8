import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraEmulatorAdmin } from '../../../emulators/jira/admin-client.js';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { ackReport } from '../../../emulators/shared/delivery.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { SLACK_ACK_WINDOW_MS } from '../../../src/platform/http/ack.js';
import { deliverRazorpay, razorpayEvent } from '../../fixtures/razorpay/build.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import {
  apiHeaders,
  openApproval,
  ownedPayment,
  razorpaySecret,
  temporalClient,
  waitIdle,
  waitUntil,
  clickApprove,
} from './ingress-helpers.js';

/** Slack's Events API retry schedule: almost at once, then after 1 minute, then after 5 minutes. */
const SLACK_RETRY_SCHEDULE_MS = [1_000, 60_000, 300_000];

/**
 * Issue 18 (realism): the whole stack with the emulators' real Slack and Jira rate limits
 * (chat.postMessage ~1/s per channel, tiers per method) and Slack's real retry schedule, driven
 * by people in the emulator. Every first delivery of every event, click and command must have been
 * acknowledged with a 2xx inside Slack's 3 s: a slow or failed first attempt is not hidden by a
 * quick retry here, because the retry would only come a second later and is counted as a failure.
 */
describe('a realistic Slack workspace: real rate limits, real retry schedule', () => {
  let stack: TestStack;
  let pool: Pool;
  let slack: SlackEmulatorAdmin;
  let temporal: Awaited<ReturnType<typeof temporalClient>>;

  beforeAll(async () => {
    stack = await startTestStack();
    slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    await slack.setRateLimits(true);
    await slack.config({ eventRetryDelaysMs: SLACK_RETRY_SCHEDULE_MS, deliveryTimeoutMs: SLACK_ACK_WINDOW_MS });
    if (stack.urls.jiraEmulator) await new JiraEmulatorAdmin(stack.urls.jiraEmulator).setRateLimits({ enabled: true });
    pool = createPool(stack.urls.databaseUrl);
    temporal = await temporalClient(stack.urls.temporal);
  });
  afterAll(async () => {
    await temporal?.close();
    await pool?.end();
    await stack?.stop();
  });

  it('payments, thread replies, reactions, a click and commands: every first delivery acked with 200 within 3 s', async () => {
    // Several lifecycles posting into one channel at once: the per-channel limit pushes back.
    const payments = await Promise.all([0, 1, 2].map(() => ownedPayment(stack, pool)));
    const secret = razorpaySecret(stack);
    for (const p of payments) {
      const res = await deliverRazorpay(
        stack.urls.api,
        secret,
        razorpayEvent('payment.captured', {
          orderId: p.orderId,
          paymentId: `pay_${p.orderId.slice(6)}`,
          amount: 987650,
        }),
        `evt_${randomUUID().slice(0, 18)}`,
      );
      expect(res.status).toBe(200);
    }
    // People talk in the threads and react.
    for (const [i, p] of payments.entries()) {
      await slack.postMessage({ user: 'U0ALICE', channel: p.channel, text: `checking ${i}`, thread_ts: p.ts });
      await slack.postMessage({ user: 'U0BOB', channel: p.channel, text: `bank says ok ${i}`, thread_ts: p.ts });
      await slack.addReaction({ user: 'U0CAROL', channel: p.channel, ts: p.ts, name: 'eyes' });
    }
    // An approval, decided with a click.
    const { channelMsg: msg } = await openApproval(stack, { title: 'Ship it', approvers: ['U0BOB'] });
    const click = await clickApprove(slack, 'U0BOB', msg);
    expect(click.delivery.status).toBe(200);
    // Commands.
    expect(
      (await slack.runSlashCommand({ user: 'U0DAVE', channel: 'C0OPSALERT', command: '/threadline', text: 'help' }))
        .delivery.status,
    ).toBe(200);
    const status = await slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0PAYMENTS',
      command: '/threadline',
      text: `status ${payments[0]!.workflowId}`,
    });
    expect(status.delivery.status).toBe(200);

    // The work gets done despite the rate limits: each thread shows the capture, and every
    // person's message reached its workflow.
    for (const p of payments) {
      await waitUntil(async () => {
        const res = await fetch(`${stack.urls.api}/v1/payments/${p.orderId}`, { headers: apiHeaders(stack) });
        const b = (await res.json()) as { status: string; timeline: { kind: string }[] };
        return b.status === 'captured' && b.timeline.filter((e) => e.kind === 'slack.message').length === 2;
      }, 90_000);
      await waitIdle(temporal.client, p.workflowId, 90_000);
    }
    await waitUntil(async () => {
      const posts = await slack.responseUrlPosts();
      return posts.some((x) => status.response_url.endsWith(`/${x.id}`));
    }, 60_000);

    const deliveries = (await slack.deliveries()).filter((d) => d.kind !== 'url_verification');
    expect(deliveries.filter((d) => d.kind === 'event').length).toBeGreaterThanOrEqual(9);
    const report = ackReport(deliveries);
    expect(report.notAckedFirst).toEqual([]);
    expect(report.retries).toBe(0);
    expect(report.firstAcked).toBe(report.deliveries);
    expect(report.slowestFirstAckMs).toBeLessThan(SLACK_ACK_WINDOW_MS);
    // …and the app saw no redelivery, and the rate limits really pushed back somewhere.
    const metrics = await (await fetch(`${stack.urls.api}/metrics`)).text();
    expect(metrics).not.toMatch(/threadline_slack_retries_total\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(
      /threadline_external_calls_total\{system="slack",method="[^"]+",outcome="rate_limited"\} [1-9]/,
    );
    const slowest = deliveries
      .map((d) => ({ kind: d.kind, type: d.eventType, ms: d.attempts[0]!.latencyMs ?? 0 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3);
    console.log(
      `[realistic] ${report.deliveries} deliveries, every first attempt acked; slowest ${JSON.stringify(slowest)}`,
    );
  });
});
