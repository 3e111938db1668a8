import { describe, expect, it } from 'vitest';
import { auditLogRepo, slackMessagesRepo } from '../../../../src/platform/db/repositories.js';
import { eventTimeMs, historyOf, waitForIdle } from '../../../helpers/effects.js';
import { deliverRazorpay, razorpayEvent } from '../../../fixtures/razorpay/build.js';
import { startApiOnly } from '../../../helpers/api-only.js';
import { flowSuite, harnessOf } from '../../../helpers/flow-suite.js';
import { paymentsHarness, seen } from './helpers.js';

describe('payment SLA and late refunds, end to end (short configured durations)', () => {
  const suite = flowSuite({
    PAYMENT_ESCALATE_AFTER: '1s',
    PAYMENT_OVERDUE_AFTER: '2s',
    PAYMENT_REFUND_GRACE: '2s',
    PAYMENT_INITIATION_WAIT: '300ms',
  });
  const h = harnessOf(suite, paymentsHarness);

  it('no outcome: escalates in the thread (mentioning the owner) and to the escalation channel, once each, then marks overdue; a late capture still wins', async () => {
    const { orderId, paymentId } = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(orderId, { owner: 'U0BOB' })));
    const root = await h.thread('C0PAYMENTS', orderId, 2, 30_000);
    expect(seen(root.replies![0]!)).toContain('<@U0BOB>');
    expect(root.replies![0]!.text).toContain('no outcome');
    expect(root.replies![1]!.text).toContain('overdue');
    await h.waitForStatus(orderId, 'overdue');
    await h.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Overdue'));

    // Overdue is the last timer before an outcome: once idle, the escalation effects are final.
    const beforeCapture = await h.settled(orderId);
    h.expectEachPostOnce(beforeCapture);
    const alerts = beforeCapture.posts.filter((p) => p.channel === 'C0ESCALATE');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toContain(orderId);
    expect(alerts[0]!.text).toContain('<@U0BOB>');
    const subject = `payment:${orderId}`;
    expect(beforeCapture.posts.map((p) => p.key).sort()).toEqual(
      [`${subject}:escalation`, `${subject}:escalation:alert`, `${subject}:overdue`, `${subject}:root`].sort(),
    );
    expect((await slackMessagesRepo(suite.pool).bySubject(subject)).map((m) => m.purpose)).toEqual(
      expect.arrayContaining(['escalation', 'escalation_alert', 'overdue']),
    );

    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    await h.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Captured'));
    const done = await h.settled(orderId);
    h.expectEachPostOnce(done);
    expect(done.replies).toHaveLength(3);
    expect(done.posts.filter((p) => p.channel === 'C0ESCALATE')).toHaveLength(1);
    const audit = await auditLogRepo(suite.pool).bySubject(subject);
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['payment.escalated', 'payment.overdue', 'payment.captured']),
    );
    expect(audit.find((r) => r.action === 'payment.overdue')).toMatchObject({
      before: { status: 'initiated' },
      after: { status: 'overdue' },
    });
    expect((await h.getPayment(orderId)).body).toMatchObject({ status: 'captured', escalated: true, overdue: true });
  });

  it('a refund after the lifecycle closed restarts it into the same thread; GET falls back to the DB once closed; the close is audited', async () => {
    const { orderId, paymentId } = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    const handle = suite.temporal.workflow.getHandle(`payment:${orderId}`);
    // The grace period (2 s) elapses without activity: the workflow completes.
    expect(await handle.result()).toMatchObject({ status: 'captured', closedReason: 'grace_elapsed' });
    const closed = await h.getPayment(orderId);
    expect(closed.body).toMatchObject({ status: 'captured', source: 'database' });
    const closedAudit = (await auditLogRepo(suite.pool).bySubject(`payment:${orderId}`)).find(
      (r) => r.action === 'payment.closed',
    );
    expect(closedAudit).toMatchObject({ after: { status: 'captured' } });

    await h.webhook('refund.processed', { orderId, paymentId, amount: 123450, refundAmount: 23450 });
    const state = await h.waitFor(async () => {
      const p = await h.getPayment(orderId);
      return p.body.status === 'partially_refunded' ? p.body : undefined;
    });
    expect(state.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'refund_processed', statusAfter: 'partially_refunded' }),
      ]),
    );
    const done = await h.settled(orderId);
    h.expectEachPostOnce(done); // across both runs: the new run never re-posts the root
    expect(done.posts.filter((p) => !p.threadTs)).toHaveLength(1);
    expect(done.replies.map((r) => r.text)).toEqual([
      expect.stringContaining('captured'),
      expect.stringContaining('Refund processed'),
    ]);
    const root = done.posts.find((p) => !p.threadTs)!;
    await h.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Partially refunded'));
  });

  it('each event restarts the refund grace: the lifecycle closes a full grace period after its last event, not after its first outcome', async () => {
    // A longer grace than this file's 2 s, so the second event surely lands inside the first
    // period even on a loaded machine: the lifecycle takes it from the API that starts it.
    const graceMs = 8000;
    const { api } = await startApiOnly({
      env: {
        TEMPORAL_TASK_QUEUE: suite.stack.taskQueue,
        PAYMENT_REFUND_GRACE: '8s',
        PAYMENT_ESCALATE_AFTER: '1h',
        PAYMENT_OVERDUE_AFTER: '2h',
      },
    });
    try {
      const { orderId, paymentId } = h.ids();
      const workflowId = `payment:${orderId}`;
      const started = await fetch(`${api.url}/v1/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` },
        body: JSON.stringify(h.initiation(orderId)),
      });
      await h.expectAccepted(started);
      const send = (type: string, extra: Record<string, number> = {}) =>
        deliverRazorpay(
          api.url,
          h.secret,
          razorpayEvent(type, { orderId, paymentId, amount: 123450, ...extra }),
          `evt_${type}_${orderId}`,
        );
      expect((await send('payment.captured')).status).toBe(200);
      // The capture is applied and its grace timer is running (observable: idle with the event processed).
      await h.waitFor(async () => {
        await waitForIdle(suite.temporal, workflowId);
        const p = await h.getPayment(orderId);
        return (p.body.timeline as { kind: string }[] | undefined)?.some((t) => t.kind === 'captured');
      });
      expect((await send('refund.created', { refundAmount: 100 })).status).toBe(200);
      expect(await suite.temporal.workflow.getHandle(workflowId).result()).toMatchObject({ status: 'refund_pending' });

      // Both events are in the one run that closed, and it closed a full grace after the second.
      const events = await historyOf(suite.temporal, workflowId);
      const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'paymentEvent');
      expect(signals).toHaveLength(2);
      const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)!;
      expect(eventTimeMs(completed) - eventTimeMs(signals[1]!)).toBeGreaterThanOrEqual(graceMs);
    } finally {
      await api.close();
    }
  });
});
