import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { PaymentEvent, PaymentEventKind } from '../../flows/payments/contract.js';
import {
  PAYMENT_NOTES_LIFECYCLE_KEY,
  headerValue,
  type ParsedWebhook,
  type PaymentProviderAdapter,
  type SignatureCheck,
} from './provider.js';

/** Hex HMAC-SHA256(webhook secret, raw body): Razorpay's `X-Razorpay-Signature`. */
export function computeRazorpaySignature(secret: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/**
 * Verifies `X-Razorpay-Signature` on the raw bytes. Constant-time (the official SDK compares with
 * `===`, which leaks timing); pure, so it is tested against fixed vectors.
 */
export function verifyRazorpaySignature(input: {
  secret: string;
  rawBody: Buffer | string;
  signature: string | undefined;
}): SignatureCheck {
  if (!input.signature) return { ok: false, reason: 'missing_signature' };
  const given = input.signature.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(given)) return { ok: false, reason: 'malformed_signature' };
  const expected = Buffer.from(computeRazorpaySignature(input.secret, input.rawBody), 'hex');
  return timingSafeEqual(Buffer.from(given, 'hex'), expected) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/** Razorpay sends `notes: []` when empty and an object otherwise. */
const notesSchema = z
  .union([z.record(z.string(), z.unknown()), z.array(z.unknown())])
  .optional()
  .nullable()
  .transform((n): Record<string, unknown> => (n && !Array.isArray(n) ? n : {}));

const nullableString = z.string().nullable().optional();

const paymentEntity = z.object({
  id: z.string().min(1),
  amount: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
  status: z.string().optional(),
  order_id: nullableString,
  method: nullableString,
  notes: notesSchema,
  error_code: nullableString,
  error_description: nullableString,
  error_source: nullableString,
  error_step: nullableString,
  error_reason: nullableString,
  created_at: z.number().int().optional(),
});

const refundEntity = z.object({
  id: z.string().min(1),
  amount: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
  payment_id: z.string().min(1),
  notes: notesSchema,
  status: z.string().optional(),
  created_at: z.number().int().optional(),
});

const orderEntity = z.object({
  id: z.string().min(1),
  amount: z.number().int().nonnegative().optional(),
  currency: z.string().optional(),
  notes: notesSchema,
});

/** The envelope every Razorpay webhook shares; `payload` is validated per event below. */
export const razorpayEnvelopeSchema = z.object({
  entity: z.literal('event'),
  account_id: z.string().optional(),
  event: z.string().min(1),
  contains: z.array(z.string()).optional(),
  payload: z.record(z.string(), z.unknown()),
  created_at: z.number().int(),
});

/** payment.* carry `payment`; order.paid also carries `order`. */
const orderPaidPayload = z.object({
  payment: z.object({ entity: paymentEntity }),
  order: z.object({ entity: orderEntity }).optional(),
});
const refundPayload = z.object({
  refund: z.object({ entity: refundEntity }),
  payment: z.object({ entity: paymentEntity }).optional(),
});

export const RAZORPAY_EVENT_KINDS: Record<string, PaymentEventKind> = {
  'payment.authorized': 'authorized',
  'payment.captured': 'captured',
  'payment.failed': 'failed',
  'order.paid': 'order_paid',
  'refund.created': 'refund_created',
  'refund.processed': 'refund_processed',
  'refund.failed': 'refund_failed',
};

const issuesText = (prefix: string, issues: { path: PropertyKey[]; message: string }[]) =>
  issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`).join('; ');

const noteId = (notes: Record<string, unknown>): string | undefined => {
  const v = notes[PAYMENT_NOTES_LIFECYCLE_KEY];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
};

/** Maps a Razorpay webhook body to a provider-neutral event (pure; no PII copied). */
export function parseRazorpayWebhook(body: unknown, deliveryId: string): ParsedWebhook {
  const env = razorpayEnvelopeSchema.safeParse(body);
  if (!env.success) return { kind: 'invalid', message: issuesText('', env.error.issues) };
  const { event: type, payload, created_at } = env.data;
  const kind = RAZORPAY_EVENT_KINDS[type];
  if (!kind) return { kind: 'ignored', providerEventType: type };
  const occurredAt = new Date(created_at * 1000).toISOString();
  const base = { provider: 'razorpay', eventId: `razorpay:${deliveryId}`, kind, providerEventType: type, occurredAt };

  if (kind.startsWith('refund')) {
    const p = refundPayload.safeParse(payload);
    if (!p.success) return { kind: 'invalid', message: issuesText('payload', p.error.issues) };
    const r = p.data.refund.entity;
    const pay = p.data.payment?.entity;
    const event: PaymentEvent = {
      ...base,
      paymentId: r.payment_id,
      orderId: pay?.order_id ?? undefined,
      amount: pay?.amount,
      currency: pay?.currency,
      method: pay?.method ?? undefined,
      refund: { id: r.id, amount: r.amount, currency: r.currency },
    };
    return {
      kind: 'event',
      event,
      correlation: {
        orderId: pay?.order_id ?? undefined,
        paymentId: r.payment_id,
        lifecycleId: noteId(r.notes) ?? (pay ? noteId(pay.notes) : undefined),
      },
    };
  }

  const p = orderPaidPayload.safeParse(payload);
  if (!p.success) return { kind: 'invalid', message: issuesText('payload', p.error.issues) };
  const pay = p.data.payment.entity;
  const order = kind === 'order_paid' ? p.data.order?.entity : undefined;
  const event: PaymentEvent = {
    ...base,
    paymentId: pay.id,
    orderId: pay.order_id ?? order?.id ?? undefined,
    amount: pay.amount,
    currency: pay.currency,
    method: pay.method ?? undefined,
    ...(kind === 'failed'
      ? {
          error: {
            code: pay.error_code ?? 'UNKNOWN_ERROR',
            description: pay.error_description ?? undefined,
            source: pay.error_source ?? undefined,
            step: pay.error_step ?? undefined,
            reason: pay.error_reason ?? undefined,
          },
        }
      : {}),
  };
  return {
    kind: 'event',
    event,
    correlation: {
      orderId: event.orderId,
      paymentId: pay.id,
      lifecycleId: noteId(pay.notes) ?? (order ? noteId(order.notes) : undefined),
    },
  };
}

/** Razorpay: `X-Razorpay-Signature` over the raw body, deliveries named by `X-Razorpay-Event-Id`. */
export const razorpayAdapter: PaymentProviderAdapter = {
  name: 'razorpay',
  signatureHeader: 'X-Razorpay-Signature',
  verify: ({ secret, rawBody, headers }) =>
    verifyRazorpaySignature({ secret, rawBody, signature: headerValue(headers, 'x-razorpay-signature') }),
  deliveryId: (headers) => {
    const id = headerValue(headers, 'x-razorpay-event-id')?.trim();
    return id && /^[\w.:-]{1,128}$/.test(id) ? id : undefined;
  },
  parse: parseRazorpayWebhook,
};
