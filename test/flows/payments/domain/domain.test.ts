import { describe, expect, it } from 'vitest';
import type {
  PaymentChannels,
  PaymentEvent,
  PaymentInitiation,
  PaymentPolicy,
} from '../../../../src/flows/payments/contract.js';
import {
  buildEscalationReply,
  buildEventReply,
  buildRootMessage,
  escapeMrkdwn,
  formatDuration,
} from '../../../../src/flows/payments/domain/blocks.js';
import {
  applyEvent,
  applyInitiation,
  applyTimer,
  initialState,
  nextDeadline,
} from '../../../../src/flows/payments/domain/lifecycle.js';
import { formatAmount, minorUnitDigits } from '../../../../src/flows/payments/domain/money.js';
import { payerKey, routePayment } from '../../../../src/flows/payments/domain/routing.js';
import { advance, STATUS_RANK, targetStatusFor } from '../../../../src/flows/payments/domain/status.js';

const channels: PaymentChannels = { payments: 'C0PAYMENTS', partPayments: 'C0PARTPAY', escalations: 'C0ESCALATE' };
const policy: PaymentPolicy = {
  escalateAfterMs: 30 * 60_000,
  overdueAfterMs: 2 * 3_600_000,
  refundGraceMs: 86_400_000,
  initiationWaitMs: 10_000,
};

const init = (over: Partial<PaymentInitiation> = {}): PaymentInitiation => ({
  lifecycleId: 'order_1',
  orderId: 'order_1',
  payerName: 'Asha <Rao> & Co',
  amount: 123450,
  currency: 'INR',
  paymentType: 'full',
  owner: 'U0ERIN',
  requestedBy: 'key_x',
  receivedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});
const ev = (kind: PaymentEvent['kind'], id: string, over: Partial<PaymentEvent> = {}): PaymentEvent => ({
  provider: 'razorpay',
  eventId: `razorpay:${id}`,
  kind,
  providerEventType: kind,
  occurredAt: '2026-01-01T00:00:00.000Z',
  paymentId: 'pay_1',
  orderId: 'order_1',
  amount: 123450,
  currency: 'INR',
  ...over,
});

describe('money (ISO 4217 minor units)', () => {
  it.each([
    [123450, 'INR', '₹1,234.50 INR'],
    [5, 'USD', '$0.05 USD'],
    [1500, 'JPY', '¥1,500 JPY'],
    [1234, 'KWD', '1.234 KWD'],
    [1000, 'BHD', '1.000 BHD'],
    [100000000, 'EUR', '€1,000,000.00 EUR'],
    [7, 'CLF', '0.0007 CLF'],
  ])('formats %i %s as %s', (minor, currency, expected) => {
    expect(formatAmount(minor, currency)).toBe(expected);
  });
  it('knows exponents and defaults to 2', () => {
    expect([minorUnitDigits('JPY'), minorUnitDigits('KWD'), minorUnitDigits('INR'), minorUnitDigits('XYZ')]).toEqual([
      0, 3, 2, 2,
    ]);
  });
});

describe('forward-only status machine', () => {
  it('never moves back', () => {
    expect(advance('captured', 'authorized')).toBe('captured');
    expect(advance('captured', 'failed')).toBe('captured');
    expect(advance('refunded', 'captured')).toBe('refunded');
  });
  it('failed is not final: captured after failed wins', () => {
    expect(advance('failed', 'captured')).toBe('captured');
    expect(STATUS_RANK.failed).toBeLessThan(STATUS_RANK.captured);
  });
  it('partial vs full refunds', () => {
    expect(targetStatusFor('refund_processed', { refundedAmount: 100, paymentAmount: 1000 })).toBe(
      'partially_refunded',
    );
    expect(targetStatusFor('refund_processed', { refundedAmount: 1000, paymentAmount: 1000 })).toBe('refunded');
  });
});

describe('routing rules', () => {
  it('part payments and payers with a completed installment go to the part-payment channel', () => {
    expect(routePayment({ paymentType: 'part', payerHasCompletedInstallment: false }, channels)).toEqual({
      channel: 'C0PARTPAY',
      reason: 'part_payment',
    });
    expect(routePayment({ paymentType: 'full', payerHasCompletedInstallment: true }, channels)).toEqual({
      channel: 'C0PARTPAY',
      reason: 'payer_has_installments',
    });
    expect(routePayment({ paymentType: 'full', payerHasCompletedInstallment: false }, channels).channel).toBe(
      'C0PAYMENTS',
    );
    expect(routePayment({ paymentType: undefined, payerHasCompletedInstallment: false }, channels).reason).toBe(
      'default_no_initiation',
    );
  });
  it('recognises the same payer case- and space-insensitively', () => {
    expect(payerKey('  Asha   RAO ')).toBe(payerKey('asha rao'));
  });
});

