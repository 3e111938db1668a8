import type { ApprovalRequestSpec, ApprovalState } from '../contract.js';
import { actionId, target, type SlackBlock } from '../../../platform/slack/contract.js';
import { formatDurationShort } from './duration.js';
import { approvalsAtCurrentLevel, pendingApprovers, slackDate } from './policy.js';

/** Block Kit builders for approvals: pure functions from state to messages/modals, inside Slack's limits. */

export interface SlackMessageContent {
  text: string;
  blocks: SlackBlock[];
}

export const escapeMrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const mention = (u: string) => `<@${u}>`;
const mentions = (us: string[]) => (us.length ? us.map(mention).join(' ') : '_nobody_');

/** Block ids we rely on (tests and the ingress read them). */
export const APPROVAL_BLOCK = {
  actions: 'approval_actions',
  outcome: 'approval_outcome',
  reason: 'reason',
  title: 'title',
  description: 'description',
  approvers: 'approvers',
  required: 'required',
  channel: 'channel',
  expireAfter: 'expire_after',
} as const;

function policyLine(s: ApprovalState): string {
  const level = s.levels[s.currentLevel];
  if (!level) return '';
  const got = approvalsAtCurrentLevel(s).length;
  const levelTxt = s.levels.length > 1 ? `Level ${s.currentLevel + 1} of ${s.levels.length}: ` : '';
  const need = level.required === 1 ? 'any one approver' : `${level.required} approvals (${got} so far)`;
  const esc = s.escalated && s.escalationApprovers.length ? ` · escalated to ${mentions(s.escalationApprovers)}` : '';
  return `${levelTxt}needs ${need} from ${mentions(pendingApprovers(s))}${esc}`;
}

