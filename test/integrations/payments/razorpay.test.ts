import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeRazorpaySignature,
  parseRazorpayWebhook,
  razorpayAdapter,
  verifyRazorpaySignature,
} from '../../../src/integrations/payments/razorpay.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/razorpay/${name}.json`, import.meta.url), 'utf8');
const SECRET = 'threadline-sandbox-razorpay-secret';

describe('Razorpay signature (HMAC-SHA256 hex of the raw body)', () => {
  it('matches an independently computed vector', () => {
    // `printf '{}' | openssl dgst -sha256 -hmac secret`
    expect(computeRazorpaySignature('secret', '{}')).toBe(
      '77325902caca812dc259733aacd046b73817372c777b8d95b402647474516e13',
    );
  });
  it('accepts the right signature on the exact bytes, rejects anything else', () => {
    const raw = fixture('payment_captured');
    const sig = computeRazorpaySignature(SECRET, raw);
    expect(verifyRazorpaySignature({ secret: SECRET, rawBody: raw, signature: sig })).toEqual({ ok: true });
    expect(verifyRazorpaySignature({ secret: SECRET, rawBody: raw, signature: sig.toUpperCase() })).toEqual({
      ok: true,
    });
    expect(verifyRazorpaySignature({ secret: SECRET, rawBody: `${raw} `, signature: sig })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyRazorpaySignature({ secret: 'other', rawBody: raw, signature: sig })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyRazorpaySignature({ secret: SECRET, rawBody: raw, signature: undefined })).toEqual({
      ok: false,
      reason: 'missing_signature',
    });
    expect(verifyRazorpaySignature({ secret: SECRET, rawBody: raw, signature: 'abc' })).toEqual({
      ok: false,
      reason: 'malformed_signature',
    });
    expect(verifyRazorpaySignature({ secret: SECRET, rawBody: raw, signature: 'z'.repeat(64) })).toEqual({
      ok: false,
      reason: 'malformed_signature',
    });
  });
  it('the adapter reads the headers', () => {
    const raw = fixture('payment_captured');
    const headers = { 'x-razorpay-signature': computeRazorpaySignature(SECRET, raw), 'x-razorpay-event-id': 'Evt_123' };
    expect(razorpayAdapter.verify({ secret: SECRET, rawBody: raw, headers, nowSeconds: 0 })).toEqual({ ok: true });
    expect(razorpayAdapter.deliveryId(headers, undefined)).toBe('Evt_123');
    expect(razorpayAdapter.deliveryId({ 'x-razorpay-event-id': 'bad id with spaces' }, undefined)).toBeUndefined();
  });
});

describe('Razorpay payload mapping', () => {
  it('payment.captured → captured, correlated by order_id, no PII', () => {
    const r = parseRazorpayWebhook(JSON.parse(fixture('payment_captured')), 'evt_1');
    expect(r).toMatchObject({
      kind: 'event',
      event: {
        eventId: 'razorpay:evt_1',
        kind: 'captured',
        paymentId: 'pay_TLfixture0001',
        orderId: 'order_TLfixture0001',
        amount: 123450,
        currency: 'INR',
        method: 'netbanking',
      },
      correlation: { orderId: 'order_TLfixture0001', paymentId: 'pay_TLfixture0001' },
    });
    expect(JSON.stringify(r)).not.toContain('payer@example.com');
    expect(JSON.stringify(r)).not.toContain('+910000000000');
  });
  it('payment.failed carries the error code and description', () => {
    const r = parseRazorpayWebhook(JSON.parse(fixture('payment_failed')), 'evt_2');
    expect(r).toMatchObject({
      kind: 'event',
      event: { kind: 'failed', error: { code: 'BAD_REQUEST_ERROR', description: 'Payment failed', source: 'bank' } },
    });
  });
  it('refund.processed: refund amount apart from the payment amount; notes key correlates', () => {
    const r = parseRazorpayWebhook(JSON.parse(fixture('refund_processed')), 'evt_3');
    expect(r).toMatchObject({
      kind: 'event',
      event: {
        kind: 'refund_processed',
        amount: 123450,
        refund: { id: 'rfnd_TLfixture0001', amount: 23450, currency: 'INR' },
      },
      correlation: { lifecycleId: 'order_TLfixture0001', paymentId: 'pay_TLfixture0001' },
    });
  });
  it('unknown events are ignored; malformed bodies name the field', () => {
    const body = JSON.parse(fixture('payment_captured'));
    expect(parseRazorpayWebhook({ ...body, event: 'subscription.charged' }, 'e')).toEqual({
      kind: 'ignored',
      providerEventType: 'subscription.charged',
    });
    const bad = structuredClone(body);
    bad.payload.payment.entity.amount = '100';
    const r = parseRazorpayWebhook(bad, 'e');
    expect(r.kind).toBe('invalid');
    expect(r.kind === 'invalid' && r.message).toContain('payload.payment.entity.amount');
    expect(parseRazorpayWebhook({ event: 'payment.captured' }, 'e')).toMatchObject({ kind: 'invalid' });
    expect(parseRazorpayWebhook(null, 'e')).toMatchObject({ kind: 'invalid' });
  });
});
