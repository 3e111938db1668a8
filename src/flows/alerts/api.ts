import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { verifyAlertmanagerAuth } from '../../integrations/alertmanager/auth.js';
import { alertmanagerWebhookSchema } from '../../integrations/alertmanager/webhook.js';
import type { FlowApiContext } from '../../platform/flow.js';
import { apiKeyGuard, callerFingerprint } from '../../platform/http/auth.js';
import { AppError, describeZodIssues } from '../../platform/http/errors.js';
import { idempotencyRepo } from '../../platform/http/idempotency-repo.js';
import { withIdempotency } from '../../platform/http/idempotency.js';
import { budgetOf } from '../../platform/http/ack.js';
import type { RequestBudget } from '../../platform/http/budget.js';
import { handOff, temporalWithin } from '../../platform/ledger/handoff.js';
import { outboxFor, recordDelivery } from '../../platform/ledger/outbox.js';
import type { AlertsConfig } from './config.js';
import {
  alertNotificationSignal,
  alertStateQuery,
  alertWorkflowId,
  alertmanagerAlertId,
  genericAlertId,
  type AlertDetails,
  type AlertNotification,
  type AlertState,
} from './contract.js';
import { routeAlert } from './domain/routing.js';
import { alertsRepo } from './repo.js';
import { alertStartOptions, alertmanagerNotification } from './start.js';
import type { alertWorkflow } from './workflow.js';

const dedupKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'a dedup key of 1-128 letters, digits, _ . : -');
const link = z.strictObject({
  text: z.string().trim().min(1).max(40).default('Link'),
  url: z.url({ protocol: /^https?$/ }).max(2000),
});

const genericBody = z.strictObject({
  source: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'a lower-case source name like datadog'),
  dedupKey,
  status: z.enum(['firing', 'resolved']).default('firing'),
  severity: z.enum(['critical', 'error', 'warning', 'info']),
  summary: z.string().trim().min(1).max(300),
  details: z.string().trim().max(3000).optional(),
  links: z.array(link).max(5).default([]),
  labels: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'a label name'), z.string().max(500))
    .refine((r) => Object.keys(r).length <= 32, 'at most 32 labels')
    .default({}),
  startsAt: z.iso.datetime({ offset: true }).optional(),
});

/** The public view of an alert (GET /v1/alerts/:id). */
export function presentAlert(s: AlertState, source: 'workflow' | 'database') {
  const cur = s.current;
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    alertId: s.alertId,
    workflowId: alertWorkflowId(s.alertId),
    source,
    origin: s.source,
    status: s.status,
    occurrences: s.occurrences,
    flaps: Math.max(0, s.occurrences - 1),
    details: s.details ?? null,
    current: cur
      ? {
          occurrence: cur.n,
          startsAt: iso(cur.startsAtMs),
          route: {
            rule: cur.route.rule,
            channel: cur.route.channel ?? null,
            webhook: cur.route.webhook ?? null,
            policy: cur.route.policy?.name ?? null,
          },
          acknowledgedBy: cur.ack?.by ?? null,
          acknowledgedAt: iso(cur.ack?.atMs),
          resolvedBy: cur.resolved?.by ?? null,
          resolvedVia: cur.resolved?.via ?? null,
          resolvedAt: iso(cur.resolved?.atMs),
          escalation: cur.escalation
            ? {
                step: cur.escalation.step + 1,
                pass: cur.escalation.loop + 1,
                nextAt: iso(cur.escalation.nextAtMs),
                ackTimeoutAt: iso(cur.escalation.ackTimeoutAtMs),
                retriggers: cur.escalation.retriggers,
                pages: cur.escalation.pages,
              }
            : null,
          paged: cur.paged,
          channelMembersLoaded: cur.membersLoaded,
        }
      : null,
    slack: { root: s.root ?? null, copies: s.copies },
    eventsProcessed: s.processedEventIds.length,
    timeline: s.timeline,
  };
}

