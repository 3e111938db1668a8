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

/**
 * Stripe as a second adapter behind the same boundary (the workflow is unchanged). Not wired to
 * a route yet: registering it is `paymentWebhookRoute(app, deps, stripeAdapter, secret, '/webhooks/stripe')`
 * plus a STRIPE_WEBHOOK_SECRET config entry.
 */
export const STRIPE_TOLERANCE_SECONDS = 300;

/** `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]`; pure, clock injected. */
export function verifyStripeSignature(input: {
  secret: string;
  rawBody: Buffer | string;
  header: string | undefined;
  nowSeconds: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  if (!input.header) return { ok: false, reason: 'missing_signature' };
  const parts = input.header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = parts.find(([k]) => k === 't')?.[1];
  const v1 = parts.filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => v!);
  if (!t || !/^\d{1,12}$/.test(t) || v1.length === 0) return { ok: false, reason: 'malformed_signature' };
  if (Math.abs(input.nowSeconds - Number(t)) > (input.toleranceSeconds ?? STRIPE_TOLERANCE_SECONDS)) {
    return { ok: false, reason: 'stale_timestamp' };
  }
  const expected = createHmac('sha256', input.secret).update(`${t}.`).update(input.rawBody).digest();
  // Any v1 may match (Stripe sends several during secret rotation); compare every one in constant time.
  let ok = false;
  for (const sig of v1) ok = timingSafeEqual(Buffer.from(sig, 'hex'), expected) || ok;
  return ok ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

const metadata = z.record(z.string(), z.string()).optional().default({});
const paymentIntent = z.object({
  id: z.string().min(1),
  amount: z.number().int().nonnegative(),
  currency: z.string().regex(/^[a-zA-Z]{3}$/),
  metadata,
  payment_method_types: z.array(z.string()).optional(),
  last_payment_error: z.object({ code: z.string().optional(), message: z.string().optional() }).nullable().optional(),
});
const charge = z.object({
  id: z.string().min(1),
  amount: z.number().int().nonnegative(),
  amount_refunded: z.number().int().nonnegative(),
  currency: z.string().regex(/^[a-zA-Z]{3}$/),
  payment_intent: z.string().nullable().optional(),
  metadata,
});
export const stripeEventSchema = z.object({
  id: z.string().min(1),
  object: z.literal('event'),
  type: z.string().min(1),
  created: z.number().int(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

const KINDS: Record<string, PaymentEventKind> = {
  'payment_intent.amount_capturable_updated': 'authorized',
  'payment_intent.succeeded': 'captured',
  'payment_intent.payment_failed': 'failed',
  'charge.refunded': 'refund_processed',
};

const issues = (prefix: string, list: { path: PropertyKey[]; message: string }[]) =>
  list.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`).join('; ');

export function parseStripeWebhook(body: unknown, deliveryId: string): ParsedWebhook {
  const env = stripeEventSchema.safeParse(body);
  if (!env.success) return { kind: 'invalid', message: issues('', env.error.issues) };
  const kind = KINDS[env.data.type];
  if (!kind) return { kind: 'ignored', providerEventType: env.data.type };
  const base = {
    provider: 'stripe',
    eventId: `stripe:${deliveryId}`,
    kind,
    providerEventType: env.data.type,
    occurredAt: new Date(env.data.created * 1000).toISOString(),
  };
  if (kind === 'refund_processed') {
    const c = charge.safeParse(env.data.data.object);
    if (!c.success) return { kind: 'invalid', message: issues('data.object', c.error.issues) };
    const currency = c.data.currency.toUpperCase();
    const event: PaymentEvent = {
      ...base,
      paymentId: c.data.payment_intent ?? c.data.id,
      amount: c.data.amount,
      currency,
      refund: { id: `${c.data.id}:${c.data.amount_refunded}`, amount: c.data.amount_refunded, currency },
    };
    return {
      kind: 'event',
      event,
      correlation: {
        paymentId: event.paymentId,
        lifecycleId: c.data.metadata[PAYMENT_NOTES_LIFECYCLE_KEY] ?? c.data.metadata.order_id,
      },
    };
  }
  const p = paymentIntent.safeParse(env.data.data.object);
  if (!p.success) return { kind: 'invalid', message: issues('data.object', p.error.issues) };
  const pi = p.data;
  const event: PaymentEvent = {
    ...base,
    paymentId: pi.id,
    orderId: pi.metadata.order_id,
    amount: pi.amount,
    currency: pi.currency.toUpperCase(),
    method: pi.payment_method_types?.[0],
    ...(kind === 'failed'
      ? {
          error: { code: pi.last_payment_error?.code ?? 'payment_failed', description: pi.last_payment_error?.message },
        }
      : {}),
  };
  return {
    kind: 'event',
    event,
    correlation: {
      orderId: pi.metadata.order_id,
      paymentId: pi.id,
      lifecycleId: pi.metadata[PAYMENT_NOTES_LIFECYCLE_KEY],
    },
  };
}

export const stripeAdapter: PaymentProviderAdapter = {
  name: 'stripe',
  signatureHeader: 'Stripe-Signature',
  verify: ({ secret, rawBody, headers, nowSeconds }) =>
    verifyStripeSignature({ secret, rawBody, header: headerValue(headers, 'stripe-signature'), nowSeconds }),
  // Stripe names the delivery in the body: `evt_…` is stable across retries.
  deliveryId: (_headers, body) => {
    const id = (body as { id?: unknown } | null)?.id;
    return typeof id === 'string' && /^evt_[\w]{1,120}$/.test(id) ? id : undefined;
  },
  parse: parseStripeWebhook,
};
