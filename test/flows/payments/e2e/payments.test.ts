import { describe, expect, it } from 'vitest';
import { auditLogRepo, slackMessagesRepo } from '../../../../src/platform/db/repositories.js';
import { paymentStateQuery } from '../../../../src/flows/payments/contract.js';
import { SA_KIND, SA_STATUS, SA_SUBJECT } from '../../../../src/platform/temporal/workflow/search-attributes.js';
import { deliverRazorpay, razorpayEvent, signRazorpay } from '../../../fixtures/razorpay/build.js';
import { flowSuite, harnessOf } from '../../../helpers/flow-suite.js';
import { paymentsHarness, seen, WITHOUT_SLA_TIMERS } from './helpers.js';

describe('payment lifecycle threads, end to end (HTTP → Temporal → Slack emulator)', () => {
  const suite = flowSuite(WITHOUT_SLA_TIMERS);
  const h = harnessOf(suite, paymentsHarness);

  it('happy path: initiated → captured gives one root (updated in place) and one reply; DB, GET, audit and search attributes agree', async () => {
    const { orderId, paymentId } = h.ids();
    const accepted = await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    expect(accepted).toEqual({
      lifecycleId: orderId,
      workflowId: `payment:${orderId}`,
      status: 'accepted',
      links: { self: `/v1/payments/${orderId}` },
    });

    const root0 = await h.waitFor(async () => (await h.roots('C0PAYMENTS', orderId))[0]);
    expect(seen(root0)).toContain('Payment initiated');
    expect(seen(root0)).toContain('₹1,234.50 INR');
    expect(seen(root0)).toContain('<@U0ERIN>'); // email owner resolved through users.lookupByEmail

    const { res } = await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'queued', lifecycleId: orderId });
    const root = await h.thread('C0PAYMENTS', orderId, 1);
    expect(seen(root.replies![0]!)).toContain('✅');
    const updated = await h.waitFor(async () => {
      const m = await h.slack.message('C0PAYMENTS', root.ts);
      return seen(m).includes('Captured') ? m : undefined;
    });
    expect(updated.history.length).toBeGreaterThan(0);

    // Counted once the workflow is idle: one root, one reply, nothing in the other channel.
    const done = await h.settled(orderId);
    h.expectEachPostOnce(done);
    expect(done.posts).toHaveLength(2);
    expect(done.replies).toHaveLength(1);
    expect(done.posts.every((p) => p.channel === 'C0PAYMENTS')).toBe(true);

    const body = await h.waitForStatus(orderId, 'captured');
    expect(body).toMatchObject({
      status: 'captured',
      source: 'workflow',
      slack: { channel: 'C0PAYMENTS', ts: root.ts, routingReason: 'full_payment' },
    });
    expect((body.timeline as { kind: string }[]).map((t) => t.kind)).toEqual(['initiated', 'captured']);

    const subject = `payment:${orderId}`;
    const posts = await slackMessagesRepo(suite.pool).bySubject(subject);
    expect(posts.map((p) => [p.purpose, p.idempotencyKey])).toEqual([
      ['root', `${subject}:root`],
      ['reply', expect.stringMatching(new RegExp(`^${subject}:event:razorpay:evt_`))],
    ]);
    const audit = await auditLogRepo(suite.pool).bySubject(subject);
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['payment.initiated', 'payment.routed', 'payment.captured']),
    );
    // Routing is audited with its rule and reason.
    expect(audit.find((r) => r.action === 'payment.routed')).toMatchObject({
      ruleId: 'payment-channel-routing',
      ruleVersion: '1',
      details: { reason: 'full_payment' },
    });
    expect(audit.find((r) => r.action === 'payment.captured')).toMatchObject({
      actor: { kind: 'provider', id: 'razorpay' },
      before: { status: 'initiated' },
      after: { status: 'captured' },
    });

    // Search attributes: subject, kind and status; ids and states only (no payer name, no amount).
    const d = await suite.temporal.workflow.getHandle(subject).describe();
    expect(d.type).toBe('paymentLifecycleWorkflow');
    expect(d.typedSearchAttributes.get(SA_SUBJECT)).toBe(subject);
    expect(d.typedSearchAttributes.get(SA_KIND)).toBe('payment');
    expect(d.typedSearchAttributes.get(SA_STATUS)).toBe('captured');
    const attributes = JSON.stringify(d.typedSearchAttributes.getAll());
    expect(attributes).not.toContain('Payer');
    expect(attributes).not.toContain('1234');
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
    // A redelivery after the hand-off is recognised by the ledger and acked without work.
    const again = await deliverRazorpay(
      h.api,
      h.secret,
      razorpayEvent('payment.captured', { orderId, paymentId, amount: 123450 }),
      `evt_payment.captured_${orderId}`,
    );
    expect(await again.json()).toEqual({ status: 'duplicate', lifecycleId: orderId });

    // Every delivery has been answered: once the workflow is idle, count what happened.
    const done = await h.settled(orderId);
    h.expectEachPostOnce(done);
    expect(done.replies.map((r) => r.text)).toEqual([
      expect.stringContaining('authorized'),
      expect.stringContaining('captured'),
    ]);
    expect(done.scheduledKeys.filter((k) => k.includes(':event:'))).toHaveLength(2);
    const state = await h.getPayment(orderId);
    expect(state.body).toMatchObject({ status: 'captured', eventsProcessed: 2 });
  });

  it('captured before initiated: the thread is built from the event, then completed in place by the initiation (nothing posted twice)', async () => {
    const { orderId, paymentId } = h.ids();
    const { res } = await h.webhook('payment.captured', { orderId, paymentId, amount: 50000, currency: 'USD' });
    expect(res.status).toBe(200);
    const first = await h.thread('C0PAYMENTS', orderId, 1);
    // The root is updated in place after the reply: wait for the update, not just the reply.
    const early = await h.waitFor(async () => {
      const m = await h.slack.message('C0PAYMENTS', first.ts);
      return seen(m).includes('Captured') ? m : undefined;
    });
    expect(seen(early)).toContain('$500.00 USD');
    expect(seen(early)).toContain('awaiting initiation');
    expect((await h.getPayment(orderId)).body.slack).toMatchObject({ routingReason: 'default_no_initiation' });

    await h.expectAccepted(
      await h.initiate(
        h.initiation(orderId, {
          amount: 50000,
          currency: 'USD',
          payerName: 'Late Initiator',
          paymentType: 'part',
          owner: 'U0DAVE',
        }),
      ),
    );
    const completed = await h.waitFor(async () => {
      const m = await h.slack.message('C0PAYMENTS', early.ts);
      return seen(m).includes('Late Initiator') ? m : undefined;
    });
    expect(seen(completed)).toContain('Captured');
    expect(seen(completed)).toContain('Part payment');
    expect(seen(completed)).toContain('<@U0DAVE>');

    const done = await h.settled(orderId);
    h.expectEachPostOnce(done);
    expect(done.posts.map((p) => p.channel)).toEqual(['C0PAYMENTS', 'C0PAYMENTS']); // the root stays where it was
    expect(done.replies).toHaveLength(1);
    const p = await h.getPayment(orderId);
    expect(p.body).toMatchObject({ status: 'captured', payerName: 'Late Initiator', paymentType: 'part' });
  });

  it('failed then captured: both threaded, the failure shows the provider error, status ends captured; a late earlier event gets one reply saying the status stays', async () => {
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
    const failedRoot = await h.thread('C0PAYMENTS', orderId, 1);
    await h.waitFor(async () =>
      seen(await h.slack.message('C0PAYMENTS', failedRoot.ts)).includes('Last error: `GATEWAY_ERROR`'),
    );
    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    await h.waitForStatus(orderId, 'captured');
    // A late earlier event (authorized) does not move the status back, and still gets its one reply.
    await h.webhook('payment.authorized', { orderId, paymentId, amount: 123450 });
    await h.thread('C0PAYMENTS', orderId, 3);

    const done = await h.settled(orderId);
    h.expectEachPostOnce(done);
    expect(done.replies).toHaveLength(3);
    const root = await h.thread('C0PAYMENTS', orderId, 3);
    const [failed, captured, late] = root.replies!;
    expect(seen(failed!)).toContain('❌');
    expect(seen(failed!)).toContain('GATEWAY_ERROR');
    expect(seen(failed!)).toContain('Bank was unreachable');
    expect(seen(failed!)).toContain('bank / payment_authorization / payment_failed'); // source / step / reason
    expect(seen(captured!)).toContain('Captured after an earlier failure');
    expect(seen(late!)).toContain('🔐');
    expect(seen(late!)).toContain('Status stays Captured');
    expect((await h.getPayment(orderId)).body).toMatchObject({
      status: 'captured',
      lastError: { code: 'GATEWAY_ERROR', description: 'Bank was unreachable' },
    });
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
    const done = await h.settled(orderId);
    h.expectEachPostOnce(done);
    expect(done.replies.map((r) => r.text)).toEqual([
      expect.stringContaining('captured'),
      expect.stringContaining('Refund created'),
      expect.stringContaining('Refund processed'),
    ]);
    const root = done.posts.find((p) => !p.threadTs)!;
    await h.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Refunded'));
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
    expect((await h.getPayment(first.orderId)).body.slack).toMatchObject({ routingReason: 'part_payment' });

    const second = h.ids();
    await h.expectAccepted(
      await h.initiate(
        h.initiation(second.orderId, { paymentType: 'full', payerName: `  ${payerName.toUpperCase()} ` }),
      ),
    );
    const root = await h.thread('C0PARTPAY', second.orderId, 0);
    expect(seen(root)).toContain('Full payment');
    const state = await h.waitFor(async () => (await h.getPayment(second.orderId)).body.slack);
    expect(state).toMatchObject({ channel: 'C0PARTPAY', routingReason: 'payer_has_installments' });

    const other = h.ids();
    await h.expectAccepted(
      await h.initiate(h.initiation(other.orderId, { paymentType: 'full', payerName: 'Someone Else Entirely' })),
    );
    await h.thread('C0PAYMENTS', other.orderId, 0);

    // Once each is idle: every root is in exactly one channel, the one the rule chose.
    for (const [orderId, channel] of [
      [first.orderId, 'C0PARTPAY'],
      [second.orderId, 'C0PARTPAY'],
      [other.orderId, 'C0PAYMENTS'],
    ] as const) {
      const done = await h.settled(orderId);
      h.expectEachPostOnce(done);
      expect(done.posts.filter((p) => !p.threadTs).map((p) => p.channel)).toEqual([channel]);
    }
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
    expect(await noId.json()).toMatchObject({ error: 'missing_event_id' });
    const unknown = await deliverRazorpay(
      h.api,
      h.secret,
      razorpayEvent('subscription.charged', { orderId, paymentId, amount: 1 }),
      'evt_unknown_' + orderId,
    );
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toMatchObject({ status: 'ignored' });

    // Each answer above came back without a Temporal call; nothing exists anywhere for the order.
    expect((await h.getPayment(orderId)).status).toBe(404);
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(0);
    const { rows } = await suite.pool.query('SELECT count(*)::int AS n FROM inbound_events WHERE event_id LIKE $1', [
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
    await h.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Captured'));

    const done = await h.settled(orderId);
    expect(await h.slack.faults()).toEqual([]); // every fault was hit
    h.expectEachPostOnce(done);
    expect(done.posts).toHaveLength(2);
    expect(done.replies).toHaveLength(1);
  });

  it('POST /v1/payments: auth, validation naming every bad field, Idempotency-Key replay, reuse and release; the first initiation wins', async () => {
    const { orderId } = h.ids();
    const noAuth = await fetch(`${h.api}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noAuth.status).toBe(401);
    const bad = await h.initiate(
      h.initiation(orderId, { amount: 12.5, currency: 'rupees', paymentType: 'most', owner: 'bob', orderId: 'a b' }),
    );
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as { error: string; message: string };
    expect(err.error).toBe('invalid_body');
    for (const f of ['orderId', 'amount', 'currency', 'paymentType', 'owner']) expect(err.message).toContain(f);
    expect(err.message).toContain('an integer number of minor units');

    const key = `idem-${orderId}`;
    // A failed request (non-2xx) releases the key: the corrected request under the same key is served.
    const refused = await h.initiate(h.initiation(orderId, { amount: -1 }), { 'idempotency-key': key });
    expect(refused.status).toBe(400);
    const a = await h.initiate(h.initiation(orderId), { 'idempotency-key': key });
    const b = await h.initiate(h.initiation(orderId), { 'idempotency-key': key });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.headers.get('idempotent-replayed')).toBeNull();
    expect(await b.json()).toEqual(await a.json());
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const reused = await h.initiate(h.initiation(orderId, { amount: 999 }), { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ error: 'idempotency_key_reused' });
    // Without a key, the same order is still the same lifecycle, and the first initiation wins.
    await h.expectAccepted(await h.initiate(h.initiation(orderId, { payerName: 'Second Initiator' })));

    const done = await h.settled(orderId);
    h.expectEachPostOnce(done);
    expect(done.posts).toHaveLength(1); // one root, no reply for a repeated initiation
    const p = await h.getPayment(orderId);
    expect(p.body).toMatchObject({ payerName: `Payer ${orderId.slice(-6)}`, amount: { minor: 123450 } });
    expect((p.body.timeline as { kind: string }[]).map((t) => t.kind)).toEqual(['initiated']);

    expect((await h.getPayment('not a valid id')).status).toBe(400);
    const missing = await h.getPayment('order_does_not_exist');
    expect(missing).toMatchObject({ status: 404, body: { error: 'payment_not_found' } });
  });

  it('metadata: up to 8 KiB of JSON (counted in bytes) is accepted and kept in the workflow state, never shown in Slack; one byte more is a 400 naming the field', async () => {
    // {"k":"…"} is 8 bytes of JSON around the value; "€" is 3 bytes in UTF-8 but one JS string unit.
    const exactly = { k: `SECRET-NOTE-${'x'.repeat(8184 - 12)}` };
    expect(Buffer.byteLength(JSON.stringify(exactly))).toBe(8192);
    const multibyteExactly = { k: '€'.repeat(2728) };
    expect(Buffer.byteLength(JSON.stringify(multibyteExactly))).toBe(8192);
    const over = { k: 'x'.repeat(8185) };
    const multibyteOver = { k: `${'€'.repeat(2728)}x` }; // 8193 bytes, but only 2737 string units
    expect(Buffer.byteLength(JSON.stringify(multibyteOver))).toBe(8193);

    for (const metadata of [over, multibyteOver]) {
      const res = await h.initiate(h.initiation(h.ids().orderId, { metadata }));
      const json = (await res.json()) as { error: string; message: string };
      expect(res.status, JSON.stringify(json).slice(0, 200)).toBe(400);
      expect(json).toMatchObject({ error: 'invalid_body', message: expect.stringMatching(/^metadata: .*8 KiB/) });
    }

    const ok = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(ok.orderId, { metadata: exactly })));
    await h.expectAccepted(await h.initiate(h.initiation(h.ids().orderId, { metadata: multibyteExactly })));
    const done = await h.settled(ok.orderId);
    const state = await suite.temporal.workflow.getHandle(`payment:${ok.orderId}`).query(paymentStateQuery);
    expect(state.initiation?.metadata).toEqual(exactly);
    expect(done.posts).toHaveLength(1);
    const root = await h.slack.message(done.posts[0]!.channel, done.posts[0]!.ts);
    expect(seen(root)).not.toContain('SECRET-NOTE');
    expect(JSON.stringify(await h.getPayment(ok.orderId))).not.toContain('SECRET-NOTE');
  });
});