/** Every route of the alerts flow: the Alertmanager webhook and the generic alert API. */
export async function alertsApi(app: FastifyInstance, deps: FlowApiContext<AlertsConfig>): Promise<void> {
  const cfg = deps.flowConfig;
  const guard = apiKeyGuard(deps.config.apiKeys);
  const idempotency = idempotencyRepo(deps.pool);
  const repo = alertsRepo(deps.pool);
  const taskQueue = deps.config.temporal.taskQueue;
  const hand = { inbound: deps.repos.inbound, metrics: deps.metrics };
  const outbox = outboxFor(deps);
  const count = (type: string, outcome: string) =>
    deps.metrics.inboundEvents.inc({ source: 'alertmanager', type, outcome });

  /**
   * A generic alert's notification (API key callers: no delivery id, ledger source `alerts_api`),
   * handed off at once because the answer reports the outcome (a resolve with nothing open →
   * `ignored`, then 404 or `already_resolved`): firing starts (or joins) the workflow; resolved
   * only signals it.
   */
  function deliverFromApi(req: FastifyRequest, alertId: string, n: AlertNotification) {
    const budget = budgetOf(req);
    const workflowId = alertWorkflowId(alertId);
    return handOff(hand, {
      source: 'alerts_api',
      eventId: n.eventId,
      type: n.status,
      rawBody: req.rawBody ?? Buffer.alloc(0),
      subject: workflowId,
      workflowId,
      budget,
      send: () =>
        temporalWithin(deps.temporal, budget, (): Promise<unknown> =>
          n.status === 'firing'
            ? deps.temporal.workflow.signalWithStart<typeof alertWorkflow, [AlertNotification]>('alertWorkflow', {
                ...alertStartOptions(taskQueue, cfg, alertId, 'api'),
                signal: alertNotificationSignal,
                signalArgs: [n],
              })
            : deps.temporal.workflow
                .getHandle(workflowId)
                .signal(alertNotificationSignal, n)
                .catch((err: unknown) => {
                  // Nothing open to resolve (never fired here, or closed after its reopen window).
                  if (err instanceof WorkflowNotFoundError) return 'ignored';
                  throw err;
                }),
        ),
    });
  }

  /**
   * One Alertmanager alert's notification, recorded in the ledger with the call that hands it off
   * (ONE statement; the relay makes the call, in the order recorded per alert workflow). Firing
   * and resolved alike start (or join) the alert's workflow: a resolve that overtook its firing
   * (Alertmanager retries, a relay backlog, a proxy) is remembered there, so the late firing is
   * shown resolved instead of opening the alert and paging.
   */
  function recordAlertmanager(alertId: string, n: AlertNotification, rawBody: Buffer, budget: RequestBudget) {
    const workflowId = alertWorkflowId(alertId);
    const start = alertStartOptions(taskQueue, cfg, alertId, 'alertmanager');
    return recordDelivery(outbox, {
      source: 'alertmanager',
      eventId: n.eventId,
      type: n.status,
      rawBody,
      subject: workflowId,
      budget,
      call: {
        kind: 'signalWithStart',
        workflowId,
        workflowType: 'alertWorkflow',
        taskQueue: start.taskQueue,
        args: start.args,
        signal: alertNotificationSignal.name,
        signalArgs: [n],
        workflowIdReusePolicy: start.workflowIdReusePolicy,
      },
    });
  }

  // ─── Alertmanager (webhook_configs) ─────────────────────────────────────────────────────────
  // Alertmanager waits `timeout` (its http_config) and retries a failed delivery at the next
  // group_interval: answer 200 or 503 within the platform's request budget, never late. The
  // answer needs Postgres alone (the outbox): Temporal being down or slow still answers 200.
  app.post('/webhooks/alertmanager', { config: { ack: true } }, async (req, reply) => {
    const budget = budgetOf(req);
    if (!cfg.alertmanagerToken) {
      count('unknown', 'rejected');
      throw AppError.unavailable('alertmanager_not_configured', 'ALERTMANAGER_WEBHOOK_TOKEN is not set');
    }
    const auth = verifyAlertmanagerAuth({ authorization: req.headers.authorization, token: cfg.alertmanagerToken });
    if (!auth.ok) {
      count('unknown', 'rejected');
      void reply.header('www-authenticate', 'Bearer realm="alertmanager"');
      throw AppError.unauthorized(auth.reason, `Alertmanager authentication failed: ${auth.reason.replace(/_/g, ' ')}`);
    }
    if (req.body === undefined)
      throw AppError.badRequest('missing_body', 'a JSON body is required (Content-Type: application/json)');
    const parsed = alertmanagerWebhookSchema.safeParse(req.body);
    if (!parsed.success) {
      count('unknown', 'rejected');
      throw AppError.badRequest('invalid_payload', describeZodIssues(parsed.error.issues));
    }
    const hook = parsed.data;
    if (hook.truncatedAlerts > 0)
      req.log.warn(
        { truncated: hook.truncatedAlerts, receiver: hook.receiver },
        'Alertmanager dropped alerts (max_alerts)',
      );
    const receivedAt = new Date().toISOString();
    // Every alert is recorded even if another fails; a failure makes the whole delivery 503 so
    // Alertmanager retries it, and the ones already recorded are then duplicates in the ledger.
    const results = await Promise.allSettled(
      hook.alerts.map((a) =>
        recordAlertmanager(
          alertmanagerAlertId(a.fingerprint),
          alertmanagerNotification(cfg, hook, a, receivedAt),
          Buffer.from(JSON.stringify(a)),
          budget,
        ),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed)
      throw failed.reason instanceof AppError
        ? failed.reason
        : AppError.unavailable('storage_unavailable', 'could not record the alerts');
    return reply.send({
      status: 'ok',
      truncatedAlerts: hook.truncatedAlerts,
      alerts: hook.alerts.map((a, i) => ({
        fingerprint: a.fingerprint,
        status: a.status,
        alertId: alertmanagerAlertId(a.fingerprint),
        outcome: (results[i] as PromiseFulfilledResult<'queued' | 'duplicate'>).value,
      })),
    });
  });

  // ─── Generic alerts (any other monitoring system) ───────────────────────────────────────────
  app.post('/v1/alerts', { preHandler: guard }, async (req, reply) => {
    const res = await withIdempotency(idempotency, req, 'POST /v1/alerts', async () => {
      const parsed = genericBody.safeParse(req.body);
      if (!parsed.success) throw AppError.badRequest('invalid_body', describeZodIssues(parsed.error.issues));
      const b = parsed.data;
      const alertId = genericAlertId(b.dedupKey);
      const receivedAt = new Date().toISOString();
      const details: AlertDetails = {
        origin: b.source,
        title: b.summary,
        summary: b.summary,
        ...(b.details ? { description: b.details } : {}),
        severity: b.severity,
        labels: b.labels,
        links: b.links,
      };
      const n: AlertNotification = {
        // Generic callers have no delivery id; the workflow's semantics make repeats harmless.
        eventId: `api:${randomUUID()}`,
        status: b.status,
        startsAt: b.startsAt ? new Date(b.startsAt).toISOString() : receivedAt,
        receivedAt,
        ...(b.status === 'firing'
          ? { details, route: routeAlert(cfg.settings, details, 'api') }
          : { resolvedBy: callerFingerprint(req.headers.authorization) }),
      };
      const outcome = await deliverFromApi(req, alertId, n);
      return {
        statusCode: 202,
        body: {
          alertId,
          workflowId: alertWorkflowId(alertId),
          status: b.status,
          outcome,
          links: { self: `/v1/alerts/${alertId}` },
        },
      };
    });
    if (res.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(res.statusCode).send(res.body);
  });

  app.post('/v1/alerts/:dedupKey/resolve', { preHandler: guard }, async (req, reply) => {
    const key = dedupKey.safeParse((req.params as { dedupKey?: string }).dedupKey);
    if (!key.success) throw AppError.badRequest('invalid_id', `dedupKey: ${key.error.issues[0]?.message ?? 'invalid'}`);
    const alertId = genericAlertId(key.data);
    const n: AlertNotification = {
      eventId: `api:${randomUUID()}`,
      status: 'resolved',
      startsAt: new Date().toISOString(),
      receivedAt: new Date().toISOString(),
      resolvedBy: callerFingerprint(req.headers.authorization),
    };
    const outcome = await deliverFromApi(req, alertId, n);
    if (outcome === 'ignored') {
      const snap = await repo.get(alertWorkflowId(alertId)).catch(() => {
        throw AppError.unavailable('storage_unavailable', 'could not look the alert up');
      });
      if (!snap) throw AppError.notFound('alert_not_found', `no alert ${alertId}`);
      return reply.send({ alertId, status: snap.status, outcome: 'already_resolved' });
    }
    return reply.code(202).send({ alertId, workflowId: alertWorkflowId(alertId), status: 'resolving', outcome });
  });

  app.get('/v1/alerts/:id', { preHandler: guard }, async (req, reply) => {
    const alertId = parseAlertId(req);
    const handle = deps.temporal.workflow.getHandle(alertWorkflowId(alertId));
    try {
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING')
        return reply.send(presentAlert(await handle.query(alertStateQuery), 'workflow'));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError))
        req.log.warn({ err }, 'alert state query failed; using the DB snapshot');
    }
    const snap = await repo.get(alertWorkflowId(alertId)).catch(() => {
      throw AppError.unavailable('storage_unavailable', 'could not look the alert up');
    });
    if (!snap) throw AppError.notFound('alert_not_found', `no alert ${alertId}`);
    return reply.send(presentAlert(snap, 'database'));
  });
}

/** `am:<fingerprint>`, `ext:<dedup key>`, or a bare dedup key (a generic alert). */
function parseAlertId(req: FastifyRequest): string {
  const raw = (req.params as { id?: string }).id ?? '';
  if (/^am:[0-9a-f]{1,64}$/i.test(raw)) return raw.toLowerCase();
  const key = dedupKey.safeParse(raw.startsWith('ext:') ? raw.slice(4) : raw);
  if (!key.success) throw AppError.badRequest('invalid_id', `id: ${key.error.issues[0]?.message ?? 'invalid'}`);
  return genericAlertId(key.data);
}