function bodyBlocks(s: ApprovalState, spec: ApprovalRequestSpec, headerPrefix: string): SlackBlock[] {
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${headerPrefix}${spec.title}`, 150), emoji: true } },
  ];
  if (spec.description)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(spec.description), 3000) } });
  const fields = [
    { label: 'Requested by', value: s.requesterId ? mention(s.requesterId) : escapeMrkdwn(spec.requester) },
    ...spec.fields.map((f) => ({ label: escapeMrkdwn(f.label), value: escapeMrkdwn(f.value) })),
  ];
  // A section holds at most 10 fields of 2000 chars; longer lists continue in further sections.
  for (let i = 0; i < fields.length && blocks.length < 40; i += 10) {
    blocks.push({
      type: 'section',
      fields: fields
        .slice(i, i + 10)
        .map((f) => ({ type: 'mrkdwn', text: clip(`*${clip(f.label, 200)}*\n${f.value || ' '}`, 2000) })),
    });
  }
  return blocks;
}

/** The request as posted (channel and DMs): fields plus Approve/Reject with confirm dialogs. */
export function buildRequestMessage(
  s: ApprovalState,
  spec: ApprovalRequestSpec,
  workflowId: string,
): SlackMessageContent {
  const blocks = bodyBlocks(s, spec, '');
  const expires = new Date(s.createdAtMs + spec.sla.expireAfterMs).toISOString();
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: clip(policyLine(s), 2000) },
      { type: 'mrkdwn', text: `Expires ${slackDate(expires)} · \`${spec.approvalId}\`` },
    ],
  });
  blocks.push({
    type: 'actions',
    block_id: APPROVAL_BLOCK.actions,
    elements: [
      {
        type: 'button',
        action_id: actionId('approval.approve'),
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        style: 'primary',
        value: target(workflowId),
        confirm: {
          title: { type: 'plain_text', text: 'Approve this request?' },
          text: { type: 'mrkdwn', text: clip(`You are approving *${escapeMrkdwn(spec.title)}*.`, 300) },
          confirm: { type: 'plain_text', text: 'Approve' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
      {
        type: 'button',
        action_id: actionId('approval.reject'),
        text: { type: 'plain_text', text: 'Reject', emoji: true },
        style: 'danger',
        value: target(workflowId),
        confirm: {
          title: { type: 'plain_text', text: 'Reject this request?' },
          text: { type: 'mrkdwn', text: 'You will be asked for a reason.' },
          confirm: { type: 'plain_text', text: 'Continue' },
          deny: { type: 'plain_text', text: 'Cancel' },
          style: 'danger',
        },
      },
    ],
  });
  return {
    text: clip(`Approval requested: ${spec.title} (${policyLine(s)})`, 3000),
    blocks,
  };
}

/** One line describing the outcome: "✅ Approved by @x at …". */
export function outcomeLine(s: ApprovalState): string {
  const at = s.decidedAt ? ` at ${slackDate(s.decidedAt)}` : '';
  const by = s.decidedBy ? ` by ${mention(s.decidedBy)}` : '';
  switch (s.status) {
    case 'approved':
      return `✅ Approved${by}${at}`;
    case 'rejected':
      return `❌ Rejected${by}${at}${s.reason ? `: ${clip(escapeMrkdwn(s.reason), 2500)}` : ''}`;
    case 'expired':
      return `⌛ Expired${at} without a decision`;
    case 'cancelled':
      return `🚫 Cancelled${at}${s.reason ? `: ${clip(escapeMrkdwn(s.reason), 2500)}` : ''}`;
    case 'pending':
      return '⏳ Pending';
  }
}

/** The request after the outcome: no buttons, the outcome in their place. */
export function buildLockedMessage(s: ApprovalState, spec: ApprovalRequestSpec): SlackMessageContent {
  const label = { approved: 'Approved', rejected: 'Rejected', expired: 'Expired', cancelled: 'Cancelled', pending: '' }[
    s.status
  ];
  const blocks = bodyBlocks(s, spec, label ? `[${label}] ` : '');
  blocks.push({ type: 'section', block_id: APPROVAL_BLOCK.outcome, text: { type: 'mrkdwn', text: outcomeLine(s) } });
  const approvers = [...new Set(s.votes.filter((v) => v.decision === 'approve').map((v) => v.user))];
  if (approvers.length)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Approvals: ${mentions(approvers)}` }] });
  return { text: clip(`${outcomeLine(s)}: ${spec.title}`, 3000), blocks };
}

const plain = (text: string) => ({ type: 'plain_text', text });

/** Thread reply after the outcome. */
export function decisionReply(s: ApprovalState): string {
  return `${outcomeLine(s)}.`;
}

/** DM to the requester once the request is closed. */
export function requesterNotice(s: ApprovalState, spec: ApprovalRequestSpec): string {
  return `Your request *${escapeMrkdwn(clip(spec.title, 200))}* (\`${spec.approvalId}\`): ${outcomeLine(s)}.`;
}

export function reminderText(s: ApprovalState, spec: ApprovalRequestSpec, afterMs: number): string {
  return `⏰ Reminder: *${escapeMrkdwn(clip(spec.title, 200))}* has waited ${formatDurationShort(afterMs)} for ${mentions(pendingApprovers(s))}.`;
}

export function escalationText(s: ApprovalState, spec: ApprovalRequestSpec, afterMs: number): string {
  return `🚨 Escalated after ${formatDurationShort(afterMs)} without a decision: *${escapeMrkdwn(clip(spec.title, 200))}*. ${mentions(s.escalationApprovers)} can now decide.`;
}

export function levelAdvancedText(s: ApprovalState): string {
  return `➡️ Level ${s.currentLevel} approved; now level ${s.currentLevel + 1} of ${s.levels.length}: ${mentions(pendingApprovers(s))}.`;
}

/** "Please give a reason" modal opened by the Reject button. */
export function buildRejectReasonModal(workflowId: string, title: string): SlackBlock {
  return {
    type: 'modal',
    callback_id: actionId('approval.reject_reason'),
    private_metadata: target(workflowId),
    title: plain('Reject request'),
    submit: plain('Reject'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(`Rejecting *${escapeMrkdwn(title)}*`, 3000) } },
      {
        type: 'input',
        block_id: APPROVAL_BLOCK.reason,
        label: plain('Reason'),
        element: {
          type: 'plain_text_input',
          action_id: 'reason',
          multiline: true,
          max_length: 2000,
          placeholder: plain('Why is this rejected?'),
        },
      },
    ],
  };
}

/** The `/threadline approval` modal; `workflowId` is the id the request will get. */
export function buildCreateRequestModal(workflowId: string): SlackBlock {
  const input = (
    blockId: string,
    label: string,
    element: Record<string, unknown>,
    optional = false,
    hint?: string,
  ) => ({
    type: 'input',
    block_id: blockId,
    label: plain(label),
    optional,
    element: { action_id: blockId, ...element },
    ...(hint ? { hint: plain(hint) } : {}),
  });
  return {
    type: 'modal',
    callback_id: actionId('approval.create'),
    private_metadata: target(workflowId),
    title: plain('Request approval'),
    submit: plain('Send request'),
    close: plain('Cancel'),
    blocks: [
      input(APPROVAL_BLOCK.title, 'What needs approval?', { type: 'plain_text_input', max_length: 150 }),
      input(
        APPROVAL_BLOCK.description,
        'Details',
        { type: 'plain_text_input', multiline: true, max_length: 2900 },
        true,
      ),
      input(APPROVAL_BLOCK.approvers, 'Approvers', { type: 'multi_users_select', max_selected_items: 25 }),
      input(
        APPROVAL_BLOCK.required,
        'Approvals needed',
        { type: 'plain_text_input', max_length: 2 },
        true,
        'Default 1 (any one approver)',
      ),
      input(APPROVAL_BLOCK.channel, 'Also post in', { type: 'conversations_select' }, true),
      input(
        APPROVAL_BLOCK.expireAfter,
        'Expires after',
        { type: 'plain_text_input', max_length: 10 },
        true,
        'e.g. 30m, 2h, 1d',
      ),
    ],
  };
}
