import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseStripeWebhook, stripeAdapter, verifyStripeSignature } from '../../../src/integrations/payments/stripe.js';

const SECRET = 'whsec_test_threadline';
const sign = (t: number, body: string, secret = SECRET) =>
  createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');

const succeeded = {
  id: 'evt_1TLtest',
  object: 'event',
  type: 'payment_intent.succeeded',
  created: 1767225600,
  data: {
    object: {
      id: 'pi_1TLtest',
      amount: 2000,
      currency: 'usd',
      metadata: { order_id: 'order_S1' },
      payment_method_types: ['card'],
      receipt_email: 'payer@example.com',
    },
  },
};

describe('Stripe adapter (second provider behind the same boundary)', () => {
  it('verifies t/v1 over "t.body" with a tolerance, in constant time, accepting any of several v1', () => {
    const body = JSON.stringify(succeeded);
    const t = 1_767_225_600;
    const header = `t=${t},v1=${'0'.repeat(64)},v1=${sign(t, body)}`;
    expect(verifyStripeSignature({ secret: SECRET, rawBody: body, header, nowSeconds: t + 10 })).toEqual({ ok: true });
    expect(verifyStripeSignature({ secret: SECRET, rawBody: body, header, nowSeconds: t + 301 })).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(
      verifyStripeSignature({
        secret: SECRET,
        rawBody: `${body} `,
        header: `t=${t},v1=${sign(t, body)}`,
        nowSeconds: t,
      }),
    ).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyStripeSignature({ secret: SECRET, rawBody: body, header: 'v1=abc', nowSeconds: t })).toEqual({
      ok: false,
      reason: 'malformed_signature',
    });
    expect(verifyStripeSignature({ secret: SECRET, rawBody: body, header: undefined, nowSeconds: t })).toEqual({
      ok: false,
      reason: 'missing_signature',
    });
  });

  it('maps payment_intent.* and charge.refunded to the same provider-neutral events as Razorpay', () => {
    expect(stripeAdapter.deliveryId({}, succeeded)).toBe('evt_1TLtest');
    const r = parseStripeWebhook(succeeded, 'evt_1TLtest');
    expect(r).toMatchObject({
      kind: 'event',
      event: { provider: 'stripe', eventId: 'stripe:evt_1TLtest', kind: 'captured', amount: 2000, currency: 'USD' },
      correlation: { orderId: 'order_S1', paymentId: 'pi_1TLtest' },
    });
    expect(JSON.stringify(r)).not.toContain('payer@example.com');
    const failed = parseStripeWebhook(
      {
        ...succeeded,
        type: 'payment_intent.payment_failed',
        data: {
          object: { ...succeeded.data.object, last_payment_error: { code: 'card_declined', message: 'Declined' } },
        },
      },
      'evt_2',
    );
    expect(failed).toMatchObject({
      event: { kind: 'failed', error: { code: 'card_declined', description: 'Declined' } },
    });
    expect(parseStripeWebhook({ ...succeeded, type: 'customer.created' }, 'e')).toEqual({
      kind: 'ignored',
      providerEventType: 'customer.created',
    });
    expect(parseStripeWebhook({ ...succeeded, data: { object: { id: 'pi' } } }, 'e')).toMatchObject({
      kind: 'invalid',
    });
  });
});
