import type { SlackBlock } from '../../../platform/slack/contract.js';
import type {
  TicketComment,
  TicketFieldChange,
  TicketPerson,
  TicketSnapshot,
  TicketStatusCategory,
  TicketThreadState,
} from '../contract.js';
import { clockTime, escapeSlack, quoteForSlack } from './text.js';

/** A Slack message as plain data: fallback text plus blocks (always both). */
export interface TicketMessage {
  text: string;
  blocks: SlackBlock[];
}

const STATUS_EMOJI: Record<TicketStatusCategory, string> = {
  new: ':white_circle:',
  indeterminate: ':large_blue_circle:',
  done: ':white_check_mark:',
  unknown: ':grey_question:',
};

const FIELD_LABEL: Record<TicketFieldChange['field'], string> = {
  status: 'status',
  assignee: 'assignee',
  priority: 'priority',
  summary: 'summary',
  issuetype: 'type',
  labels: 'labels',
  components: 'components',
  description: 'description',
};

const section = (text: string): SlackBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): SlackBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const name = (p: TicketPerson | undefined | null) => (p ? escapeSlack(p.name) : 'Someone');
const keyLink = (issue: TicketSnapshot) => (issue.url ? `<${issue.url}|${issue.key}>` : issue.key);

/**
 * The thread root: the issue as it is now (key as a link, summary, type, priority, status,
 * assignee) and what the thread does. Updated in place on every change.
 */
