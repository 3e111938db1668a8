import { describe, expect, it } from 'vitest';
import { deliverRazorpay, razorpayEvent } from '../../fixtures/razorpay/build.js';
import { flowSuite, harnessOf } from '../../helpers/flow-suite.js';
import { paymentsHarness } from '../../flows/payments/e2e/helpers.js';

/**
 * The missing metrics, scraped from `/metrics` (the test stack's worker and API share one
 * registry) after a small load through the real endpoints: open lifecycles by kind (Temporal
 * visibility, read on scrape), escalations fired (the payment SLA, counted by the workflow
 * through the platform's sink), deliveries refused by reason, and the pacing queue depth.
 */
describe('/metrics after a small load: open lifecycles, escalations, rejections by reason, pacing depth', () => {
  const suite = flowSuite({
    PAYMENT_ESCALATE_AFTER: '1s',
    PAYMENT_OVERDUE_AFTER: '2s',
    PAYMENT_REFUND_GRACE: '1h',
    PAYMENT_INITIATION_WAIT: '300ms',
  });
  const h = harnessOf(suite, paymentsHarness);

  const scrape = async () => (await fetch(`${suite.stack.urls.api}/metrics`)).text();
  /** The value of the sample `name{labels…}` (0 when absent). */
  const sample = (text: string, name: string, labels: Record<string, string> = {}) => {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split('\n').find((l) => {
      if (!l.startsWith(name)) return false;
      const rest = l.slice(name.length);
      if (!rest.startsWith('{')) return rest.startsWith(' ') && want.length === 0;
      const set = rest.slice(1, rest.indexOf('}'));
      return want.every((w) => set.split(',').includes(w));
    });
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('after two payments (both escalated, then overdue) and three refused deliveries, each metric says so', async () => {
    const a = h.ids();
    const b = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(a.orderId, { owner: 'U0BOB' })));
    await h.expectAccepted(await h.initiate(h.initiation(b.orderId)));
    // Both escalate (1 s) then go overdue (2 s): overdue is the last timer before an outcome.
    await h.waitForStatus(a.orderId, 'overdue');
    await h.waitForStatus(b.orderId, 'overdue');
    await h.settled(a.orderId);
    await h.settled(b.orderId);

    // Refused deliveries: unsigned, wrongly signed, malformed JSON.
    const body = JSON.stringify(
      razorpayEvent('payment.captured', { orderId: a.orderId, paymentId: a.paymentId, amount: 100 }),
    );
    const unsigned = await fetch(`${suite.stack.urls.api}/webhooks/razorpay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-razorpay-event-id': 'evt_metrics_unsigned' },
      body,
    });
    expect(unsigned.status).toBe(401);
    const wrong = await deliverRazorpay(suite.stack.urls.api, 'not-the-secret', body, 'evt_metrics_wrong');
    expect(wrong.status).toBe(401);
    const malformed = await fetch(`${suite.stack.urls.api}/webhooks/razorpay`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-razorpay-event-id': 'evt_metrics_bad',
        'x-razorpay-signature': 'x',
      },
      body: '{"entity":',
    });
    expect(malformed.status).toBe(400);

    // Visibility is eventually consistent: the observable point is Temporal's own count.
    const query = `TaskQueue = '${suite.stack.config.temporal.taskQueue}' AND ExecutionStatus = 'Running' AND ThreadlineKind = 'payment'`;
    await h.waitFor(async () => (await suite.temporal.workflow.count(query)).count === 2);

    const text = await scrape();
    expect(sample(text, 'threadline_open_lifecycles', { kind: 'payment' })).toBe(2);
    expect(sample(text, 'threadline_open_lifecycles', { kind: 'approval' })).toBe(0);
    expect(sample(text, 'threadline_open_lifecycles_up')).toBe(1);
    // One escalation per payment, counted once each although the workflows ran on after it.
    expect(sample(text, 'threadline_escalations_total', { kind: 'payment' })).toBe(2);
    const route = '/webhooks/razorpay';
    expect(
      sample(text, 'threadline_inbound_rejected_total', { route, reason: 'invalid_signature', status: '401' }),
    ).toBe(2);
    expect(sample(text, 'threadline_inbound_rejected_total', { route, reason: 'invalid_json', status: '400' })).toBe(1);
    // Nobody is waiting for a Slack slot once everything is idle.
    expect(sample(text, 'threadline_slack_pacing_queue_depth')).toBe(0);
  });
});
