import { describe, expect, it } from 'vitest';
import type { PaymentEvent, PaymentLifecycleState } from '../../../../src/flows/payments/contract.js';
import { applyEvent, initialState, upgradeState } from '../../../../src/flows/payments/domain/lifecycle.js';
import { applyThreadEvent } from '../../../../src/flows/payments/domain/thread.js';
import { SLACK_EVENT_ID_LIMIT, TIMELINE_LIMIT } from '../../../../src/platform/temporal/workflow/bounded.js';
import type { SlackThreadEvent } from '../../../../src/platform/slack/contract.js';

const refund = (id: string, amount: number): PaymentEvent => ({
  provider: 'razorpay',
  eventId: `razorpay:${id}`,
  kind: 'refund_processed',
  providerEventType: 'refund.processed',
  occurredAt: '2026-01-01T00:00:00.000Z',
  amount: 10_000,
  currency: 'INR',
  refund: { id: `rfnd_${id}`, amount, currency: 'INR' },
});
const reply = (i: number): SlackThreadEvent => ({
  eventId: `Ev${String(i).padStart(8, '0')}`,
  eventTime: 1,
  kind: 'message',
  channel: 'C0PAYMENTS',
  threadTs: '1.0001',
  ts: `2.${i}`,
  user: 'U0CAROL',
  text: `chat ${i}`,
});
const chat = (s: PaymentLifecycleState, n: number) => {
  for (let i = 0; i < n; i++) s = applyThreadEvent(s, reply(i), 1_000 + i);
  return s;
};

describe('payment state stays bounded; provider dedup is never evicted by chat', () => {
  it('keeps every provider id and only the newest Slack ids and timeline entries', () => {
    let s = applyEvent(initialState('o1', 0), refund('e1', 1_000), 1).state;
    s = chat(s, 600);
    s = applyEvent(s, refund('e2', 500), 2_000).state;
    expect(applyEvent(s, refund('e1', 1_000), 3_000).applied).toBe(false);
    expect(s.refundedAmount).toBe(1_500);
    expect(s.processedEventIds).toEqual(['razorpay:e1', 'razorpay:e2']);
    expect(s.slackEventIds).toHaveLength(SLACK_EVENT_ID_LIMIT);
    expect(s.slackEventIds!.at(-1)).toBe(reply(599).eventId);
    expect(s.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(s.timelineDropped).toBe(602 - TIMELINE_LIMIT);
    // A recent Slack redelivery is still recognised.
    expect(applyThreadEvent(s, reply(599), 5_000)).toBe(s);
  });

  it('legacy runs (histories from before the split) keep the old shared, trimmed list', () => {
    let s = applyEvent(initialState('o1', 0, { legacyDedup: true }), refund('e1', 1_000), 1).state;
    s = chat(s, 600);
    s = applyEvent(s, refund('e2', 500), 2_000).state;
    expect(s.slackEventIds).toBeUndefined();
    expect(s.processedEventIds).toHaveLength(500);
    // The old defect, kept only so those histories replay: the first refund's id was evicted.
    expect(applyEvent(s, refund('e1', 1_000), 3_000).applied).toBe(true);
  });

  it('upgradeState splits a legacy list by shape, trims the timeline, and is idempotent', () => {
    let legacy = applyEvent(initialState('o1', 0, { legacyDedup: true }), refund('e1', 1_000), 1).state;
    legacy = chat(legacy, 300);
    legacy = { ...legacy, timeline: [...legacy.timeline, ...legacy.timeline] };
    const up = upgradeState(legacy);
    expect(up.processedEventIds).toEqual(['razorpay:e1']);
    expect(up.slackEventIds).toHaveLength(SLACK_EVENT_ID_LIMIT);
    expect(up.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(upgradeState(up)).toEqual(up);
    expect(applyEvent(up, refund('e1', 1_000), 2).applied).toBe(false);
  });
});