describe('lifecycle reducers', () => {
  it('applies each event once and records the timeline', () => {
    let s = applyInitiation(initialState('order_1', 0), init(), 1000).state;
    expect(s.status).toBe('initiated');
    const r1 = applyEvent(s, ev('captured', 'e1'), 2000);
    expect(r1.applied).toBe(true);
    s = r1.state;
    expect(applyEvent(s, ev('captured', 'e1'), 3000).applied).toBe(false);
    const late = applyEvent(s, ev('authorized', 'e0'), 4000);
    expect(late.state.status).toBe('captured');
    expect(late.entry).toMatchObject({ statusBefore: 'captured', statusAfter: 'captured', kind: 'authorized' });
    expect(late.state.timeline.map((t) => t.kind)).toEqual(['initiated', 'captured', 'authorized']);
  });
  it('the first initiation wins', () => {
    const s = applyInitiation(initialState('order_1', 0), init(), 1).state;
    expect(applyInitiation(s, init({ payerName: 'Someone else' }), 2).applied).toBe(false);
  });
  it('an event before the initiation keeps provider facts; the initiation completes them', () => {
    let s = applyEvent(initialState('order_1', 0), ev('captured', 'e1', { amount: 999, currency: 'USD' }), 10).state;
    expect(s.status).toBe('captured');
    expect(buildRootMessage(s).text).toContain('$9.99 USD');
    s = applyInitiation(s, init(), 20).state;
    expect(s.status).toBe('captured');
    expect(buildRootMessage(s).text).toContain('₹1,234.50 INR');
  });
  it('refunds accumulate to partially refunded, then refunded', () => {
    let s = applyEvent(applyInitiation(initialState('o', 0), init(), 0).state, ev('captured', 'c'), 1).state;
    s = applyEvent(s, ev('refund_processed', 'r1', { refund: { id: 'rf1', amount: 23450, currency: 'INR' } }), 2).state;
    expect(s.status).toBe('partially_refunded');
    s = applyEvent(
      s,
      ev('refund_processed', 'r2', { refund: { id: 'rf2', amount: 100000, currency: 'INR' } }),
      3,
    ).state;
    expect(s.status).toBe('refunded');
  });
  it('deadlines: escalate, then overdue, then close after the grace period', () => {
    let s = applyInitiation(initialState('o', 1000), init(), 1000).state;
    expect(nextDeadline(s, policy)).toEqual({ kind: 'escalate', atMs: 1000 + policy.escalateAfterMs });
    s = applyTimer(s, 'escalated', 5000).state;
    expect(nextDeadline(s, policy)).toEqual({ kind: 'overdue', atMs: 1000 + policy.overdueAfterMs });
    s = applyTimer(s, 'overdue', 6000).state;
    expect(s.status).toBe('overdue');
    expect(nextDeadline(s, policy)).toEqual({ kind: 'close', atMs: 6000 + policy.refundGraceMs });
    s = applyEvent(s, ev('captured', 'c'), 7000).state;
    expect(s.status).toBe('captured');
    expect(nextDeadline(s, policy)).toEqual({ kind: 'close', atMs: 7000 + policy.refundGraceMs });
  });
});

describe('Block Kit builders', () => {
  it('root shows payer (escaped), amount, type, owner mention and status', () => {
    const s = {
      ...applyInitiation(initialState('order_1', 0), init({ paymentType: 'part' }), 0).state,
      ownerSlackId: 'U0ERIN',
    };
    const msg = buildRootMessage(s);
    const json = JSON.stringify(msg.blocks);
    expect(json).toContain('Asha &lt;Rao&gt; &amp; Co');
    expect(json).toContain('₹1,234.50 INR');
    expect(json).toContain('Part payment');
    expect(json).toContain('<@U0ERIN>');
    expect(msg.blocks[0]).toMatchObject({ type: 'header' });
    expect(msg.text.length).toBeGreaterThan(0);
  });
  it('failed reply carries the provider error code and description', () => {
    const msg = buildEventReply(
      ev('failed', 'f', { error: { code: 'BAD_REQUEST_ERROR', description: 'Payment failed' } }),
      'initiated',
      'failed',
    );
    expect(JSON.stringify(msg.blocks)).toContain('BAD_REQUEST_ERROR');
    expect(msg.text).toContain('❌');
    expect(JSON.stringify(msg.blocks)).toContain('Payment failed');
  });
  it('escalation mentions the owner', () => {
    const s = { ...applyInitiation(initialState('o', 0), init(), 0).state, ownerSlackId: 'U0BOB' };
    expect(buildEscalationReply(s, 1_800_000).text).toMatch(/<@U0BOB>.*30 min/);
  });
  it('helpers', () => {
    expect(escapeMrkdwn('<a&b>')).toBe('&lt;a&amp;b&gt;');
    expect(formatDuration(90_000)).toBe('1 min 30 s');
    expect(formatDuration(7_200_000)).toBe('2 h');
  });
});
