import type { PaymentLifecycleState } from '../contract.js';
import type { SlackThreadEvent, SubjectStatus } from '../../../platform/slack/contract.js';
import { appendBounded, SLACK_EVENT_ID_LIMIT } from '../../../platform/temporal/workflow/bounded.js';
import { appendTimeline, paymentAmount } from './lifecycle.js';
import { formatAmount } from './money.js';

const TEXT_LIMIT = 200;

/**
 * A person's reply, edit, deletion or reaction in the payment's thread becomes a timeline entry
 * (so GET /v1/payments/:id shows the discussion next to the provider events). It does not touch
 * the status or the refund grace clock. Deduplicated by Slack's event id, in a bounded list of its
 * own so chat can never evict a provider event id (legacy runs keep the old shared list).
 */
export function applyThreadEvent(s: PaymentLifecycleState, e: SlackThreadEvent, nowMs: number): PaymentLifecycleState {
  if ((s.slackEventIds ?? s.processedEventIds).includes(e.eventId)) return s;
  const what =
    e.kind === 'reaction_added' || e.kind === 'reaction_removed'
      ? `:${e.reaction ?? '?'}: ${e.kind === 'reaction_added' ? 'added' : 'removed'}`
      : e.kind === 'message_deleted'
        ? 'deleted a reply'
        : `${e.kind === 'message_changed' ? 'edited: ' : ''}${(e.text ?? '').slice(0, TEXT_LIMIT)}`;
  const dedup = s.slackEventIds
    ? { slackEventIds: appendBounded(s.slackEventIds, [e.eventId], SLACK_EVENT_ID_LIMIT).list }
    : { processedEventIds: [...s.processedEventIds, e.eventId] };
  const next = appendTimeline(
    { ...s, ...dedup },
    {
      at: new Date(nowMs).toISOString(),
      kind: `slack.${e.kind}`,
      eventId: e.eventId,
      statusBefore: s.status,
      statusAfter: s.status,
      summary: `<@${e.user}> ${what}`,
    },
  );
  return { ...next, version: s.version + 1 };
}

/** The generic answer to `/threadline status payment:<id>`. */
export function paymentStatusSummary(subject: string, s: PaymentLifecycleState): SubjectStatus {
  const amount = paymentAmount(s);
  const who = s.initiation?.payerName ?? 'unknown payer';
  const money = amount ? formatAmount(amount.amount, amount.currency) : 'amount unknown';
  const err = s.status === 'failed' && s.provider.lastError ? ` · ${s.provider.lastError.code}` : '';
  const last = s.timeline.at(-1);
  return {
    subject,
    kind: 'payment',
    status: s.status,
    summary: `${who} · ${money}${err}${s.escalated ? ' · escalated' : ''}`,
    updatedAt: last?.at ?? new Date(s.startedAtMs).toISOString(),
    // Entitled to `/threadline status` besides the thread's channel members: the payment's owner.
    ...(s.ownerSlackId ? { participants: [s.ownerSlackId] } : {}),
  };
}
