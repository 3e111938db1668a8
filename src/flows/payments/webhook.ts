import type { FastifyInstance } from 'fastify';
import { paymentEventSignal } from './contract.js';
import { paymentsRepo } from './repo.js';
import type { PaymentProviderAdapter } from '../../integrations/payments/provider.js';
import type { FlowApiContext } from '../../platform/flow.js';
import type { PaymentsConfig } from './config.js';
import { AppError } from '../../platform/http/errors.js';
import { outboxFor, recordDelivery } from '../../platform/ledger/outbox.js';
import { budgetOf } from '../../platform/http/ack.js';
import { lifecycleIdSchema, paymentStartOptions } from './start.js';

/**
 * A thin, provider-agnostic payment webhook route: verify the signature on the raw bytes →
 * validate → correlate to a lifecycle → record the delivery with its `signalWithStart` in the
 * outbox (ONE statement; the relay makes the call) → 200 `queued` (or `duplicate`: the provider's
 * retry of a delivery already recorded). Bad signature 401, malformed 400, unknown or
 * uncorrelated event 200 (ignored); never 500 for bad input. The ack needs Postgres alone, within
 * one request budget (the correlation lookup and the record share it): Postgres down or slow is a
 * 503 the provider retries; Temporal down delays the hand-off, never the ack. Adding Stripe is
 * `paymentWebhookRoute(app, deps, stripeAdapter, secret, path)`.
 */
export function paymentWebhookRoute(
  app: FastifyInstance,
  deps: FlowApiContext<PaymentsConfig>,
  adapter: PaymentProviderAdapter,
  secret: string | undefined,
  path: string,
): void {
  const payments = paymentsRepo(deps.pool);
  const outbox = outboxFor(deps);
  const count = (type: string, outcome: string) =>
    deps.metrics.inboundEvents.inc({ source: adapter.name, type, outcome });

  app.post(path, { config: { ack: true } }, async (req, reply) => {
    const budget = budgetOf(req);
    if (!secret) {
      throw AppError.unavailable(`${adapter.name}_not_configured`, `${adapter.name} webhooks are not configured`);
    }
    const rawBody = req.rawBody;
    if (!rawBody || rawBody.length === 0) {
      count('unknown', 'rejected');
      throw AppError.badRequest('missing_body', 'a JSON body is required (Content-Type: application/json)');
    }
    const check = adapter.verify({ secret, rawBody, headers: req.headers, nowSeconds: Math.floor(Date.now() / 1000) });
    if (!check.ok) {
      count('unknown', 'rejected');
      throw AppError.unauthorized(
        'invalid_signature',
        `${adapter.signatureHeader}: ${check.reason.replace(/_/g, ' ')}`,
      );
    }
    const deliveryId = adapter.deliveryId(req.headers, req.body);
    if (!deliveryId) {
      count('unknown', 'rejected');
      throw AppError.badRequest('missing_event_id', `the ${adapter.name} event id header is missing or malformed`);
    }
    const parsed = adapter.parse(req.body, deliveryId);
    if (parsed.kind === 'invalid') {
      count('unknown', 'rejected');
      throw AppError.badRequest('invalid_payload', parsed.message);
    }
    if (parsed.kind === 'ignored') {
      count(parsed.providerEventType, 'ignored');
      return reply.code(200).send({ status: 'ignored', reason: 'unhandled_event_type' });
    }

    const { event, correlation } = parsed;
    let lifecycleId = correlation.lifecycleId ?? correlation.orderId;
    if (!lifecycleId && correlation.paymentId) {
      lifecycleId = await budget
        .within('payment correlation', payments.lifecycleIdForPayment(correlation.paymentId))
        .catch(() => {
          count(event.providerEventType, 'failed');
          throw AppError.unavailable('storage_unavailable', 'could not correlate the event');
        });
    }
    const valid = lifecycleIdSchema.safeParse(lifecycleId);
    if (!valid.success) {
      // Nothing ties it to a lifecycle we know (no order id, no notes key, unknown payment id).
      req.log.warn({ provider: adapter.name, type: event.providerEventType, deliveryId }, 'uncorrelated payment event');
      count(event.providerEventType, 'ignored');
      return reply.code(200).send({ status: 'ignored', reason: 'uncorrelated' });
    }
    const id = valid.data;
    const opts = paymentStartOptions(deps, id);
    // Per subject in the order recorded: the relay hands one lifecycle's events off one by one.
    const outcome = await recordDelivery(outbox, {
      source: adapter.name,
      eventId: deliveryId,
      type: event.providerEventType,
      rawBody,
      subject: opts.workflowId,
      budget,
      call: {
        kind: 'signalWithStart',
        workflowId: opts.workflowId,
        workflowType: 'paymentLifecycleWorkflow',
        taskQueue: opts.taskQueue,
        args: opts.args,
        signal: paymentEventSignal.name,
        signalArgs: [event],
        workflowIdReusePolicy: opts.workflowIdReusePolicy,
        workflowTaskTimeout: opts.workflowTaskTimeout,
      },
    });
    return reply.code(200).send({ status: outcome, lifecycleId: id });
  });
}
