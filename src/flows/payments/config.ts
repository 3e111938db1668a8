import { channelId, duration, optionalString } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';
import type { PaymentChannels, PaymentPolicy } from './contract.js';

/** Sandbox-only Razorpay webhook secret (the demo and tests sign with it). */
export const SANDBOX_RAZORPAY_WEBHOOK_SECRET = 'threadline-sandbox-razorpay-secret';

/** Channel ids of the emulator's seeded workspace, used as sandbox defaults for routing. */
export const SANDBOX_PAYMENT_CHANNELS: PaymentChannels = {
  payments: 'C0PAYMENTS',
  partPayments: 'C0PARTPAY',
  escalations: 'C0ESCALATE',
};

export interface PaymentsConfig {
  channels: PaymentChannels;
  /** Verifies `X-Razorpay-Signature`; unset outside the sandbox: the webhook answers 503. */
  razorpayWebhookSecret: string | undefined;
  /** SLA and retention policy (milliseconds), passed into each workflow's input by the API. */
  policy: PaymentPolicy;
}

export const paymentsConfig = defineFlowConfig(
  {
    SLACK_CHANNEL_PAYMENTS: channelId.optional(),
    SLACK_CHANNEL_PART_PAYMENTS: channelId.optional(),
    SLACK_CHANNEL_ESCALATIONS: channelId.optional(),
    RAZORPAY_WEBHOOK_SECRET: optionalString,
    PAYMENT_ESCALATE_AFTER: duration('30m'),
    PAYMENT_OVERDUE_AFTER: duration('2h'),
    PAYMENT_REFUND_GRACE: duration('7d'),
    PAYMENT_INITIATION_WAIT: duration('10s'),
  },
  (e, ctx): PaymentsConfig => {
    const channel = (name: string, value: string | undefined, sandboxValue: string) =>
      ctx.require(name, value, sandboxValue, 'a Slack channel id like C0123ABCD');
    if (e.PAYMENT_OVERDUE_AFTER < e.PAYMENT_ESCALATE_AFTER) {
      ctx.problem('PAYMENT_OVERDUE_AFTER: must be at least PAYMENT_ESCALATE_AFTER');
    }
    return {
      channels: {
        payments: channel('SLACK_CHANNEL_PAYMENTS', e.SLACK_CHANNEL_PAYMENTS, SANDBOX_PAYMENT_CHANNELS.payments),
        partPayments: channel(
          'SLACK_CHANNEL_PART_PAYMENTS',
          e.SLACK_CHANNEL_PART_PAYMENTS,
          SANDBOX_PAYMENT_CHANNELS.partPayments,
        ),
        escalations: channel(
          'SLACK_CHANNEL_ESCALATIONS',
          e.SLACK_CHANNEL_ESCALATIONS,
          SANDBOX_PAYMENT_CHANNELS.escalations,
        ),
      },
      razorpayWebhookSecret: e.RAZORPAY_WEBHOOK_SECRET ?? (ctx.sandbox ? SANDBOX_RAZORPAY_WEBHOOK_SECRET : undefined),
      policy: {
        escalateAfterMs: e.PAYMENT_ESCALATE_AFTER,
        overdueAfterMs: e.PAYMENT_OVERDUE_AFTER,
        refundGraceMs: e.PAYMENT_REFUND_GRACE,
        initiationWaitMs: e.PAYMENT_INITIATION_WAIT,
      },
    };
  },
);
