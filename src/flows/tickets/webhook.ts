import type { FastifyInstance } from 'fastify';
import type { FlowApiContext } from '../../platform/flow.js';
import { createFlags } from '../../platform/flags/repo.js';
import { AppError } from '../../platform/http/errors.js';
import { budgetOf } from '../../platform/http/ack.js';
import { outboxFor, recordDelivery } from '../../platform/ledger/outbox.js';
import type { RelayCall } from '../../platform/relay/call.js';
import type { TicketsConfig } from './config.js';
import { TICKET_SYNC_FLAG, ticketEventSignal, type TicketEvent } from './contract.js';
import { scopeOf } from './domain/sync-rules.js';
import { ticketStartOptions } from './start.js';
import type { TrackerWebhookAdapter } from './tracker.js';

/** Jira sends whole issues; 1 MiB is far above a real body and below anything abusive. Larger → 413. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * The tracker webhook: verify the signature on the raw bytes (when a secret is configured;
 * unsigned requests are then 401) → parse → validate (400 naming the field) → decide the
 * event's scope from the sync configuration → record the delivery (keyed by the delivery
 * identifier plus the event's identity) with its Temporal call in the outbox, ONE statement →
 * 200 `queued` (or `duplicate`); the relay makes the call, in order per issue. An in-scope event
 * starts or joins `ticket:<KEY>` (`signalWithStart`); any other is only signalled to a running
 * thread (which then says it left the scope), never starting one: with no thread running the
 * relay marks it ignored. The ack needs Postgres alone (503 when it is down or slower than the
 * budget); Temporal down only delays the hand-off. Nothing here calls the tracker or Slack.
 */
export async function ticketWebhookRoute(
  app: FastifyInstance,
  deps: FlowApiContext<TicketsConfig>,
  adapter: TrackerWebhookAdapter,
  path: string,
): Promise<void> {
  const count = (type: string, outcome: string) =>
    deps.metrics.inboundEvents.inc({ source: adapter.name, type, outcome });
  const flags = createFlags({ pool: deps.pool, config: deps.config.flags });
  const outbox = outboxFor(deps);
  const reject = (err: AppError) => {
    count('unknown', 'rejected');
    return err;
  };

  // Own scope: the signature is over the exact bytes, so the body is kept raw and parsed here.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (req, body: Buffer, done) => {
      req.rawBody = body;
      done(null, body);
    });

    scope.post(path, { config: { ack: true } }, async (req, reply) => {
      const budget = budgetOf(req);
      const jira = deps.config.jira;
      if (!jira) throw AppError.unavailable(`${adapter.name}_not_configured`, 'Jira is not configured (JIRA_HOST)');
      const raw = req.rawBody ?? Buffer.alloc(0);
      if (raw.length === 0) throw reject(AppError.badRequest('missing_body', 'a JSON body is required'));
      if (jira.webhookSecret) {
        const check = adapter.verify({ secret: jira.webhookSecret, rawBody: raw, headers: req.headers });
        if (!check.ok) {
          throw reject(
            AppError.unauthorized(
              'invalid_signature',
              `${adapter.signatureHeader}: ${check.reason.replace(/_/g, ' ')}`,
            ),
          );
        }
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        throw reject(
          AppError.badRequest(
            'unsupported_content_type',
            `content-type must be application/json (got ${type || 'none'})`,
          ),
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw reject(AppError.badRequest('invalid_json', `body is not valid JSON: ${(err as Error).message}`));
      }
      const deliveryId = adapter.deliveryId(req.headers);
      if (!deliveryId) {
        throw reject(
          AppError.badRequest('missing_webhook_identifier', 'X-Atlassian-Webhook-Identifier is missing or malformed'),
        );
      }
      const parsed = adapter.parse(body);
      if (parsed.kind === 'invalid') throw reject(AppError.badRequest('invalid_payload', parsed.message));
      if (parsed.kind === 'ignored') {
        count(parsed.sourceType, 'ignored');
        return reply.code(200).send({ status: 'ignored', reason: 'unhandled_event_type' });
      }

      let scope = scopeOf(deps.flowConfig.sync, parsed.event.issue, parsed.event.complete);
      if (scope.state === 'in') {
        // Switched off (per project, channel or workspace): out of scope, so a running thread says so and stops.
        const sync = await flags
          .evaluate(
            TICKET_SYNC_FLAG,
            { project: parsed.event.issue.project, channel: scope.channel },
            { within: budget },
          )
          .catch(() => {
            count(parsed.event.sourceType, 'failed');
            throw AppError.unavailable('storage_unavailable', 'could not read the feature flags; retry');
          });
        if (!sync.enabled) scope = { state: 'out', reason: sync.reason };
      }
      const event: TicketEvent = { ...parsed.event, scope };
      const opts = ticketStartOptions({
        taskQueue: deps.config.temporal.taskQueue,
        cfg: deps.flowConfig,
        opsChannel: deps.config.slack.opsChannel,
        key: event.issue.key,
      });
      const call: RelayCall =
        event.scope.state === 'in'
          ? {
              kind: 'signalWithStart',
              workflowId: opts.workflowId,
              workflowType: 'ticketWorkflow',
              taskQueue: opts.taskQueue,
              args: opts.args,
              signal: ticketEventSignal.name,
              signalArgs: [event],
              workflowIdReusePolicy: opts.workflowIdReusePolicy,
            }
          : { kind: 'signal', workflowId: opts.workflowId, signal: ticketEventSignal.name, args: [event] };
      const outcome = await recordDelivery(outbox, {
        source: adapter.name,
        // The identifier is constant across Jira's retries; the identity tells apart events that share one.
        eventId: `${deliveryId}:${event.eventId}`,
        type: event.sourceType,
        rawBody: raw,
        subject: opts.workflowId,
        budget,
        call,
      });
      return reply.code(200).send({ status: outcome, key: event.issue.key, scope: event.scope.state });
    });
  });
}