export function buildRootMessage(s: TicketThreadState): TicketMessage {
  const i = s.issue;
  const summary = escapeSlack(i.summary ?? '(no summary)');
  const status = i.status ? `${STATUS_EMOJI[i.status.category]} ${escapeSlack(i.status.name)}` : 'unknown';
  const assignee = i.assignee ? escapeSlack(i.assignee.name) : i.assignee === null ? 'Unassigned' : 'unknown';
  const title = s.sync === 'deleted' ? `~${i.key}~ ${summary}` : `*${keyLink(i)}* ${summary}`;
  const notes: string[] = [];
  if (s.sync === 'deleted') notes.push(':wastebasket: Deleted in Jira. This thread no longer syncs.');
  else if (s.sync === 'out_of_scope')
    notes.push(`:no_entry_sign: Sync stopped: ${escapeSlack(s.syncNote ?? 'out of scope')}.`);
  else notes.push('Replies here become Jira comments · react :white_check_mark: here to move it to Done');
  if (s.filedBy) notes.push(`Filed from Slack by <@${s.filedBy}>`);
  return {
    text: `${i.key}: ${i.summary ?? ''} (${i.status?.name ?? 'unknown status'}${i.priority ? `, ${i.priority}` : ''}${
      i.assignee ? `, ${i.assignee.name}` : ''
    })${s.sync === 'deleted' ? ' [deleted]' : ''}`,
    blocks: [
      section(title),
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Type*\n${escapeSlack(i.type ?? 'unknown')}` },
          { type: 'mrkdwn', text: `*Priority*\n${escapeSlack(i.priority ?? 'None')}` },
          { type: 'mrkdwn', text: `*Status*\n${status}` },
          { type: 'mrkdwn', text: `*Assignee*\n${assignee}` },
        ],
      },
      context(notes.join(' · ')),
    ],
  };
}

const shown = (v: string | null, field: TicketFieldChange['field']) => {
  if (v === null || v === '') return field === 'assignee' ? 'Unassigned' : 'none';
  return field === 'summary' ? `“${escapeSlack(v)}”` : escapeSlack(v);
};

/** One changed field in words: `status: To Do → In Progress`. Descriptions are not quoted. */
export function changeLine(c: TicketFieldChange): string {
  if (c.field === 'description') return 'description edited';
  return `${FIELD_LABEL[c.field]}: ${shown(c.from, c.field)} → *${shown(c.to, c.field)}*`;
}

/** A note that an event is shown after newer ones (it happened earlier than the replies above it). */
const lateNote = (atMs: number) => context(`_Happened at ${clockTime(atMs)}, before the update above; shown late._`);

/** Field changes by one person (a burst merged into one reply). */
export function buildChangeReply(
  key: string,
  actor: TicketPerson | undefined,
  changes: TicketFieldChange[],
  late: { atMs: number } | undefined,
): TicketMessage {
  const lines = changes.map(changeLine);
  const text =
    lines.length === 1
      ? `:arrows_counterclockwise: *${name(actor)}* changed ${lines[0]!}`
      : `:arrows_counterclockwise: *${name(actor)}* updated ${key}:\n${lines.map((l) => `• ${l}`).join('\n')}`;
  return { text, blocks: [section(text), ...(late ? [lateNote(late.atMs)] : [])] };
}

export function buildCommentReply(c: TicketComment, late: { atMs: number } | undefined): TicketMessage {
  const text = `:speech_balloon: *${name(c.author)}* commented in Jira:\n${quoteForSlack(c.body)}`;
  return { text, blocks: [section(text), ...(late ? [lateNote(late.atMs)] : [])] };
}

/** A mirrored comment after its author edited or deleted it in Jira (the reply is updated in place). */
export function buildMirroredComment(c: TicketComment, change: 'edited' | 'deleted'): TicketMessage {
  const text =
    change === 'deleted'
      ? `:speech_balloon: ~A comment by *${name(c.author)}*~ _(deleted in Jira)_`
      : `:speech_balloon: *${name(c.author)}* commented in Jira _(edited)_:\n${quoteForSlack(c.body)}`;
  return { text, blocks: [section(text)] };
}

/** An edit or deletion of a comment this thread never showed (e.g. older than the thread). */
export function buildUnmirroredCommentReply(
  actor: TicketPerson | undefined,
  c: TicketComment,
  change: 'edited' | 'deleted',
): TicketMessage {
  // Jira's comment_deleted names no deleter (only the comment's author): say so rather than guess.
  const text =
    change === 'deleted'
      ? actor
        ? `:wastebasket: *${name(actor)}* deleted a comment in Jira.`
        : `:wastebasket: A comment by *${name(c.author)}* was deleted in Jira.`
      : `:pencil2: *${name(actor ?? c.author)}* edited a comment in Jira:\n${quoteForSlack(c.body)}`;
  return { text, blocks: [section(text)] };
}

export function buildDeletedReply(key: string, actor: TicketPerson | undefined): TicketMessage {
  const text = `:wastebasket: *${name(actor)}* deleted ${key} in Jira. This thread no longer syncs.`;
  return { text, blocks: [section(text)] };
}

export function buildScopeLeftReply(key: string, reason: string): TicketMessage {
  const text = `:no_entry_sign: ${key} left the synced scope (${escapeSlack(reason)}). This thread no longer syncs.`;
  return { text, blocks: [section(text)] };
}

export function buildScopeBackReply(key: string): TicketMessage {
  const text = `:repeat: ${key} is back in the synced scope. This thread syncs again.`;
  return { text, blocks: [section(text)] };
}

export function buildDoneReply(key: string, user: string, from: string, to: string): TicketMessage {
  const text = `:white_check_mark: <@${user}> moved ${key} to *${escapeSlack(to)}* (${escapeSlack(from)} → ${escapeSlack(to)}).`;
  return { text, blocks: [section(text)] };
}

export function buildNoDoneTransitionReply(
  key: string,
  user: string,
  status: string,
  available: string[],
): TicketMessage {
  const text = `:warning: <@${user}>, ${key} cannot move to a Done status from *${escapeSlack(status)}* (available: ${
    available.length ? escapeSlack(available.join(', ')) : 'none'
  }).`;
  return { text, blocks: [section(text)] };
}

/** Told in the thread when a tracker call failed for good (the operators get the details). */
export function buildTrackerFailureReply(what: string, reason: string): TicketMessage {
  const text = `:warning: Could not ${what} in Jira: ${escapeSlack(reason)}. The operators were alerted.`;
  return { text, blocks: [section(text)] };
}

/** The operations channel alert for a permanent tracker failure (ids and error codes only). */
export function buildOpsAlert(input: {
  key: string;
  step: string;
  failureType: string;
  error: string;
  root?: { channel: string; ts: string };
}): TicketMessage {
  const where = input.root ? ` (thread in <#${input.root.channel}>)` : '';
  const text = `:rotating_light: Ticket sync ${input.key}${where}: Jira call \`${escapeSlack(input.step)}\` failed permanently (${escapeSlack(
    input.failureType,
  )}: ${escapeSlack(input.error)}). Check the Jira integration account's token and project permissions.`;
  return { text, blocks: [section(text)] };
}
