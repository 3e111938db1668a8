import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { paymentWorkflowId } from './contract.js';
import {
  initiatePaymentSignal,
  paymentStateQuery,
  type PaymentInitiation,
  type PaymentLifecycleState,
} from './contract.js';
import { idempotencyRepo } from '../../platform/http/idempotency-repo.js';
import { paymentsRepo } from './repo.js';
import { paymentAmount } from './domain/lifecycle.js';
import { CURRENCY_PATTERN, formatAmount } from './domain/money.js';
import { STATUS_LABEL } from './domain/status.js';
import type { paymentLifecycleWorkflow } from './workflow.js';
import { apiKeyGuard, callerFingerprint } from '../../platform/http/auth.js';
import type { FlowApiContext } from '../../platform/flow.js';
import { razorpayAdapter } from '../../integrations/payments/razorpay.js';
import type { PaymentsConfig } from './config.js';
import { paymentWebhookRoute } from './webhook.js';
import { lifecycleIdSchema, paymentStartOptions } from './start.js';
import { AppError, describeZodIssues } from '../../platform/http/errors.js';
import { withIdempotency } from '../../platform/http/idempotency.js';
import { assignSlackTeam, slackTeamIdSchema } from '../../platform/installations/assign.js';

/** The documented bound on `metadata` (it is kept in the workflow state, so it counts against history size). */
const METADATA_MAX_BYTES = 8192;

const initiationBody = z.object({
  orderId: lifecycleIdSchema,
  paymentId: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a provider payment id')
    .optional(),
  payerName: z.string().trim().min(1).max(200),
  amount: z.number().int('an integer number of minor units').positive().max(Number.MAX_SAFE_INTEGER),
  currency: z
    .string()
    .transform((c) => c.toUpperCase())
    .pipe(z.string().regex(CURRENCY_PATTERN, 'an ISO 4217 code like INR')),
  paymentType: z.enum(['full', 'part']),
  owner: z
    .string()
    .trim()
    .refine((o) => /^[UW][A-Z0-9]{2,}$/.test(o) || z.email().safeParse(o).success, 'a Slack user id or an email')
    .optional(),
  // KiB are bytes: a JS string length counts UTF-16 units, so "€" (3 bytes in UTF-8) would count as one.
  metadata: z
    .record(z.string(), z.unknown())
    .refine(
      (m) => Buffer.byteLength(JSON.stringify(m), 'utf8') <= METADATA_MAX_BYTES,
      'at most 8 KiB (8192 bytes) of JSON',
    )
    .optional(),
  /** The Slack workspace the payment's thread lives in (many workspaces); unset: the default one. */
  slackTeamId: slackTeamIdSchema.optional(),
});

/** The public view of a lifecycle (GET /v1/payments/:id). */
export function presentLifecycle(s: PaymentLifecycleState, source: 'workflow' | 'database') {
  const amount = paymentAmount(s);
  return {
    lifecycleId: s.lifecycleId,
    workflowId: paymentWorkflowId(s.lifecycleId),
    status: s.status,
    statusLabel: STATUS_LABEL[s.status],
    source,
    orderId: s.initiation?.orderId ?? s.provider.orderId ?? null,
    paymentId: s.provider.paymentId ?? null,
    payerName: s.initiation?.payerName ?? null,
    paymentType: s.initiation?.paymentType ?? null,
    amount: amount
      ? { minor: amount.amount, currency: amount.currency, formatted: formatAmount(amount.amount, amount.currency) }
      : null,
    owner: s.initiation?.owner ?? null,
    slack: s.root ? { channel: s.root.channel, ts: s.root.ts, routingReason: s.routing?.reason ?? null } : null,
    refundedAmount: s.refundedAmount,
    escalated: s.escalated,
    overdue: s.overdue,
    lastError: s.provider.lastError ?? null,
    eventsProcessed: s.processedEventIds.length,
    timeline: s.timeline,
    // The workflow keeps the newest entries only; every transition is in audit_log, replies are in the thread.
    timelineTruncated: (s.timelineDropped ?? 0) > 0,
    timelineOmitted: s.timelineDropped ?? 0,
  };
}

