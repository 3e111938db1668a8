import { describe, expect, it } from 'vitest';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { deliverRazorpay, razorpayEvent, razorpayFixture } from '../../../fixtures/razorpay/build.js';
import { paymentWorkflowId } from '../../../../src/flows/payments/contract.js';
import { counterValue, waitForIdle } from '../../../helpers/effects.js';
import { flowSuite, harnessOf } from '../../../helpers/flow-suite.js';
import { outageRig } from '../../../helpers/relay-outage.js';
import { counted } from '../../../platform/e2e/ingress-helpers.js';
import { paymentsHarness, seen, WITHOUT_SLA_TIMERS } from './helpers.js';

/** docs/payments.md, "POST /webhooks/razorpay" and "Status machine": each handled event and each correlation rule. */
describe('Razorpay events and correlation, end to end', () => {
  const suite = flowSuite(WITHOUT_SLA_TIMERS);
  const h = harnessOf(suite, paymentsHarness);
  const inbound = (type: string, outcome: string) =>
    counterValue(h.api, 'threadline_inbound_events_total', { source: 'razorpay', type, outcome });

  const deliverFixture = (name: string, ids: { orderId: string; paymentId: string }, eventId: string) =>
    deliverRazorpay(h.api, h.secret, razorpayFixture(name, ids), eventId);

  it('order.paid counts as captured (Razorpay’s documented shape, order and payment entities); the payment.captured that comes with it gets one reply saying the status stays', async () => {
    const ids = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(ids.orderId)));
    const paid = await deliverFixture('order_paid', ids, `evt_paid_${ids.orderId}`);
    expect(await paid.json()).toEqual({ status: 'queued', lifecycleId: ids.orderId });
    await h.waitForStatus(ids.orderId, 'captured');
    await h.webhook('payment.captured', { ...ids, amount: 123450 });
    await h.thread('C0PAYMENTS', ids.orderId, 2);

    const done = await h.settled(ids.orderId);
    h.expectEachPostOnce(done);
    expect(done.replies).toHaveLength(2);
    const root = await h.slack.message(done.replies[0]!.channel, done.replies[0]!.threadTs!);
    const [orderPaid, capture] = root.replies!;
    expect(seen(orderPaid!)).toContain('✅ Order paid ₹1,234.50 INR');
    expect(seen(capture!)).toContain('Status stays Captured');
    expect(seen(root)).toContain('Captured ✅');
    const p = await h.getPayment(ids.orderId);
    expect(p.body).toMatchObject({ status: 'captured', paymentId: ids.paymentId });
    expect((p.body.timeline as { kind: string }[]).map((t) => t.kind)).toEqual(['initiated', 'order_paid', 'captured']);
    const audit = await auditLogRepo(suite.pool).bySubject(`payment:${ids.orderId}`);
    expect(audit.find((r) => r.action === 'payment.order_paid')).toMatchObject({
      before: { status: 'initiated' },
      after: { status: 'captured' },
    });
  });

  it('refund.failed: a ⚠️ reply in the thread, the status becomes refund_failed and the root shows it', async () => {
    const ids = h.ids();
    const refundId = `rfnd_${ids.orderId.slice(6)}`;
    await h.expectAccepted(await h.initiate(h.initiation(ids.orderId)));
    await h.webhook('payment.captured', { ...ids, amount: 123450 });
    await h.webhook('refund.created', { ...ids, amount: 123450, refundId, refundAmount: 23450 });
    await h.waitForStatus(ids.orderId, 'refund_pending');
    const failed = await deliverRazorpay(
      h.api,
      h.secret,
      razorpayFixture('refund_failed', { ...ids, refundId }),
      `evt_rfail_${ids.orderId}`,
    );
    expect(await failed.json()).toEqual({ status: 'queued', lifecycleId: ids.orderId });
    await h.waitForStatus(ids.orderId, 'refund_failed');

    const done = await h.settled(ids.orderId);
    h.expectEachPostOnce(done);
    expect(done.replies.map((r) => r.text)).toEqual([
      expect.stringContaining('captured'),
      expect.stringContaining('Refund created'),
      '⚠️ Refund failed ₹234.50 INR',
    ]);
    const rootPost = done.posts.find((p) => !p.threadTs)!;
    await h.waitFor(async () =>
      seen(await h.slack.message(rootPost.channel, rootPost.ts)).includes('Refund failed ⚠️'),
    );
    const audit = await auditLogRepo(suite.pool).bySubject(`payment:${ids.orderId}`);
    expect(audit.find((r) => r.action === 'payment.refund_failed')).toMatchObject({
      before: { status: 'refund_pending' },
      after: { status: 'refund_failed' },
    });
    expect((await h.getPayment(ids.orderId)).body.refundedAmount).toBe(0);
  });

  it('correlation: the notes key threadline_lifecycle_id wins over order_id; without either, our record of the payment id; an event none ties to a lifecycle is acked, ignored and counted, with no effect', async () => {
    // Notes key over order_id.
    const a = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(a.orderId)));
    const elsewhere = `order_elsewhere_${a.orderId.slice(6)}`;
    const byNotes = await h.webhook('payment.authorized', {
      orderId: elsewhere,
      paymentId: a.paymentId,
      amount: 123450,
      notes: { threadline_lifecycle_id: a.orderId },
    });
    expect(await byNotes.res.json()).toEqual({ status: 'queued', lifecycleId: a.orderId });

    // No order id, no notes key: the payment id we recorded at initiation.
    const b = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(b.orderId, { paymentId: b.paymentId })));
    await h.settled(b.orderId); // the snapshot holding the payment id is written with the root
    const byPayment = await h.webhook('payment.captured', { orderId: null, paymentId: b.paymentId, amount: 123450 });
    expect(await byPayment.res.json()).toEqual({ status: 'queued', lifecycleId: b.orderId });
    // A refund that names only the payment (no payment entity in the payload) finds it the same way.
    const refundOnly = await h.webhook('refund.created', {
      orderId: null,
      paymentId: b.paymentId,
      amount: 123450,
      refundAmount: 100,
      withoutPayment: true,
    });
    expect(await refundOnly.res.json()).toEqual({ status: 'queued', lifecycleId: b.orderId });

    // Nothing ties it to a lifecycle.
    const c = h.ids();
    const ignoredBefore = await inbound('payment.captured', 'ignored');
    const orphan = await h.webhook('payment.captured', { orderId: null, paymentId: c.paymentId, amount: 500 });
    expect(orphan.res.status).toBe(200);
    expect(await orphan.res.json()).toEqual({ status: 'ignored', reason: 'uncorrelated' });
    expect(await inbound('payment.captured', 'ignored')).toBe(ignoredBefore + 1);

    const doneA = await h.settled(a.orderId);
    h.expectEachPostOnce(doneA);
    expect(doneA.replies.map((r) => r.text)).toEqual([expect.stringContaining('authorized')]);
    expect((await h.getPayment(elsewhere)).status).toBe(404);
    const doneB = await h.settled(b.orderId);
    h.expectEachPostOnce(doneB);
    expect(doneB.replies.map((r) => r.text)).toEqual([
      expect.stringContaining('captured'),
      expect.stringContaining('Refund created'),
    ]);
    expect((await h.getPayment(b.orderId)).body).toMatchObject({ status: 'refund_pending' });

    // The orphan was answered before any Temporal call: no ledger row, no message anywhere names it.
    const { rows } = await suite.pool.query('SELECT count(*)::int AS n FROM inbound_events WHERE event_id = $1', [
      orphan.eventId,
    ]);
    expect(rows[0].n).toBe(0);
    for (const channel of ['C0PAYMENTS', 'C0PARTPAY', 'C0ESCALATE']) {
      const all = await h.slack.channelMessages(channel);
      expect(JSON.stringify(all)).not.toContain(c.paymentId);
    }
  });

  it('an event for a lifecycle not running starts it through the relay with the lifecycle’s workflow-task timeout (the API’s start options, not Temporal’s 10 s default)', async () => {
    const { orderId, paymentId } = h.ids();
    const hook = await h.webhook('payment.authorized', { orderId, paymentId, amount: 123450 });
    expect(await hook.res.json()).toEqual({ status: 'queued', lifecycleId: orderId });
    await h.relayed(paymentWorkflowId(orderId));
    const handle = suite.temporal.workflow.getHandle(paymentWorkflowId(orderId));
    const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(Number(started?.workflowTaskTimeout?.seconds)).toBe(30);
    await handle.terminate('test done');
  });

  it('a permanent Slack error on one reply is audited as payment.slack_failed and the lifecycle goes on: the root is still updated and the next event still gets its reply', async () => {
    const ids = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(ids.orderId)));
    await h.settled(ids.orderId);
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'error', error: 'invalid_blocks', count: 1 });
    const captured = await h.webhook('payment.captured', { ...ids, amount: 123450 });
    await h.waitForStatus(ids.orderId, 'captured');
    const subject = `payment:${ids.orderId}`;
    const failure = await h.waitFor(async () =>
      (await auditLogRepo(suite.pool).bySubject(subject)).find((r) => r.action === 'payment.slack_failed'),
    );
    expect(failure).toMatchObject({
      outcome: 'failed',
      targetSystem: 'slack',
      details: { step: `event:razorpay:${captured.eventId}`, message: expect.stringContaining('invalid_blocks') },
    });
    await h.webhook('refund.created', { ...ids, amount: 123450, refundAmount: 100 });
    await h.waitForStatus(ids.orderId, 'refund_pending');

    const done = await h.settled(ids.orderId);
    expect(await h.slack.faults()).toEqual([]);
    h.expectEachPostOnce(done);
    expect(done.replies.map((r) => r.text)).toEqual([expect.stringContaining('Refund created')]);
    const root = done.posts.find((p) => p.key === `${subject}:root`)!;
    expect(seen(await h.slack.message(root.channel, root.ts))).toContain('Refund pending');
  });

  it('the root deleted by a person (the documented example of a permanent Slack error): the failed reply and root update are audited and the lifecycle goes on', async () => {
    const ids = h.ids();
    const subject = `payment:${ids.orderId}`;
    await h.expectAccepted(await h.initiate(h.initiation(ids.orderId)));
    const [root] = (await h.settled(ids.orderId)).posts;
    // Workspace admins may delete anyone's message.
    await h.slack.deleteMessage({ user: 'U0ALICE', channel: root!.channel, ts: root!.ts });
    await h.webhook('payment.captured', { ...ids, amount: 123450 });
    const failures = await h.waitFor(async () => {
      const rows = (await auditLogRepo(suite.pool).bySubject(subject)).filter(
        (r) => r.action === 'payment.slack_failed',
      );
      return rows.length >= 2 ? rows : undefined;
    });
    expect(failures.map((r) => (r.details as { step: string }).step).sort()).toEqual(
      [expect.stringMatching(/^event:razorpay:/), expect.stringMatching(/^root_update:/)].sort(),
    );
    await h.waitForStatus(ids.orderId, 'captured');
    const done = await h.settled(ids.orderId);
    h.expectEachPostOnce(done);
    expect(done.posts.filter((p) => p.threadTs)).toHaveLength(0); // nothing was posted into the dead thread
  });

  it('webhook outcomes are counted in threadline_inbound_events_total{source="razorpay"}: queued, duplicate, ignored, rejected at the ack; handed_off by the relay', async () => {
    const ids = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(ids.orderId)));
    const counts = async () => ({
      queued: await inbound('payment.authorized', 'queued'),
      handedOff: await inbound('payment.authorized', 'handed_off'),
      duplicate: await inbound('payment.authorized', 'duplicate'),
      ignored: await inbound('subscription.charged', 'ignored'),
      rejected: await inbound('unknown', 'rejected'),
    });
    const before = await counts();
    const body = razorpayEvent('payment.authorized', { ...ids, amount: 1000 });
    const eventId = `evt_count_${ids.orderId}`;
    expect(await (await deliverRazorpay(h.api, h.secret, body, eventId)).json()).toMatchObject({
      status: 'queued',
    });
    expect(await (await deliverRazorpay(h.api, h.secret, body, eventId)).json()).toMatchObject({
      status: 'duplicate',
    });
    const unknown = razorpayEvent('subscription.charged', { ...ids, amount: 1 });
    expect((await deliverRazorpay(h.api, h.secret, unknown, `evt_sub_${ids.orderId}`)).status).toBe(200);
    const forged = await deliverRazorpay(h.api, 'wrong-secret', body, `evt_forged_${ids.orderId}`);
    expect(forged.status).toBe(401);

    const done = await h.settled(ids.orderId);
    expect(await counts()).toEqual({
      queued: before.queued + 1,
      handedOff: before.handedOff + 1,
      duplicate: before.duplicate + 1,
      ignored: before.ignored + 1,
      rejected: before.rejected + 1,
    });
    h.expectEachPostOnce(done);
    expect(done.replies).toHaveLength(1);
  });

  it('the ack needs Postgres alone: Postgres down → 503, nothing recorded; Razorpay’s retry while Temporal is down → 200 queued, the next one a duplicate; Temporal back → the lifecycle gets the event once', async () => {
    const ids = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(ids.orderId)));
    await h.thread('C0PAYMENTS', ids.orderId, 0);
    await h.settled(ids.orderId);
    const rig = await outageRig(suite.stack, 'razorpay-outage');
    try {
      const body = JSON.stringify(razorpayEvent('payment.captured', { ...ids, amount: 123450 }));
      const eventId = `evt_outage_${ids.orderId}`;
      const deliver = () => deliverRazorpay(rig.app.url, h.secret, body, eventId);

      rig.postgres.stall();
      const refused = await deliver();
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: 'storage_unavailable' });
      rig.postgres.reset(); // what the stall held never reaches Postgres
      rig.postgres.pass();
      expect(await rig.row('razorpay', eventId)).toBeUndefined();

      rig.temporal.stall(); // every Temporal call hangs until its deadline
      const acked = await deliver();
      expect(acked.status).toBe(200);
      expect(await acked.json()).toEqual({ status: 'queued', lifecycleId: ids.orderId });
      await rig.sending(paymentWorkflowId(ids.orderId)); // the relay is mid-call: the repeat must not wait for it
      expect(await (await deliver()).json()).toEqual({ status: 'duplicate', lifecycleId: ids.orderId });
      // The relay keeps failing while Temporal is down: the event waits in the ledger, the thread has no reply.
      const waiting = await rig.triedAndFailed('razorpay', eventId);
      expect(waiting.claims).toBe(1);
      expect(waiting.relay_error).toBeTruthy();
      await waitForIdle(suite.temporal, paymentWorkflowId(ids.orderId));
      expect((await h.roots('C0PAYMENTS', ids.orderId))[0]!.replies ?? []).toHaveLength(0);

      rig.temporal.reset(); // drop what the stall held (it never reached Temporal)
      rig.temporal.pass();
      expect(await rig.relayed('razorpay', eventId)).toMatchObject({ status: 'handed_off' });
      await h.waitForStatus(ids.orderId, 'captured');
      const done = await h.settled(ids.orderId);
      h.expectEachPostOnce(done);
      expect(done.replies.map((r) => r.text)).toEqual([expect.stringContaining('captured')]);
      expect(await counted(rig.app.metrics, 'inboundEvents', { source: 'razorpay', outcome: 'failed' })).toBe(1);
      expect(await counted(rig.app.metrics, 'inboundEvents', { source: 'razorpay', outcome: 'queued' })).toBe(1);
      expect(await counted(rig.app.metrics, 'inboundEvents', { source: 'razorpay', outcome: 'duplicate' })).toBe(1);
      expect(await counted(rig.app.metrics, 'relayHandOffs', { source: 'razorpay', outcome: 'handed_off' })).toBe(1);
    } finally {
      await rig.close();
    }
  });
});
