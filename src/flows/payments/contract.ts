import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ContinueAsNewOptions } from '../../platform/temporal/workflow/continue-as-new.js';

/**
 * The payment lifecycle's wire contract. History stores every type here: evolve fields
 * additively (new optional fields), never rename.
 */

export type PaymentType = 'full' | 'part';

/** Provider-neutral event kinds; every provider adapter maps its own event names onto these. */
export type PaymentEventKind =
  'authorized' | 'captured' | 'failed' | 'order_paid' | 'refund_created' | 'refund_processed' | 'refund_failed';

/**
 * One provider event, as the workflow sees it. Deliberately free of payer PII (no email/contact):
 * only what the thread shows.
 */
export interface PaymentEvent {
  /** `razorpay`, `stripe`, … */
  provider: string;
  /** Globally unique per delivery: `<provider>:<provider event id>`; the workflow dedups on it. */
  eventId: string;
  kind: PaymentEventKind;
  /** The provider's own event name, e.g. `payment.captured`. */
  providerEventType: string;
  /** ISO time the provider says the event happened. */
  occurredAt: string;
  paymentId?: string;
  orderId?: string;
  /** Integer minor units. */
  amount?: number;
  currency?: string;
  method?: string;
  error?: { code: string; description?: string; source?: string; step?: string; reason?: string };
  refund?: { id: string; amount: number; currency: string };
}

/** "Payment initiated", from `POST /v1/payments`. */
export interface PaymentInitiation {
  /** The lifecycle id (= orderId). */
  lifecycleId: string;
  orderId: string;
  paymentId?: string;
  payerName: string;
  /** Integer minor units of `currency`. */
  amount: number;
  currency: string;
  paymentType: PaymentType;
  /** Slack user id (U…/W…) or email, as given. */
  owner?: string;
  metadata?: Record<string, unknown>;
  /** Who called the API (the API key's short fingerprint, never the key). */
  requestedBy: string;
  /** ISO time the API accepted the request. */
  receivedAt: string;
}

/** SLA and retention policy, passed in by the API from config (workflows never read config). */
export interface PaymentPolicy {
  /** No captured/failed outcome by then (from start): escalate in the thread and to the escalation channel. */
  escalateAfterMs: number;
  /** No outcome by then: mark the lifecycle overdue. */
  overdueAfterMs: number;
  /** After an outcome, stay open this long without activity so late refunds land in the same thread. */
  refundGraceMs: number;
  /** A provider event that arrives before "initiated" waits this long for it before the root is posted. */
  initiationWaitMs: number;
}

export interface PaymentChannels {
  payments: string;
  partPayments: string;
  escalations: string;
}

export type PaymentStatus =
  | 'pending'
  | 'initiated'
  | 'authorized'
  | 'overdue'
  | 'failed'
  | 'captured'
  | 'refund_pending'
  | 'refund_failed'
  | 'partially_refunded'
  | 'refunded';

export interface PaymentTimelineEntry {
  at: string;
  /** `initiated`, an event kind, `escalated`, `overdue`, `routed`, `closed`. */
  kind: string;
  eventId?: string;
  statusBefore: PaymentStatus;
  statusAfter: PaymentStatus;
  summary: string;
}

/** Everything the workflow knows; carried across continue-as-new and persisted as the DB snapshot. */
export interface PaymentLifecycleState {
  lifecycleId: string;
  status: PaymentStatus;
  initiation?: PaymentInitiation;
  /** Facts learned from provider events (used when the initiation has not arrived). */
  provider: {
    name?: string;
    paymentId?: string;
    orderId?: string;
    amount?: number;
    currency?: string;
    method?: string;
    lastError?: { code: string; description?: string };
  };
  /** Slack id to mention, resolved from `initiation.owner`. */
  ownerSlackId?: string;
  root?: { channel: string; ts: string };
  routing?: { channel: string; reason: string };
  /**
   * Provider event ids already applied (signals are at-least-once). Never evicted: a redelivered
   * refund must count once however much the thread talked in between. Grows only with provider
   * events (a payment sees a handful), and is carried across continue-as-new and the DB snapshot.
   *
   * Runs started before the `payment-separate-provider-dedup` patch have no `slackEventIds` and keep
   * provider and Slack ids here in one list (the old rules, kept so their histories replay).
   */
  processedEventIds: string[];
  /** Slack event ids of thread replies/reactions already applied: the newest SLACK_EVENT_ID_LIMIT only. */
  slackEventIds?: string[];
  /** Times the thread's root post failed permanently (0/absent: never failed). A later event retries it. */
  rootFailures?: number;
  refundedAmount: number;
  escalated: boolean;
  overdue: boolean;
  /** Workflow time (ms) the lifecycle began, SLA timers count from it. */
  startedAtMs: number;
  /** Workflow time (ms) of the last applied event; the refund grace counts from it. */
  lastActivityAtMs: number;
  /** The newest TIMELINE_LIMIT entries; the full record is the lifecycle's rows in Postgres' `audit_log`. */
  timeline: PaymentTimelineEntry[];
  /** Entries dropped from the front of `timeline` to keep state bounded. */
  timelineDropped?: number;
  /** Monotonic version of the snapshot (bumped per applied change). */
  version: number;
}

/** Input of `paymentLifecycleWorkflow` (wire id `payment:<lifecycleId>`). */
export interface PaymentLifecycleInput extends ContinueAsNewOptions {
  lifecycleId: string;
  policy: PaymentPolicy;
  channels: PaymentChannels;
  /** Set by continue-as-new: the state to resume from. */
  carried?: PaymentLifecycleState;
  /** Events received by the previous run but not yet applied (continue-as-new). */
  pendingEvents?: PaymentSignal[];
}

export interface PaymentLifecycleResult {
  lifecycleId: string;
  status: PaymentStatus;
  closedReason: 'grace_elapsed';
}

/** What the workflow's queue holds: an initiation or a provider event, in arrival order. */
export type PaymentSignal =
  { type: 'initiation'; initiation: PaymentInitiation } | { type: 'event'; event: PaymentEvent };

/**
 * Changes to the command sequence of running lifecycles (docs/architecture.md, "Versioning
 * workflows"). A run whose history predates a patch keeps the old behaviour until it ends.
 */
export const PAYMENT_PATCHES = {
  /** Provider event ids in their own never-evicted list; Slack ids bounded apart (was one list trimmed to 500). */
  separateProviderDedup: 'payment-separate-provider-dedup',
  /** A permanent failure of the root post is audited and reported; the lifecycle lives on without a thread. */
  rootPostTolerant: 'payment-root-post-tolerant',
  /**
   * A step's bookkeeping (audit rows + snapshot) in one local activity, the snapshot and routing
   * lookups local too, and an event's reply, root update and bookkeeping side by side.
   */
  leanBookkeeping: 'payment-lean-bookkeeping',
} as const;

/** Wire name `initiatePayment`: the API's "payment initiated". Idempotent (the first initiation wins). */
export const initiatePaymentSignal = defineSignal<[PaymentInitiation]>('initiatePayment');
/** Wire name `paymentEvent`: one provider event. Deduplicated by `eventId` in workflow state. */
export const paymentEventSignal = defineSignal<[PaymentEvent]>('paymentEvent');
/** Wire name `paymentState`: the current state and timeline (GET /v1/payments/:id). */
export const paymentStateQuery = defineQuery<PaymentLifecycleState>('paymentState');

/** Workflow id of a lifecycle: a business key, so webhooks and the API find the same one. Never change the format. */
export const paymentWorkflowId = (lifecycleId: string): string => `payment:${lifecycleId}`;
