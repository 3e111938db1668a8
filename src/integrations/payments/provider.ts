import type { PaymentEvent } from '../../flows/payments/contract.js';

/** Notes key we ask callers to set on the provider order/payment, so webhooks correlate without an order id. */
export const PAYMENT_NOTES_LIFECYCLE_KEY = 'threadline_lifecycle_id';

/**
 * The provider boundary. A webhook route is provider-agnostic: it asks the adapter to verify the
 * raw bytes, to name the delivery, and to map the body to a provider-neutral `PaymentEvent`. The
 * workflow only ever sees `PaymentEvent`, so a second provider (Stripe) is a new adapter + route,
 * never a workflow change.
 */
export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp' };

export type ParsedWebhook =
  /** A lifecycle event; `correlation` is what the route resolves to a lifecycle id. */
  | { kind: 'event'; event: PaymentEvent; correlation: PaymentCorrelation }
  /** A well-formed event we do not handle (ack 200, no effect). */
  | { kind: 'ignored'; providerEventType: string }
  /** Malformed: the message names the offending field. */
  | { kind: 'invalid'; message: string };

export interface PaymentCorrelation {
  orderId?: string;
  paymentId?: string;
  /** The value of our notes key, if the merchant set it. */
  lifecycleId?: string;
}

export interface PaymentProviderAdapter {
  readonly name: string;
  /** Header carrying the signature (for error messages). */
  readonly signatureHeader: string;
  verify(input: {
    secret: string;
    rawBody: Buffer | string;
    headers: Record<string, string | string[] | undefined>;
    nowSeconds: number;
  }): SignatureCheck;
  /** The delivery's stable id (same across retries), or undefined when the provider did not send one. */
  deliveryId(headers: Record<string, string | string[] | undefined>, body: unknown): string | undefined;
  parse(body: unknown, deliveryId: string): ParsedWebhook;
}

export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
