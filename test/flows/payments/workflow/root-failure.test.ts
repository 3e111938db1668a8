import { describe, expect, it } from 'vitest';
import { paymentStateQuery, paymentWorkflowId } from '../../../../src/flows/payments/contract.js';
import type { AuditEntry } from '../../../../src/platform/audit/contract.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import type { PostSlackMessageInput } from '../../../../src/platform/slack/contract.js';
import { FailureType } from '../../../../src/platform/temporal/failure-types.js';
import { activityInputs, runsOf, waitIdle, eventsOf } from '../../../helpers/history.js';
import { startPaymentLifecycle } from './start.js';
import { useStack } from '../../../helpers/use-stack.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { paymentsHarness, seen } from '../e2e/helpers.js';

/**
 * A permanent failure of the thread's root post (defect 1, last sentence): before, it failed the
 * whole workflow execution; now `tolerant` audits and reports it and the lifecycle lives on
 * without a thread, each later event or timer trying the root again under the same key.
 */
describe('payment lifecycle: the root post fails permanently', () => {
  const t = useStack({ PAYMENT_REFUND_GRACE: '1h', PAYMENT_INITIATION_WAIT: '300ms' }, paymentsHarness);

  const failures = async (workflowId: string) =>
    (await auditLogRepo(t.pool).bySubject(workflowId)).filter((r) => r.action === 'payment.slack_failed');

  it('a channel the bot was never invited to: statuses, timers and audit go on without a thread, every attempt audited', async () => {
    const { orderId, paymentId } = t.h.ids();
    const workflowId = paymentWorkflowId(orderId);
    // Routed to a private channel the bot is not in: `not_in_channel` on every attempt.
    const handle = await startPaymentLifecycle(t, orderId, {
      policy: { escalateAfterMs: 2_000, overdueAfterMs: 3_600_000 },
      channels: { payments: 'G0FINANCE', partPayments: 'G0FINANCE' },
    });
    await t.h.expectAccepted(await t.h.initiate(t.h.initiation(orderId, { owner: 'U0BOB' })));
    // The escalation timer still fires: the alert goes to the escalation channel (top level, no thread needed).
    const alert = await t.h.slack.waitFor(
      async () => (await t.h.slack.channelMessages('C0ESCALATE')).find((m) => m.text.includes(orderId)),
      60_000,
    );
    expect(seen(alert)).toContain('<@U0BOB>');
    await t.h.slack.waitFor(async () => ((await failures(workflowId)).length >= 2 ? true : undefined), 60_000);
    await t.h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    await t.h.slack.waitFor(async () =>
      (await t.h.getPayment(orderId)).body.status === 'captured' ? true : undefined,
    );
    await waitIdle(handle);

    expect((await handle.describe()).status.name).toBe('RUNNING');
    const state = await handle.query(paymentStateQuery);
    expect(state).toMatchObject({ status: 'captured', escalated: true, rootFailures: 3 });
    expect(state.root).toBeUndefined();
    expect((await t.h.getPayment(orderId)).body).toMatchObject({ status: 'captured', slack: null });
    expect(await t.h.slack.channelMessages('G0FINANCE')).toHaveLength(0);

    // Initial post, the escalation's retry, the capture's retry: each audited once, as its own step.
    const rows = await failures(workflowId);
    expect(rows.map((r) => (r.details as { step: string }).step)).toEqual(['root', 'root:retry:1', 'root:retry:2']);
    expect(rows.every((r) => (r.details as { failureType: string }).failureType === FailureType.Permanent)).toBe(true);
    const events = (await runsOf(t.client, workflowId)).flatMap((r) => r.events);
    const audits = activityInputs<AuditEntry>(events, 'recordAudit').filter((a) => a.action === 'payment.slack_failed');
    expect(audits).toHaveLength(3);
    expect(events.some((e) => e.workflowTaskFailedEventAttributes || e.workflowExecutionFailedEventAttributes)).toBe(
      false,
    );
    await recordFixture('payment-lifecycle-root-failed', events);
    await handle.terminate('test done');
  });

  it('a one-off failure: the next event posts the root (one root, showing the current status) and its reply', async () => {
    const { orderId, paymentId } = t.h.ids();
    const workflowId = paymentWorkflowId(orderId);
    await t.h.slack.injectFault({ method: 'chat.postMessage', kind: 'error', error: 'channel_not_found', count: 1 });
    await t.h.expectAccepted(await t.h.initiate(t.h.initiation(orderId)));
    await t.h.slack.waitFor(async () => ((await failures(workflowId)).length >= 1 ? true : undefined), 60_000);
    expect(await t.h.roots('C0PAYMENTS', orderId)).toHaveLength(0);

    await t.h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    const root = await t.h.thread('C0PAYMENTS', orderId, 1);
    const handle = t.client.workflow.getHandle(workflowId);
    await waitIdle(handle);
    expect(seen(await t.h.slack.message('C0PAYMENTS', root.ts))).toContain('Captured');
    expect(await t.h.roots('C0PAYMENTS', orderId)).toHaveLength(1);
    expect((await t.h.slack.threadReplies('C0PAYMENTS', root.ts)).map((m) => m.text)).toEqual([
      expect.stringMatching(/captured/i),
    ]);
    const events = await eventsOf(handle);
    // Started by the API with the lifecycle's workflow-task timeout (local bookkeeping's headroom: start.ts).
    expect(Number(events[0]?.workflowExecutionStartedEventAttributes?.workflowTaskTimeout?.seconds)).toBe(30);
    const roots = activityInputs<PostSlackMessageInput>(events, 'postSlackMessage').filter((p) => p.purpose === 'root');
    expect(roots.map((p) => p.idempotencyKey)).toEqual([`${workflowId}:root`, `${workflowId}:root`]);
    expect((await failures(workflowId)).map((r) => (r.details as { step: string }).step)).toEqual(['root']);
    await handle.terminate('test done');
  });
});
