import { describe, expect, it } from 'vitest';
import { paymentWorkflowId } from '../../../../src/flows/payments/contract.js';
import { PAYMENT_PATCHES } from '../../../../src/flows/payments/contract.js';
import type { PostSlackMessageInput } from '../../../../src/platform/slack/contract.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { activityInputs, patchMarkers, timerDeadlines, eventsOf } from '../../../helpers/history.js';
import { useStack } from '../../../helpers/use-stack.js';
import { paymentsHarness, seen } from '../e2e/helpers.js';

/**
 * A whole payment lifecycle with every timer firing, through the real stack, asserted from the
 * Slack emulator and the closed workflow's history (also the source of its replay fixture).
 */
describe('payment lifecycle with its timers, recorded for replay', () => {
  const t = useStack(
    {
      // Apart enough that each is still in the future when the previous step is done posting.
      PAYMENT_ESCALATE_AFTER: '5s',
      PAYMENT_OVERDUE_AFTER: '10s',
      PAYMENT_REFUND_GRACE: '3s',
      PAYMENT_INITIATION_WAIT: '300ms',
    },
    paymentsHarness,
  );

  it('escalates, marks overdue, takes a late capture and a refund, then closes after the grace period', async () => {
    const { orderId, paymentId } = t.h.ids();
    const workflowId = paymentWorkflowId(orderId);
    await t.h.expectAccepted(await t.h.initiate(t.h.initiation(orderId, { owner: 'U0BOB' })));
    const root = await t.h.thread('C0PAYMENTS', orderId, 2, 30_000);
    await t.h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    await t.h.thread('C0PAYMENTS', orderId, 3);
    await t.h.webhook('refund.processed', { orderId, paymentId, amount: 123450, refundAmount: 123450 });
    const result = await t.client.workflow.getHandle(workflowId).result();
    expect(result).toEqual({ lifecycleId: orderId, status: 'refunded', closedReason: 'grace_elapsed' });

    const replies = await t.h.slack.threadReplies('C0PAYMENTS', root.ts);
    expect(replies.map((m) => m.text)).toEqual([
      expect.stringContaining('no outcome'),
      expect.stringContaining('overdue'),
      expect.stringMatching(/captured/i),
      expect.stringMatching(/refund/i),
    ]);
    expect(seen(await t.h.slack.message('C0PAYMENTS', root.ts))).toContain('Refunded');
    const events = await eventsOf(t.client.workflow.getHandle(workflowId));
    const keys = activityInputs<PostSlackMessageInput>(events, 'postSlackMessage').map((p) => p.idempotencyKey);
    expect(keys.filter((k) => k.endsWith(':escalation'))).toHaveLength(1);
    expect(keys.filter((k) => k.endsWith(':escalation:alert'))).toHaveLength(1);
    expect(keys.filter((k) => k.endsWith(':overdue'))).toHaveLength(1);
    // Escalation and overdue at least (the close's timer too unless posting the refund outlasted the grace).
    expect(timerDeadlines(events).filter((t) => t.fired).length).toBeGreaterThanOrEqual(2);
    expect(patchMarkers(events)).toEqual(
      expect.arrayContaining([PAYMENT_PATCHES.rootPostTolerant, PAYMENT_PATCHES.separateProviderDedup]),
    );
    await recordFixture('payment-lifecycle-sla', events);
  });
});
