import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { jiraWebhookAdapter } from '../../integrations/jira/adapter.js';
import { apiKeyGuard } from '../../platform/http/auth.js';
import { AppError } from '../../platform/http/errors.js';
import type { FlowApiContext } from '../../platform/flow.js';
import type { TicketsConfig } from './config.js';
import { ISSUE_KEY_PATTERN, ticketStateQuery, ticketWorkflowId, type TicketThreadState } from './contract.js';
import { ticketThreadsRepo } from './repo.js';
import { ticketWebhookRoute } from './webhook.js';

/** The public view of a ticket thread (GET /v1/tickets/:key). People appear by name and tracker account id only. */
export function presentTicket(s: TicketThreadState, source: 'workflow' | 'database') {
  return {
    key: s.key,
    workflowId: ticketWorkflowId(s.key),
    tracker: s.tracker,
    source,
    sync: s.sync,
    syncNote: s.syncNote ?? null,
    rule: s.rule?.id ?? null,
    issue: {
      id: s.issue.id || null,
      url: s.issue.url ?? null,
      summary: s.issue.summary ?? null,
      type: s.issue.type ?? null,
      priority: s.issue.priority ?? null,
      status: s.issue.status ?? null,
      assignee: s.issue.assignee ?? null,
      asOf: s.issueAtMs ? new Date(s.issueAtMs).toISOString() : null,
    },
    slack: s.root ? { channel: s.root.channel, ts: s.root.ts } : null,
    filedBy: s.filedBy ?? null,
    ledger: {
      comments: s.ledger.comments.length,
      transitions: s.ledger.transitions.length,
      posted: s.ledger.posted.length,
    },
    mirroredComments: s.mirrored.length,
  };
}

/** Every route of the ticket flow (flow.ts): the Jira webhook and the read API. */
export async function ticketsApi(app: FastifyInstance, ctx: FlowApiContext<TicketsConfig>): Promise<void> {
  const guard = apiKeyGuard(ctx.config.apiKeys);
  const threads = ticketThreadsRepo(ctx.pool);
  if (ctx.config.jira && !ctx.config.jira.webhookSecret) {
    ctx.logger.warn('JIRA_WEBHOOK_SECRET is not set: /webhooks/jira accepts unsigned requests');
  }
  await ticketWebhookRoute(app, ctx, jiraWebhookAdapter, '/webhooks/jira');

  /** A ticket thread's state: from the workflow (query), else the last DB snapshot. */
  app.get('/v1/tickets/:key', { preHandler: guard }, async (req, reply) => {
    const key = String((req.params as { key?: string }).key ?? '').toUpperCase();
    if (!ISSUE_KEY_PATTERN.test(key)) throw AppError.badRequest('invalid_key', 'key: an issue key like OPS-12');
    const handle = ctx.temporal.workflow.getHandle(ticketWorkflowId(key));
    try {
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING')
        return reply.send(presentTicket(await handle.query(ticketStateQuery), 'workflow'));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError))
        req.log.warn({ err }, 'ticket state query failed; using the DB snapshot');
    }
    const saved = await threads.get(key).catch(() => {
      throw AppError.unavailable('storage_unavailable', 'could not read the ticket thread');
    });
    if (!saved) throw AppError.notFound('ticket_not_found', `no ticket thread for ${key}`);
    return reply.send(presentTicket(saved, 'database'));
  });
}
