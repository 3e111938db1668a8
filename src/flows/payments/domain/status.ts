import type { PaymentEventKind, PaymentStatus } from '../contract.js';

/**
 * The forward-only status machine. Each status has a rank; an event or timer can only move the
 * lifecycle to a higher rank, so a late or duplicated earlier event never moves it back.
 * `failed` is deliberately below `captured`: Razorpay legitimately sends `payment.captured`
 * after `payment.failed` (e.g. a late bank confirmation), and that must win.
 */
export const STATUS_RANK: Record<PaymentStatus, number> = {
  pending: 0,
  initiated: 10,
  authorized: 20,
  overdue: 25,
  failed: 30,
  captured: 40,
  refund_pending: 50,
  refund_failed: 55,
  partially_refunded: 60,
  refunded: 70,
};

export const STATUS_LABEL: Record<PaymentStatus, string> = {
  pending: 'Pending',
  initiated: 'Initiated',
  authorized: 'Authorized',
  overdue: 'Overdue ⏰',
  failed: 'Failed ❌',
  captured: 'Captured ✅',
  refund_pending: 'Refund pending ↩️',
  refund_failed: 'Refund failed ⚠️',
  partially_refunded: 'Partially refunded ↩️',
  refunded: 'Refunded ↩️',
};

/** Moves to `target` only if it ranks higher than `current`. */
export function advance(current: PaymentStatus, target: PaymentStatus): PaymentStatus {
  return STATUS_RANK[target] > STATUS_RANK[current] ? target : current;
}

/**
 * The status an event points at. Refund outcomes depend on how much has been refunded in total
 * (partial refunds are common), so the caller passes the running refunded amount.
 */
export function targetStatusFor(
  kind: PaymentEventKind,
  ctx: { refundedAmount: number; paymentAmount: number | undefined },
): PaymentStatus {
  switch (kind) {
    case 'authorized':
      return 'authorized';
    case 'captured':
    case 'order_paid':
      return 'captured';
    case 'failed':
      return 'failed';
    case 'refund_created':
      return 'refund_pending';
    case 'refund_failed':
      return 'refund_failed';
    case 'refund_processed':
      return ctx.paymentAmount !== undefined && ctx.refundedAmount < ctx.paymentAmount
        ? 'partially_refunded'
        : 'refunded';
  }
}

/** A captured or failed outcome stops the SLA clock (failed is an outcome ops must see, not a final state). */
export function hasOutcome(status: PaymentStatus): boolean {
  return STATUS_RANK[status] >= STATUS_RANK.failed;
}