export function paymentRoutes(app: FastifyInstance, deps: FlowApiContext<PaymentsConfig>): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  const idempotency = idempotencyRepo(deps.pool);
  const payments = paymentsRepo(deps.pool);

  /** "Payment initiated": starts (or joins) the lifecycle `payment:<orderId>`; 202 with its id. */
  app.post('/v1/payments', { preHandler: guard }, async (req, reply) => {
    const res = await withIdempotency(idempotency, req, 'POST /v1/payments', async () => {
      const parsed = initiationBody.safeParse(req.body);
      if (!parsed.success) throw AppError.badRequest('invalid_body', describeZodIssues(parsed.error.issues));
      const b = parsed.data;
      const initiation: PaymentInitiation = {
        lifecycleId: b.orderId,
        orderId: b.orderId,
        paymentId: b.paymentId,
        payerName: b.payerName,
        amount: b.amount,
        currency: b.currency,
        paymentType: b.paymentType,
        owner: b.owner,
        metadata: b.metadata,
        requestedBy: callerFingerprint(req.headers.authorization),
        receivedAt: new Date().toISOString(),
      };
      await assignSlackTeam(deps.repos, paymentWorkflowId(b.orderId), b.slackTeamId);
      await startWithSignal(deps, b.orderId, initiation);
      return {
        statusCode: 202,
        body: {
          lifecycleId: b.orderId,
          workflowId: paymentWorkflowId(b.orderId),
          status: 'accepted',
          links: { self: `/v1/payments/${encodeURIComponent(b.orderId)}` },
        },
      };
    });
    if (res.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(res.statusCode).send(res.body);
  });

  /** Current state and timeline: from the workflow (query), else the last DB snapshot. */
  app.get('/v1/payments/:id', { preHandler: guard }, async (req, reply) => {
    const id = lifecycleIdSchema.safeParse((req.params as { id?: string }).id);
    if (!id.success) throw AppError.badRequest('invalid_id', `id: ${id.error.issues[0]?.message ?? 'invalid'}`);
    const handle = deps.temporal.workflow.getHandle(paymentWorkflowId(id.data));
    try {
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING') {
        const state = await handle.query(paymentStateQuery);
        return reply.send(presentLifecycle(state, 'workflow'));
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError))
        req.log.warn({ err }, 'payment state query failed; using the DB snapshot');
    }
    const row = await payments.get(id.data);
    if (!row) throw AppError.notFound('payment_not_found', `no payment lifecycle ${id.data}`);
    return reply.send(presentLifecycle(row.state, 'database'));
  });
  return Promise.resolve();
}

async function startWithSignal(
  ctx: FlowApiContext<PaymentsConfig>,
  lifecycleId: string,
  initiation: PaymentInitiation,
) {
  try {
    await ctx.temporal.workflow.signalWithStart<typeof paymentLifecycleWorkflow, [PaymentInitiation]>(
      'paymentLifecycleWorkflow',
      { ...paymentStartOptions(ctx, lifecycleId), signal: initiatePaymentSignal, signalArgs: [initiation] },
    );
  } catch (err) {
    throw AppError.unavailable(
      'temporal_unavailable',
      `could not start the payment lifecycle: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}`,
    );
  }
}

/** Every route of the payments flow (flow.ts): the API and the provider webhooks. */
export async function paymentsApi(app: FastifyInstance, ctx: FlowApiContext<PaymentsConfig>): Promise<void> {
  await paymentRoutes(app, ctx);
  paymentWebhookRoute(app, ctx, razorpayAdapter, ctx.flowConfig.razorpayWebhookSecret, '/webhooks/razorpay');
}
