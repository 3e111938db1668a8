import { randomUUID } from 'node:crypto';
import type { FlowSlack } from '../../platform/flow.js';
import type { TicketsConfig } from './config.js';
import { ticketRequestWorkflowId, type TicketRequestInput } from './contract.js';
import {
  buildCreateTicketModal,
  CREATE_VERB,
  defaultIssueType,
  parseCreateSubmission,
  parseTicketCommand,
  scopeFieldsFor,
} from './domain/create.js';
import { rulesForChannel, type TicketSyncRule } from './domain/sync-rules.js';
import { escapeSlack } from './domain/text.js';

/** Request ids: Slack-safe and short (trigger ids for the command, so a repeated delivery joins the same request). */
const requestIdFrom = (raw: string) => raw.replace(/[^\w.-]/g, '').slice(0, 80) || randomUUID();

function requestInput(
  rule: TicketSyncRule,
  opts: { requestId: string; channel: string; user: string; summary: string; issueType: string; priority?: string },
  opsChannel: string,
): TicketRequestInput {
  return {
    requestId: opts.requestId,
    project: rule.project,
    ruleId: rule.id,
    channel: opts.channel,
    summary: opts.summary,
    issueType: opts.issueType,
    // A rule that only syncs some priorities gets one of them, so the new issue stays in scope.
    priority: opts.priority ?? (rule.priorities.length ? rule.priorities[0] : undefined),
    ...scopeFieldsFor(rule),
    requestedBy: opts.user,
    fields: [...rule.fields],
    opsChannel,
  };
}

/**
 * The ticket flow in Slack: `/ticket <summary>` files an issue in the project the channel syncs
 * with and starts its thread there; `/ticket` alone opens the form (`ticket.create`), whose
 * submission does the same. People's replies, edits, deletions and ✅ in a ticket's thread reach
 * its workflow through the platform's thread events, not through verbs.
 */
export const ticketsSlack: FlowSlack<TicketsConfig> = {
  actions: {
    [CREATE_VERB]: {
      mode: 'start',
      start(req, workflowId, ctx) {
        const channel = req.value ?? '';
        const parsed = parseCreateSubmission(req.fields ?? {}, rulesForChannel(ctx.flowConfig.sync, channel));
        if (!parsed.ok) return { ok: false, errors: parsed.errors };
        const input = requestInput(
          parsed.rule,
          {
            requestId: workflowId.slice(ticketRequestWorkflowId('').length),
            channel,
            user: req.user,
            summary: parsed.summary,
            issueType: parsed.issueType,
            priority: parsed.priority,
          },
          ctx.config.slack.opsChannel,
        );
        return { ok: true, workflowType: 'ticketRequestWorkflow', args: [input] };
      },
    },
  },
  commands: {
    '/ticket': {
      usage: '`/ticket <summary>`',
      description: 'file a Jira ticket from a channel that syncs with a project (no summary: opens a form)',
      handle(cmd, ctx) {
        if (!ctx.config.jira) return { reply: 'Jira is not configured for this Threadline.' };
        const rules = rulesForChannel(ctx.flowConfig.sync, cmd.channelId);
        const parsed = parseTicketCommand(cmd.text, rules);
        switch (parsed.kind) {
          case 'unmapped':
            return { reply: 'This channel does not sync with a Jira project, so `/ticket` cannot file here.' };
          case 'invalid':
            return { reply: parsed.reply };
          case 'modal':
            // The ingress never calls Slack: a short workflow opens the form with the trigger (valid 3 s).
            return {
              later: {
                kind: 'open_view',
                triggerId: cmd.triggerId,
                user: cmd.userId,
                view: buildCreateTicketModal(ticketRequestWorkflowId(randomUUID()), cmd.channelId, rules),
                responseUrl: cmd.responseUrl,
              },
            };
          case 'file': {
            const requestId = requestIdFrom(cmd.triggerId);
            const input = requestInput(
              parsed.rule,
              {
                requestId,
                channel: cmd.channelId,
                user: cmd.userId,
                summary: parsed.summary,
                issueType: defaultIssueType(parsed.rule),
              },
              ctx.config.slack.opsChannel,
            );
            return {
              reply: `Filing a ${escapeSlack(input.issueType)} in *${parsed.rule.project}*: “${escapeSlack(parsed.summary)}”…`,
              start: {
                workflowType: 'ticketRequestWorkflow',
                workflowId: ticketRequestWorkflowId(requestId),
                args: [input],
              },
            };
          }
        }
      },
    },
  },
};
