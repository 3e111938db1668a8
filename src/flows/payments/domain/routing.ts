import type { PaymentChannels, PaymentType } from '../contract.js';

export const PAYMENT_ROUTING_RULE = { id: 'payment-channel-routing', version: '1' } as const;

export interface RoutingFacts {
  /** From the initiation; undefined when the thread is built from a provider event alone. */
  paymentType: PaymentType | undefined;
  /** From our records: this payer already completed (captured) a part payment. */
  payerHasCompletedInstallment: boolean;
}

/**
 * Which channel owns the thread. Part payments, and any payment by a payer who already completed
 * an installment (the next one is part of the same plan even if sent as "full"), go to the
 * part-payment channel; everything else to the payments channel.
 */
export function routePayment(facts: RoutingFacts, channels: PaymentChannels): { channel: string; reason: string } {
  if (facts.paymentType === 'part') return { channel: channels.partPayments, reason: 'part_payment' };
  if (facts.payerHasCompletedInstallment) return { channel: channels.partPayments, reason: 'payer_has_installments' };
  if (facts.paymentType === undefined) return { channel: channels.payments, reason: 'default_no_initiation' };
  return { channel: channels.payments, reason: 'full_payment' };
}

/** How "the same payer" is recognised across payments: case/space-insensitive name. */
export function payerKey(payerName: string): string {
  return payerName.trim().toLowerCase().replace(/\s+/g, ' ');
}
