import { describe, expect, it } from 'vitest';
import { paymentStateQuery, paymentWorkflowId, type PaymentEvent } from '../../../../src/flows/payments/contract.js';
import { paymentsRepo } from '../../../../src/flows/payments/repo.js';
import type { PostSlackMessageInput, SlackThreadEvent } from '../../../../src/platform/slack/contract.js';
import { TIMELINE_LIMIT } from '../../../../src/platform/temporal/workflow/bounded.js';
import { deliverRazorpay } from '../../../fixtures/razorpay/build.js';
import { activityInputs, eventsOf, runsOf, signalArgs, threadEventArgs, waitIdle } from '../../../helpers/history.js';
import { startPaymentLifecycle } from './start.js';
import { useStack } from '../../../helpers/use-stack.js';
import { paymentsHarness } from '../e2e/helpers.js';

/** More chat than the old shared id list held (500 ids, trimmed when a provider event arrived). */
const REPLIES = 510;

/**
 * Provider-event dedup is separate from chat and durable: a lifecycle whose thread talked a lot
 * still recognises a redelivered refund, while Slack ids and the timeline stay bounded. The
 * redelivery takes the real path: a delivery the ledger had claimed but not marked handed off
 * (the API died between the signal and the mark) is handed off again when Razorpay retries it.
 */
