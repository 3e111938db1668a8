import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo, slackMessagesRepo } from '../../../../src/platform/db/repositories.js';
import { deliverRazorpay, razorpayEvent, signRazorpay } from '../../../fixtures/razorpay/build.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { paymentsHarness, seen } from './helpers.js';

describe('payment lifecycle threads, end to end (HTTP → Temporal → Slack emulator)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof paymentsHarness>;
  let pool: Pool;

  beforeAll(async () => {
    stack = await startTestStack({
      // Long SLA so these tests never see an escalation; a short initiation wait so
      // "webhook before initiation" builds the thread from the event alone.
      PAYMENT_ESCALATE_AFTER: '10m',
      PAYMENT_OVERDUE_AFTER: '20m',
      PAYMENT_REFUND_GRACE: '1h',
      PAYMENT_INITIATION_WAIT: '300ms',
    });
    h = paymentsHarness(stack);
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
  });
  afterEach(async () => {
    await h.slack.clearFaults();
  });

  it('happy path: initiated → captured gives one root (updated in place) and one reply; DB and GET agree', async () => {
    const { orderId, paymentId } = h.ids();
    const accepted = await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    expect(accepted).toMatchObject({ lifecycleId: orderId, workflowId: `payment:${orderId}` });

    const root0 = await h.slack.waitFor(async () => (await h.roots('C0PAYMENTS', orderId))[0]);
    expect(seen(root0)).toContain('Payment initiated');
    expect(seen(root0)).toContain('₹1,234.50 INR');
    expect(seen(root0)).toContain('<@U0ERIN>'); // email owner resolved through users.lookupByEmail

    const { res } = await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    expect(res.status).toBe(200);
    const root = await h.thread('C0PAYMENTS', orderId, 1);
    expect(root.replies).toHaveLength(1);
    expect(seen(root.replies![0]!)).toContain('✅');
    const updated = await h.slack.waitFor(async () => {
      const m = await h.slack.message('C0PAYMENTS', root.ts);
      return seen(m).includes('Captured') ? m : undefined;
    });
    expect(updated.history.length).toBeGreaterThan(0);
    expect(await h.roots('C0PARTPAY', orderId)).toHaveLength(0);

    const body = await h.waitForStatus(orderId, 'captured');
    expect(body).toMatchObject({
      status: 'captured',
      source: 'workflow',
      slack: { channel: 'C0PAYMENTS', ts: root.ts },
    });
    expect((body.timeline as { kind: string }[]).map((t) => t.kind)).toEqual(['initiated', 'captured']);

    const subject = `payment:${orderId}`;
    const posts = await slackMessagesRepo(pool).bySubject(subject);
    expect(posts.map((p) => [p.purpose, p.idempotencyKey])).toEqual([
      ['root', `${subject}:root`],
      ['reply', expect.stringMatching(new RegExp(`^${subject}:event:razorpay:evt_`))],
    ]);
    const audit = await h.slack.waitFor(async () => {
      const rows = await auditLogRepo(pool).bySubject(subject);
      return rows.some((r) => r.action === 'payment.captured') ? rows : undefined;
    });
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['payment.initiated', 'payment.routed', 'payment.captured']),
    );
  });

  it('every webhook delivered three times (concurrently) still gives one reply per event', async () => {
    const { orderId, paymentId } = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    for (const type of ['payment.authorized', 'payment.captured']) {
      const body = JSON.stringify(razorpayEvent(type, { orderId, paymentId, amount: 123450 }));
      const eventId = `evt_${type}_${orderId}`;
      const results = await Promise.all([1, 2, 3].map(() => deliverRazorpay(h.api, h.secret, body, eventId)));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    }
    await h.waitForStatus(orderId, 'captured');
    const root = await h.thread('C0PAYMENTS', orderId, 2);
    // Give any stray duplicate a chance to show up, by waiting on the workflow being idle with 2 events applied.
    const state = await h.getPayment(orderId);
    expect(state.body.eventsProcessed).toBe(2);
    expect((await h.roots('C0PAYMENTS', orderId))[0]!.replies).toHaveLength(2);
    expect(root.replies!.map((r) => r.text)).toEqual([
      expect.stringContaining('authorized'),
      expect.stringContaining('captured'),
    ]);
  });

  it('captured before initiated: the thread is built from the event, then completed by the initiation', async () => {
    const { orderId, paymentId } = h.ids();
    const { res } = await h.webhook('payment.captured', { orderId, paymentId, amount: 50000, currency: 'USD' });
    expect(res.status).toBe(200);
    const first = await h.thread('C0PAYMENTS', orderId, 1);
    // The root is updated in place after the reply: wait for the update, not just the reply.
    const early = await h.slack.waitFor(async () => {
      const m = await h.slack.message('C0PAYMENTS', first.ts);
      return seen(m).includes('Captured') ? m : undefined;
    });
    expect(seen(early)).toContain('$500.00 USD');
    expect(seen(early)).toContain('awaiting initiation');

    await h.expectAccepted(
      await h.initiate(h.initiation(orderId, { amount: 50000, currency: 'USD', payerName: 'Late Initiator' })),
    );
    const completed = await h.slack.waitFor(async () => {
      const m = await h.slack.message('C0PAYMENTS', early.ts);
      return seen(m).includes('Late Initiator') ? m : undefined;
    });
    expect(seen(completed)).toContain('Captured');
    expect(completed.replies).toHaveLength(1);
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(1);
    const p = await h.getPayment(orderId);
    expect(p.body).toMatchObject({ status: 'captured', payerName: 'Late Initiator' });
  });

  it('failed then captured: both threaded, the failure shows the provider error, status ends captured', async () => {
    const { orderId, paymentId } = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.webhook('payment.failed', {
      orderId,
      paymentId,
      amount: 123450,
      errorCode: 'GATEWAY_ERROR',
      errorDescription: 'Bank was unreachable',
    });
    await h.waitForStatus(orderId, 'failed');
    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    await h.waitForStatus(orderId, 'captured');
    const root = await h.thread('C0PAYMENTS', orderId, 2);
    expect(seen(root.replies![0]!)).toContain('GATEWAY_ERROR');
    expect(seen(root.replies![0]!)).toContain('Bank was unreachable');
    expect(seen(root.replies![1]!)).toContain('Captured after an earlier failure');
    // A late duplicate-kind earlier event (authorized) does not move the status back.
    await h.webhook('payment.authorized', { orderId, paymentId, amount: 123450 });
    await h.thread('C0PAYMENTS', orderId, 3);
    expect((await h.getPayment(orderId)).body.status).toBe('captured');
  });

  it('refund after capture lands in the same thread and moves the status to refunded', async () => {
    const { orderId, paymentId } = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    await h.waitForStatus(orderId, 'captured');
    await h.webhook('refund.created', {
      orderId,
      paymentId,
      amount: 123450,
      refundId: `rfnd_${orderId}`,
      refundAmount: 123450,
    });
    await h.webhook('refund.processed', {
      orderId,
      paymentId,
      amount: 123450,
      refundId: `rfnd_${orderId}`,
      refundAmount: 123450,
    });
    await h.waitForStatus(orderId, 'refunded');
    const root = await h.thread('C0PAYMENTS', orderId, 3);
    expect(root.replies!.map((r) => r.text)).toEqual([
      expect.stringContaining('captured'),
      expect.stringContaining('Refund created'),
      expect.stringContaining('Refund processed'),
    ]);
    await h.slack.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Refunded'));
  });

  it('routing: part payments, and later payments of a payer with a completed installment, go to the part-payment channel', async () => {
    const payerName = `Installment Payer ${Date.now()}`;
    const first = h.ids();
    await h.expectAccepted(
      await h.initiate(h.initiation(first.orderId, { paymentType: 'part', payerName, amount: 1000 })),
    );
    await h.thread('C0PARTPAY', first.orderId, 0);
    await h.webhook('payment.captured', { ...first, amount: 1000 });
    await h.waitForStatus(first.orderId, 'captured');

    const second = h.ids();
    await h.expectAccepted(
      await h.initiate(h.initiation(second.orderId, { paymentType: 'full', payerName: payerName.toUpperCase() })),
    );
    const root = await h.thread('C0PARTPAY', second.orderId, 0);
    expect(seen(root)).toContain('Full payment');
    expect(await h.roots('C0PAYMENTS', second.orderId)).toHaveLength(0);
    const state = await h.slack.waitFor(async () => (await h.getPayment(second.orderId)).body.slack);
    expect(state).toMatchObject({ channel: 'C0PARTPAY', routingReason: 'payer_has_installments' });

    const other = h.ids();
    await h.expectAccepted(
      await h.initiate(h.initiation(other.orderId, { paymentType: 'full', payerName: 'Someone Else Entirely' })),
    );
    await h.thread('C0PAYMENTS', other.orderId, 0);
  });

  it('bad signatures and malformed bodies are rejected with no effect; unknown events are acked and ignored', async () => {
    const { orderId, paymentId } = h.ids();
    const body = JSON.stringify(razorpayEvent('payment.captured', { orderId, paymentId, amount: 100 }));
    const bad = await deliverRazorpay(h.api, h.secret, body, 'evt_bad_sig_' + orderId, { signature: 'f'.repeat(64) });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({
      error: 'invalid_signature',
      message: expect.stringContaining('X-Razorpay-Signature'),
    });
    const wrongSecret = await deliverRazorpay(h.api, 'not-the-secret', body, 'evt_bad_sig2_' + orderId);
    expect(wrongSecret.status).toBe(401);
    const noSig = await fetch(`${h.api}/webhooks/razorpay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-razorpay-event-id': 'evt_x' },
      body,
    });
    expect(noSig.status).toBe(401);

    const notJson = await deliverRazorpay(h.api, h.secret, '{"entity": "event", ', 'evt_badjson_' + orderId);
    expect(notJson.status).toBe(400);
    const missingField = JSON.parse(body);
    delete missingField.payload.payment.entity.amount;
    const mf = await deliverRazorpay(h.api, h.secret, missingField, 'evt_missing_' + orderId);
    expect(mf.status).toBe(400);
    expect(await mf.json()).toMatchObject({
      error: 'invalid_payload',
      message: expect.stringContaining('payload.payment.entity.amount'),
    });
    const noId = await fetch(`${h.api}/webhooks/razorpay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-razorpay-signature': signRazorpay(h.secret, body) },
      body,
    });
    expect(noId.status).toBe(400);
    const unknown = await deliverRazorpay(
      h.api,
      h.secret,
      razorpayEvent('subscription.charged', { orderId, paymentId, amount: 1 }),
      'evt_unknown_' + orderId,
    );
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toMatchObject({ status: 'ignored' });

    // No effect anywhere: no lifecycle, no Slack message, nothing in the ledger.
    expect((await h.getPayment(orderId)).status).toBe(404);
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(0);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM inbound_events WHERE event_id LIKE $1', [
      `%${orderId}`,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('Slack 429, 5xx and commit-then-timeout while posting still end with exactly one message per event', async () => {
    const { orderId, paymentId } = h.ids();
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter: 1, count: 1 });
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'status', status: 503, count: 1 });
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.thread('C0PAYMENTS', orderId, 0);
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', count: 1 });
    await h.slack.injectFault({ method: 'chat.update', kind: 'status', status: 500, count: 1 });
    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    await h.waitForStatus(orderId, 'captured');
    const root = await h.thread('C0PAYMENTS', orderId, 1);
    await h.slack.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Captured'));
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(1);
    expect((await h.roots('C0PAYMENTS', orderId))[0]!.replies).toHaveLength(1);
    expect(await h.slack.faults()).toEqual([]);
  });

  it('POST /v1/payments: auth, validation naming the field, Idempotency-Key replay and reuse', async () => {
    const { orderId } = h.ids();
    const noAuth = await fetch(`${h.api}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noAuth.status).toBe(401);
    const bad = await h.initiate(h.initiation(orderId, { amount: 12.5, currency: 'rupees' }));
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as { message: string };
    expect(err.message).toContain('amount');
    expect(err.message).toContain('currency');

    const key = `idem-${orderId}`;
    const a = await h.initiate(h.initiation(orderId), { 'idempotency-key': key });
    const b = await h.initiate(h.initiation(orderId), { 'idempotency-key': key });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(await b.json()).toEqual(await a.json());
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const reused = await h.initiate(h.initiation(orderId, { amount: 999 }), { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ error: 'idempotency_key_reused' });
    // Without a key, the same order is still the same lifecycle (one root).
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.thread('C0PAYMENTS', orderId, 0);
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(1);
    expect((await h.getPayment('not a valid id')).status).toBe(400);
    expect((await h.getPayment('order_does_not_exist')).status).toBe(404);
  });
});
