import type { FastifyInstance } from 'fastify';
import { paymentWorkflowId } from './contract.js';
import { paymentEventSignal, type PaymentEvent } from './contract.js';
import { paymentsRepo } from './repo.js';
import type { PaymentProviderAdapter } from '../../integrations/payments/provider.js';
import type { paymentLifecycleWorkflow } from './workflow.js';
import type { FlowApiContext } from '../../platform/flow.js';
import type { PaymentsConfig } from './config.js';
import { AppError } from '../../platform/http/errors.js';
import { handOff, temporalWithin } from '../../platform/ledger/handoff.js';
import { budgetOf } from '../../platform/http/ack.js';
import { lifecycleIdSchema, paymentStartOptions } from './start.js';

/**
 * A thin, provider-agnostic payment webhook route: verify the signature on the raw bytes →
 * validate → correlate to a lifecycle → hand off (ledger → signalWithStart → mark) → ack.
 * Bad signature 401, malformed 400, unknown or uncorrelated event 200 (ignored); never 500 for
 * bad input. Like the Slack ingress it answers within one request budget (Postgres and Temporal
 * calls share it): a slow dependency is a 503 the provider retries, never a late 200. Adding Stripe is `paymentWebhookRoute(app, deps, stripeAdapter, secret, path)`.
 */
export function paymentWebhookRoute(
  app: FastifyInstance,
  deps: FlowApiContext<PaymentsConfig>,
  adapter: PaymentProviderAdapter,
  secret: string | undefined,
  path: string,
): void {
  const payments = paymentsRepo(deps.pool);
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
    const outcome = await handOff(
      { inbound: deps.repos.inbound, metrics: deps.metrics },
      {
        source: adapter.name,
        eventId: deliveryId,
        type: event.providerEventType,
        rawBody,
        subject: paymentWorkflowId(id),
        workflowId: opts.workflowId,
        budget,
        send: () =>
          temporalWithin(deps.temporal, budget, () =>
            deps.temporal.workflow.signalWithStart<typeof paymentLifecycleWorkflow, [PaymentEvent]>(
              'paymentLifecycleWorkflow',
              { ...opts, signal: paymentEventSignal, signalArgs: [event] },
            ),
          ),
      },
    );
    return reply.code(200).send({ status: outcome, lifecycleId: id });
  });
}
