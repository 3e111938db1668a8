import type {
  PaymentEvent,
  PaymentInitiation,
  PaymentLifecycleState,
  PaymentPolicy,
  PaymentStatus,
  PaymentTimelineEntry,
} from '../contract.js';
import { appendBounded, SLACK_EVENT_ID_LIMIT, TIMELINE_LIMIT } from '../../../platform/temporal/workflow/bounded.js';
import { formatAmount } from './money.js';
import { advance, hasOutcome, STATUS_RANK, targetStatusFor } from './status.js';

/**
 * Pure reducers over the lifecycle state. The workflow owns time (passes `nowMs` from its
 * deterministic clock) and side effects; these functions only decide.
 */

/** Legacy rule (runs before `payment-separate-provider-dedup`): one list of provider and Slack ids, trimmed on provider events. */
const LEGACY_MAX_PROCESSED_IDS = 500;

/**
 * A new lifecycle's state. `legacyDedup` builds the pre-patch shape (no `slackEventIds`) for runs
 * replaying a history written before provider and Slack dedup were split.
 */
export function initialState(
  lifecycleId: string,
  nowMs: number,
  opts: { legacyDedup?: boolean } = {},
): PaymentLifecycleState {
  return {
    lifecycleId,
    status: 'pending',
    provider: {},
    processedEventIds: [],
    ...(opts.legacyDedup ? {} : { slackEventIds: [] }),
    refundedAmount: 0,
    escalated: false,
    overdue: false,
    startedAtMs: nowMs,
    lastActivityAtMs: nowMs,
    timeline: [],
    version: 0,
  };
}

