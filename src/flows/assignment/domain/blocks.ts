import { actionId, target, type SlackBlock } from '../../../platform/slack/contract.js';
import { ASSIGNMENT_VERBS, type AssignmentState, type CurrentRouting } from '../contract.js';
import type { RoutingDecision } from './routing.js';

/** Block Kit for assignments: pure builders inside Slack's limits (button value ≤ 2000, modal title ≤ 24). */

export interface AssignmentMessage {
  text: string;
  blocks?: SlackBlock[];
}

/** Block and action ids the ingress and tests read. */
export const ASSIGNMENT_BLOCK = {
  actions: 'assignment_actions',
  reason: 'reason',
  pool: 'pool',
  handTo: 'hand_to',
} as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const issueLink = (s: AssignmentState) => (s.issue.url ? `<${s.issue.url}|${s.key}>` : s.key);
const issueLine = (s: AssignmentState) =>
  [
    `*${issueLink(s)}* ${esc(clip(s.issue.summary ?? '', 200))}`,
    [s.issue.type, s.issue.priority, s.issue.status?.name]
      .filter(Boolean)
      .map((x) => esc(String(x)))
      .join(' · '),
  ]
    .filter(Boolean)
    .join('\n');

export function formatDuration(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))}s`;
  if (m < 120) return `${m} min`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}

/** The DM asking the chosen person to take the issue, with why they were chosen, Accept and Reassign. */
export function buildAssignmentDm(
  s: AssignmentState,
  wfId: string,
  current: CurrentRouting,
  decision: RoutingDecision,
  ackTimeoutMs: number,
): AssignmentMessage {
  const why = decision.chosen?.reasons.at(-1) ?? '';
  const value = target(wfId, String(current.attempt));
  return {
    text: `${s.key} needs an owner: can you take it? (${clip(s.issue.summary ?? '', 150)})`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(`:wave: Can you take this?\n${issueLine(s)}`, 3000) } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: clip(
              `Routed by rule \`${decision.ruleId}\` (${decision.ruleVersion}, ${decision.strategy.replace('_', ' ')}): ${esc(why)}. Please answer within ${formatDuration(ackTimeoutMs)}, or it goes to the next person.`,
              2000,
            ),
          },
        ],
      },
      {
        type: 'actions',
        block_id: ASSIGNMENT_BLOCK.actions,
        elements: [
          {
            type: 'button',
            action_id: actionId(ASSIGNMENT_VERBS.accept),
            text: { type: 'plain_text', text: 'Accept' },
            style: 'primary',
            value,
          },
          {
            type: 'button',
            action_id: actionId(ASSIGNMENT_VERBS.reassign),
            text: { type: 'plain_text', text: 'Reassign' },
            value,
          },
        ],
      },
    ],
  };
}

/** The DM once it is settled (buttons gone), saying what happened. */
export function buildSettledDm(s: AssignmentState, outcome: string): AssignmentMessage {
  return {
    text: `${s.key}: ${outcome}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(issueLine(s), 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: clip(outcome, 2000) }] },
    ],
  };
}

/** The thread note when the issue is routed. */
export function routedNote(s: AssignmentState, current: CurrentRouting, decision: RoutingDecision): string {
  const second = decision.candidates[1];
  return clip(
    `:busts_in_silhouette: Routed to <@${current.slack}> by rule \`${decision.ruleId}\` (${decision.ruleVersion}): ${esc(decision.chosen?.reasons.at(-1) ?? '')}.${second ? ` Next would be ${esc(second.name)}.` : ''}`,
    3000,
  );
}

/** A request to choose a reason (and optionally another pool, or a person) when passing it on. */
export function buildReassignModal(
  s: AssignmentState,
  wfId: string,
  attempt: number,
  pools: string[],
): { type: 'modal' } & Record<string, unknown> {
  const blocks: SlackBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clip(issueLine(s), 3000) } },
    {
      type: 'input',
      block_id: ASSIGNMENT_BLOCK.reason,
      label: { type: 'plain_text', text: 'Why are you passing it on?' },
      element: { type: 'plain_text_input', action_id: ASSIGNMENT_BLOCK.reason, multiline: true, max_length: 500 },
    },
  ];
  if (pools.length > 0)
    blocks.push({
      type: 'input',
      block_id: ASSIGNMENT_BLOCK.pool,
      optional: true,
      label: { type: 'plain_text', text: 'Route to another pool' },
      element: {
        type: 'static_select',
        action_id: ASSIGNMENT_BLOCK.pool,
        placeholder: { type: 'plain_text', text: 'Same pool' },
        options: pools.slice(0, 100).map((p) => ({ text: { type: 'plain_text', text: clip(p, 75) }, value: p })),
      },
    });
  blocks.push({
    type: 'input',
    block_id: ASSIGNMENT_BLOCK.handTo,
    optional: true,
    label: { type: 'plain_text', text: 'Or give it to this person' },
    element: { type: 'users_select', action_id: ASSIGNMENT_BLOCK.handTo },
  });
  return {
    type: 'modal',
    callback_id: actionId(ASSIGNMENT_VERBS.reassignReason),
    private_metadata: target(wfId, String(attempt)),
    title: { type: 'plain_text', text: clip(`Reassign ${s.key}`, 24) },
    submit: { type: 'plain_text', text: 'Reassign' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

/** Text for the lead channel when nobody accepted in time (`final`: the cap was reached, the lead decides). */
export function ackTimeoutText(
  s: AssignmentState,
  current: CurrentRouting,
  ackTimeoutMs: number,
  opts: { final: boolean; lead?: string; timeouts: number },
): string {
  const base = `:hourglass: ${issueLink(s)} was not accepted by <@${current.slack}> within ${formatDuration(ackTimeoutMs)}`;
  return opts.final
    ? `${base}. No owner after ${opts.timeouts} tries: escalated to ${opts.lead ? `<@${opts.lead}>` : 'the lead'}; please assign it.`
    : `${base} (try ${opts.timeouts}); it goes to the next person.`;
}

/** Text for the lead (DM and channel) when the pool has nobody left. */
export function noCandidateText(s: AssignmentState, decision: RoutingDecision | undefined, lead?: string): string {
  const why = decision ? ` ${decision.summary}.` : '';
  return `:rotating_light: ${issueLink(s)} has nobody left to route to.${esc(why)} ${lead ? `<@${lead}>, ` : ''}please assign it.`;
}
