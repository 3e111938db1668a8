import { actionId, target, type SlackBlock } from '../../../platform/slack/contract.js';
import type { TicketSyncRule } from './sync-rules.js';

/**
 * `/ticket` (pure: it runs inside Slack's 3 s window): `/ticket <summary>` files an issue in the
 * project this channel syncs with; `/ticket <PROJECT> <summary>` picks one when the channel syncs
 * several; `/ticket` alone opens a modal for summary, type and priority.
 */

/** The tracker's summary limit (Jira: 255). */
export const SUMMARY_MAX = 255;
/** Priorities offered in the modal (Jira's default priority scheme). */
export const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];
/** The modal's verb (`callback_id = tl:ticket.create`). */
export const CREATE_VERB = 'ticket.create';

export const CREATE_BLOCK = { summary: 'summary', project: 'project', type: 'type', priority: 'priority' } as const;

export type TicketCommand =
  | { kind: 'unmapped' }
  | { kind: 'modal' }
  | { kind: 'invalid'; reply: string }
  | { kind: 'file'; rule: TicketSyncRule; summary: string };

export function parseTicketCommand(text: string, rules: TicketSyncRule[]): TicketCommand {
  if (rules.length === 0) return { kind: 'unmapped' };
  const t = text.trim();
  if (!t) return { kind: 'modal' };
  const [first = '', ...rest] = t.split(/\s+/);
  const named = rules.find((r) => r.project === first.toUpperCase() && /^[A-Z][A-Z0-9_]+$/.test(first));
  const rule = named && rest.length ? named : rules[0]!;
  const summary = named && rest.length ? t.slice(first.length).trim() : t;
  if (summary.length > SUMMARY_MAX)
    return {
      kind: 'invalid',
      reply: `A summary can be at most ${SUMMARY_MAX} characters (yours has ${summary.length}).`,
    };
  return { kind: 'file', rule, summary };
}

/** Issue types `/ticket` may file under a rule: the rule's filter if it has one (so the issue stays in scope). */
export function issueTypesFor(rule: TicketSyncRule): string[] {
  return rule.issueTypes.length ? [...rule.issueTypes] : [...new Set([rule.create.issueType, 'Task', 'Bug'])];
}

/** The type `/ticket <summary>` files under a rule (its `create.issueType`, if the rule's filter allows it). */
export function defaultIssueType(rule: TicketSyncRule): string {
  const types = issueTypesFor(rule);
  return types.includes(rule.create.issueType) ? rule.create.issueType : types[0]!;
}

/**
 * What a filed issue needs to stay inside its rule's scope: one of the rule's labels and
 * components when the rule filters on them.
 */
export function scopeFieldsFor(rule: TicketSyncRule): { labels?: string[]; components?: string[] } {
  return {
    ...(rule.labels.length ? { labels: [rule.labels[0]!] } : {}),
    ...(rule.components.length ? { components: [rule.components[0]!] } : {}),
  };
}

const plain = (text: string) => ({ type: 'plain_text', text });
const option = (v: string) => ({ text: plain(v), value: v });

/** The new-ticket modal; `private_metadata` = `<request workflow id>|<channel>`. */
export function buildCreateTicketModal(workflowId: string, channel: string, rules: TicketSyncRule[]): SlackBlock {
  const types = [...new Set(rules.flatMap(issueTypesFor))];
  const defaultType = defaultIssueType(rules[0]!);
  const blocks: SlackBlock[] = [
    {
      type: 'input',
      block_id: CREATE_BLOCK.summary,
      label: plain('Summary'),
      element: { type: 'plain_text_input', action_id: CREATE_BLOCK.summary, max_length: SUMMARY_MAX },
    },
  ];
  if (rules.length > 1) {
    blocks.push({
      type: 'input',
      block_id: CREATE_BLOCK.project,
      label: plain('Project'),
      element: {
        type: 'static_select',
        action_id: CREATE_BLOCK.project,
        options: rules.map((r) => option(r.project)),
        initial_option: option(rules[0]!.project),
      },
    });
  }
  blocks.push(
    {
      type: 'input',
      block_id: CREATE_BLOCK.type,
      label: plain('Type'),
      element: {
        type: 'static_select',
        action_id: CREATE_BLOCK.type,
        options: types.map(option),
        ...(types.includes(defaultType) ? { initial_option: option(defaultType) } : {}),
      },
    },
    {
      type: 'input',
      block_id: CREATE_BLOCK.priority,
      optional: true,
      label: plain('Priority'),
      element: { type: 'static_select', action_id: CREATE_BLOCK.priority, options: PRIORITIES.map(option) },
    },
  );
  return {
    type: 'modal',
    callback_id: actionId(CREATE_VERB),
    private_metadata: target(workflowId, channel),
    title: plain('New Jira ticket'),
    submit: plain('File ticket'),
    close: plain('Cancel'),
    blocks,
  };
}

const field = (fields: Record<string, string>, block: string) => (fields[`${block}.${block}`] ?? '').trim();

/** Validates a modal submission against the channel's rules; errors are keyed by block id. */
export function parseCreateSubmission(
  fields: Record<string, string>,
  rules: TicketSyncRule[],
):
  | { ok: true; rule: TicketSyncRule; summary: string; issueType: string; priority?: string }
  | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (rules.length === 0)
    return { ok: false, errors: { [CREATE_BLOCK.summary]: 'This channel no longer syncs with Jira.' } };
  const summary = field(fields, CREATE_BLOCK.summary);
  if (!summary) errors[CREATE_BLOCK.summary] = 'Say what the ticket is about.';
  else if (summary.length > SUMMARY_MAX) errors[CREATE_BLOCK.summary] = `At most ${SUMMARY_MAX} characters.`;
  const projectKey = field(fields, CREATE_BLOCK.project) || rules[0]!.project;
  const rule = rules.find((r) => r.project === projectKey);
  if (!rule) errors[CREATE_BLOCK.project] = `Pick one of ${rules.map((r) => r.project).join(', ')}.`;
  const issueType = field(fields, CREATE_BLOCK.type) || defaultIssueType(rule ?? rules[0]!);
  if (rule && !issueTypesFor(rule).includes(issueType))
    errors[CREATE_BLOCK.type] = `${rule.project} takes ${issueTypesFor(rule).join(', ')} here.`;
  const priority = field(fields, CREATE_BLOCK.priority) || undefined;
  if (priority && !PRIORITIES.includes(priority)) errors[CREATE_BLOCK.priority] = 'Pick a priority from the list.';
  else if (priority && rule?.priorities.length && !rule.priorities.includes(priority))
    errors[CREATE_BLOCK.priority] = `Tickets synced here are ${rule.priorities.join(' or ')}.`;
  if (Object.keys(errors).length || !rule) return { ok: false, errors };
  return { ok: true, rule, summary, issueType, ...(priority ? { priority } : {}) };
}