export interface Applied {
  state: PaymentLifecycleState;
  /** False when nothing changed (duplicate delivery, second initiation). */
  applied: boolean;
  entry?: PaymentTimelineEntry;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Appends a timeline entry, keeping the newest TIMELINE_LIMIT (the audit log keeps them all). */
export function appendTimeline(s: PaymentLifecycleState, entry: PaymentTimelineEntry): PaymentLifecycleState {
  const { list, dropped } = appendBounded(s.timeline, [entry], TIMELINE_LIMIT);
  return dropped
    ? { ...s, timeline: list, timelineDropped: (s.timelineDropped ?? 0) + dropped }
    : { ...s, timeline: list };
}

function withEntry(s: PaymentLifecycleState, entry: PaymentTimelineEntry, nowMs: number): PaymentLifecycleState {
  return { ...appendTimeline(s, entry), lastActivityAtMs: nowMs, version: s.version + 1 };
}

/**
 * Moves a state written before provider and Slack dedup were split (a carried state or a DB
 * snapshot of an older run) to the current shape: provider ids are `<provider>:<id>`, Slack event
 * ids (`Ev…`) never contain a colon. Also trims an unbounded old timeline. Idempotent.
 */
export function upgradeState(s: PaymentLifecycleState): PaymentLifecycleState {
  const excess = Math.max(0, s.timeline.length - TIMELINE_LIMIT);
  const trimmed = excess
    ? { ...s, timeline: s.timeline.slice(excess), timelineDropped: (s.timelineDropped ?? 0) + excess }
    : s;
  if (trimmed.slackEventIds) return trimmed;
  const slack = trimmed.processedEventIds.filter((id) => !id.includes(':'));
  return {
    ...trimmed,
    processedEventIds: trimmed.processedEventIds.filter((id) => id.includes(':')),
    slackEventIds: slack.slice(-SLACK_EVENT_ID_LIMIT),
  };
}

/** The first initiation wins; a repeat (same request retried) changes nothing. */
export function applyInitiation(s: PaymentLifecycleState, init: PaymentInitiation, nowMs: number): Applied {
  if (s.initiation) return { state: s, applied: false };
  const statusAfter = advance(s.status, 'initiated');
  const entry: PaymentTimelineEntry = {
    at: iso(nowMs),
    kind: 'initiated',
    statusBefore: s.status,
    statusAfter,
    summary: `Payment initiated: ${formatAmount(init.amount, init.currency)} (${init.paymentType})`,
  };
  const state = withEntry(
    {
      ...s,
      status: statusAfter,
      initiation: init,
      provider: {
        ...s.provider,
        paymentId: s.provider.paymentId ?? init.paymentId,
        orderId: s.provider.orderId ?? init.orderId,
      },
    },
    entry,
    nowMs,
  );
  return { state, applied: true, entry };
}

/** Amount of the payment as best known: the initiation's, else the provider's. */
export function paymentAmount(s: PaymentLifecycleState): { amount: number; currency: string } | undefined {
  if (s.initiation) return { amount: s.initiation.amount, currency: s.initiation.currency };
  if (s.provider.amount !== undefined && s.provider.currency) {
    return { amount: s.provider.amount, currency: s.provider.currency };
  }
  return undefined;
}

export function eventSummary(e: PaymentEvent): string {
  const amt = e.amount !== undefined && e.currency ? ` ${formatAmount(e.amount, e.currency)}` : '';
  switch (e.kind) {
    case 'authorized':
      return `Payment authorized${amt}${e.method ? ` via ${e.method}` : ''}`;
    case 'captured':
      return `Payment captured${amt}`;
    case 'order_paid':
      return `Order paid${amt}`;
    case 'failed':
      return `Payment failed: ${e.error?.code ?? 'unknown error'}${e.error?.description ? ` (${e.error.description})` : ''}`;
    case 'refund_created':
      return `Refund created${e.refund ? ` ${formatAmount(e.refund.amount, e.refund.currency)}` : ''}`;
    case 'refund_processed':
      return `Refund processed${e.refund ? ` ${formatAmount(e.refund.amount, e.refund.currency)}` : ''}`;
    case 'refund_failed':
      return `Refund failed${e.refund ? ` ${formatAmount(e.refund.amount, e.refund.currency)}` : ''}`;
  }
}

/** Applies one provider event once; the status only moves forward. */
export function applyEvent(s: PaymentLifecycleState, e: PaymentEvent, nowMs: number): Applied {
  if (s.processedEventIds.includes(e.eventId)) return { state: s, applied: false };
  const refundedAmount = s.refundedAmount + (e.kind === 'refund_processed' && e.refund ? e.refund.amount : 0);
  const provider: PaymentLifecycleState['provider'] = {
    ...s.provider,
    name: s.provider.name ?? e.provider,
    paymentId: e.paymentId ?? s.provider.paymentId,
    orderId: s.provider.orderId ?? e.orderId,
    // Adapters put the payment's own amount on every event (refund amounts live in `refund`).
    amount: s.provider.amount ?? e.amount,
    currency: s.provider.currency ?? e.currency,
    method: e.method ?? s.provider.method,
    lastError:
      e.kind === 'failed' && e.error ? { code: e.error.code, description: e.error.description } : s.provider.lastError,
  };
  const next: PaymentLifecycleState = { ...s, provider, refundedAmount };
  const target = targetStatusFor(e.kind, { refundedAmount, paymentAmount: paymentAmount(next)?.amount });
  const statusAfter = advance(s.status, target);
  const entry: PaymentTimelineEntry = {
    at: iso(nowMs),
    kind: e.kind,
    eventId: e.eventId,
    statusBefore: s.status,
    statusAfter,
    summary: eventSummary(e),
  };
  // Provider ids are never evicted (see the contract); the legacy list was trimmed, chat ids included.
  const appended = [...s.processedEventIds, e.eventId];
  const processedEventIds = s.slackEventIds ? appended : appended.slice(-LEGACY_MAX_PROCESSED_IDS);
  return { state: withEntry({ ...next, status: statusAfter, processedEventIds }, entry, nowMs), applied: true, entry };
}

/** Marks a timer outcome (escalation or overdue) as a timeline entry. */
export function applyTimer(s: PaymentLifecycleState, kind: 'escalated' | 'overdue', nowMs: number): Applied {
  const statusAfter: PaymentStatus = kind === 'overdue' ? advance(s.status, 'overdue') : s.status;
  const entry: PaymentTimelineEntry = {
    at: iso(nowMs),
    kind,
    statusBefore: s.status,
    statusAfter,
    summary: kind === 'escalated' ? 'No outcome within the SLA: escalated' : 'No outcome: marked overdue',
  };
  const state = withEntry(
    {
      ...s,
      status: statusAfter,
      escalated: s.escalated || kind === 'escalated',
      overdue: s.overdue || kind === 'overdue',
    },
    entry,
    nowMs,
  );
  return { state, applied: true, entry };
}

export type Deadline = { kind: 'escalate' | 'overdue' | 'close'; atMs: number };

/**
 * The next timer the workflow must wait for. Without an outcome: escalation, then overdue (both
 * counted from the start). With an outcome (or once overdue): close after `refundGraceMs` of
 * inactivity, so late refunds still land in the thread.
 */
export function nextDeadline(s: PaymentLifecycleState, p: PaymentPolicy): Deadline {
  if (!hasOutcome(s.status)) {
    if (!s.escalated) return { kind: 'escalate', atMs: s.startedAtMs + p.escalateAfterMs };
    if (!s.overdue) return { kind: 'overdue', atMs: s.startedAtMs + Math.max(p.overdueAfterMs, p.escalateAfterMs) };
  }
  return { kind: 'close', atMs: s.lastActivityAtMs + p.refundGraceMs };
}

/** True for statuses worth a search attribute / dashboards: whether the money moved. */
export function isSettled(status: PaymentStatus): boolean {
  return STATUS_RANK[status] >= STATUS_RANK.captured;
}