describe('payment lifecycle: bounded state, durable provider dedup', () => {
  const t = useStack({ PAYMENT_REFUND_GRACE: '1h', PAYMENT_INITIATION_WAIT: '300ms' }, paymentsHarness);

  /** Makes the ledger forget that `eventId` was handed off, as if the API had crashed right after signalling. */
  const unmarkHandedOff = (eventId: string) =>
    t.pool.query(`UPDATE inbound_events SET status = 'received' WHERE source = 'razorpay' AND event_id = $1`, [
      eventId,
    ]);

  const botReplies = async (ts: string) =>
    (await t.h.slack.threadReplies('C0PAYMENTS', ts)).filter((m) => m.bot_id).map((m) => m.text);

  it(`${REPLIES} thread replies, then a redelivered refund: the refund counts once; chat ids and the timeline stay bounded`, async () => {
    const { orderId, paymentId } = t.h.ids();
    const workflowId = paymentWorkflowId(orderId);
    await t.h.expectAccepted(await t.h.initiate(t.h.initiation(orderId, { amount: 100_000 })));
    const root = await t.h.thread('C0PAYMENTS', orderId, 0);
    await t.h.webhook('payment.captured', { orderId, paymentId, amount: 100_000 });
    const refund = await t.h.webhook('refund.processed', {
      orderId,
      paymentId,
      amount: 100_000,
      refundId: 'rfnd_first',
      refundAmount: 1_000,
    });
    expect(refund.res.status).toBe(200);
    await t.h.thread('C0PAYMENTS', orderId, 2);

    // In batches, each applied before the next is posted: the shared dev server keeps history in
    // one SQLite connection, and an unbounded burst would only measure its queue.
    const handle = t.client.workflow.getHandle(workflowId);
    const chatApplied = async () => {
      const s = await handle.query(paymentStateQuery);
      return s.timeline.length + (s.timelineDropped ?? 0) - 3; // initiated, captured, first refund
    };
    for (let i = 0; i < REPLIES; i += 10) {
      const n = Math.min(10, REPLIES - i);
      await Promise.all(
        Array.from({ length: n }, (_, j) =>
          t.h.slack.postMessage({ user: 'U0CAROL', channel: 'C0PAYMENTS', thread_ts: root.ts, text: `chat ${i + j}` }),
        ),
      );
      await t.h.slack.waitFor(async () => ((await chatApplied()) >= i + n ? true : undefined), 30_000);
    }
    // A second refund after the chat: under the old rule this trimmed the shared list, evicting the first refund's id.
    await t.h.webhook('refund.processed', {
      orderId,
      paymentId,
      amount: 100_000,
      refundId: 'rfnd_second',
      refundAmount: 500,
    });
    await t.h.slack.waitFor(async () => ((await botReplies(root.ts)).length >= 3 ? true : undefined), 20_000);

    await unmarkHandedOff(refund.eventId);
    const again = await deliverRazorpay(t.h.api, t.h.secret, refund.body, refund.eventId);
    // Recorded again (its row lost the mark): the relay hands it off a second time.
    expect(await again.json()).toMatchObject({ status: 'queued' });
    await t.h.relayed(workflowId);
    await waitIdle(handle);

    // The duplicate did reach the workflow (twice in history) and changed nothing.
    const events = (await runsOf(t.client, workflowId)).flatMap((r) => r.events);
    const first = signalArgs<PaymentEvent>(events, 'paymentEvent').filter(
      (e) => e.eventId === `razorpay:${refund.eventId}`,
    );
    expect(first.length).toBeGreaterThanOrEqual(2);
    const chat = threadEventArgs<SlackThreadEvent>(events);
    expect(new Set(chat.map((c) => c.eventId)).size).toBe(REPLIES);
    const keys = activityInputs<PostSlackMessageInput>(events, 'postSlackMessage').map((p) => p.idempotencyKey);
    expect(keys.filter((k) => k === `${workflowId}:event:razorpay:${refund.eventId}`)).toHaveLength(1);
    expect(await botReplies(root.ts)).toHaveLength(3);

    const state = await handle.query(paymentStateQuery);
    expect(state.refundedAmount).toBe(1_500);
    expect(state.status).toBe('partially_refunded');
    expect(state.processedEventIds).toHaveLength(3);
    expect(state.slackEventIds!.length).toBeLessThanOrEqual(200);
    expect(state.timeline).toHaveLength(TIMELINE_LIMIT);

    const got = await t.h.getPayment(orderId);
    expect(got.body).toMatchObject({
      refundedAmount: 1_500,
      eventsProcessed: 3,
      timelineTruncated: true,
      timelineOmitted: REPLIES + 4 - TIMELINE_LIMIT,
    });
    // The snapshot (what a restarted run resumes from) carries every provider id too.
    const snap = await paymentsRepo(t.pool).get(orderId);
    expect(snap!.state.processedEventIds).toEqual(expect.arrayContaining([`razorpay:${refund.eventId}`]));
    await handle.terminate('test done');
  });

  it('a refund redelivered after the lifecycle closed: the restarted run resumes from the snapshot and counts it once', async () => {
    const { orderId, paymentId } = t.h.ids();
    const workflowId = paymentWorkflowId(orderId);
    // Short grace so the lifecycle closes, set through the workflow input (the stack's config keeps 1h).
    const handle = await startPaymentLifecycle(t, orderId, { policy: { refundGraceMs: 1_500 } });
    await t.h.expectAccepted(await t.h.initiate(t.h.initiation(orderId, { amount: 100_000 })));
    const root = await t.h.thread('C0PAYMENTS', orderId, 0);
    await t.h.webhook('payment.captured', { orderId, paymentId, amount: 100_000 });
    const refund = await t.h.webhook('refund.processed', {
      orderId,
      paymentId,
      amount: 100_000,
      refundId: 'rfnd_late',
      refundAmount: 2_000,
    });
    await t.h.thread('C0PAYMENTS', orderId, 2);
    expect(await handle.result()).toMatchObject({ status: 'partially_refunded', closedReason: 'grace_elapsed' });

    await unmarkHandedOff(refund.eventId);
    const again = await deliverRazorpay(t.h.api, t.h.secret, refund.body, refund.eventId);
    expect(await again.json()).toMatchObject({ status: 'queued' });
    // The webhook started a new run (config policy: 1h grace) that loaded the snapshot.
    const restarted = t.client.workflow.getHandle(workflowId);
    await t.h.slack.waitFor(async () =>
      (await restarted.describe()).runId !== handle.firstExecutionRunId ? true : undefined,
    );
    await waitIdle(restarted);
    const events = await eventsOf(restarted);
    expect(signalArgs<PaymentEvent>(events, 'paymentEvent').map((e) => e.eventId)).toEqual([
      `razorpay:${refund.eventId}`,
    ]);
    expect(activityInputs(events, 'postSlackMessage')).toHaveLength(0);
    const state = await restarted.query(paymentStateQuery);
    expect(state).toMatchObject({ refundedAmount: 2_000, status: 'partially_refunded', root: { ts: root.ts } });
    expect(await botReplies(root.ts)).toHaveLength(2);
    await restarted.terminate('test done');
  });
});
