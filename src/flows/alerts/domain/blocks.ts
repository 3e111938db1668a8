import { actionId, target, type SlackBlock } from '../../../platform/slack/contract.js';
import type { AlertState } from '../contract.js';
import { stepLabel, type PagePlan } from './escalation.js';
import { clip, describeDuration, severityStyle, slackDate } from './format.js';

/**
 * Block Kit for the alert card (pure). The same card is the channel root, the DM to each paged
 * person and the copy in each paged channel; it is edited in place as the alert moves
 * firing → acknowledged by @x → resolved, and its buttons go away once resolved.
 */

export interface SlackMessageContent {
  text: string;
  blocks: SlackBlock[];
}

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });

function statusLine(state: AlertState, nowMs: number): string {
  const cur = state.current;
  if (!cur) return '*Status:* not firing';
  const since = slackDate(cur.startsAtMs);
  if (state.status === 'resolved') {
    const r = cur.resolved;
    const by = r?.via === 'slack' ? `<@${r.by}>` : r?.via === 'alertmanager' ? 'Alertmanager' : 'the API';
    return `*Status:* :white_check_mark: Resolved by ${by} after ${describeDuration((r?.atMs ?? nowMs) - cur.startsAtMs)} (fired ${since})`;
  }
  if (state.status === 'acknowledged')
    return `*Status:* :eyes: Acknowledged by <@${cur.ack?.by ?? '?'}> · firing since ${since} (${describeDuration(nowMs - cur.startsAtMs)} at last update)`;
  return `*Status:* :rotating_light: Firing since ${since} (${describeDuration(nowMs - cur.startsAtMs)} at last update)`;
}

function escalationLine(state: AlertState): string | undefined {
  const cur = state.current;
  const policy = cur?.route.policy;
  const last = cur?.lastPage;
  if (!cur || !policy || !last || state.status === 'resolved') return undefined;
  const who = [...last.users.map((u) => `<@${u}>`), ...last.channels.map((c) => `<#${c}>`)].join(', ') || 'nobody';
  const unstaffed = last.unstaffed.length ? ` · nobody on call for ${last.unstaffed.join(', ')}` : '';
  return `*Escalation (${policy.name}):* ${stepLabel(policy, last.step, last.loop)}, paged ${who}${unstaffed}`;
}

function labelsLine(labels: Record<string, string>): string {
  const shown = Object.entries(labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `\`${clip(k, 40)}=${clip(v, 80)}\``);
  return clip(shown.join(' '), 2900);
}

/** The card. `buttons`: whether Acknowledge / Escalate / Resolve are shown (never once resolved). */
export function buildAlertCard(state: AlertState, workflowId: string, nowMs: number): SlackMessageContent {
  const d = state.details;
  const cur = state.current;
  const style = severityStyle(d?.severity ?? '');
  const title = d?.title ?? state.alertId;
  const stateWord =
    state.status === 'resolved' ? 'RESOLVED' : state.status === 'acknowledged' ? 'ACKNOWLEDGED' : 'FIRING';
  const headerEmoji = state.status === 'resolved' ? ':white_check_mark:' : style.emoji;
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${stateWord} · ${style.label} · ${title}`, 150), emoji: true },
    },
  ];
  const body = [d?.summary ? `${headerEmoji} *${clip(d.summary, 500)}*` : `${headerEmoji} *${clip(title, 500)}*`];
  if (d?.description) body.push(clip(d.description, 2000));
  blocks.push({ type: 'section', block_id: 'alert_summary', text: mrkdwn(clip(body.join('\n'), 2900)) });
  const lines = [statusLine(state, nowMs)];
  const esc = escalationLine(state);
  if (esc) lines.push(esc);
  if (state.occurrences > 1) lines.push(`*Flapping:* fired ${state.occurrences} times`);
  blocks.push({ type: 'section', block_id: 'alert_status', text: mrkdwn(clip(lines.join('\n'), 2900)) });
  const links = (d?.links ?? []).slice(0, 5).map((l) => `<${l.url}|${clip(l.text, 40)}>`);
  const context = [
    `*Source:* ${clip(d?.origin ?? state.source, 60)}`,
    ...(d?.labels && Object.keys(d.labels).length ? [labelsLine(d.labels)] : []),
    ...(links.length ? [links.join(' · ')] : []),
  ];
  blocks.push({ type: 'context', elements: context.map((t) => mrkdwn(clip(t, 2900))) });
  if (cur && state.status !== 'resolved') {
    const value = target(workflowId, `o${cur.n}`);
    const elements: Record<string, unknown>[] = [];
    if (state.status === 'firing') elements.push(button('alert.ack', 'Acknowledge', value, 'primary'));
    if (cur.route.policy) elements.push(button('alert.escalate', 'Escalate', value));
    if (cur.route.resolvable)
      elements.push({
        ...button('alert.resolve', 'Resolve', value, 'danger'),
        confirm: {
          title: { type: 'plain_text', text: 'Resolve this alert?' },
          text: { type: 'plain_text', text: clip(`Resolve “${title}” for everyone?`, 300) },
          confirm: { type: 'plain_text', text: 'Resolve' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      });
    if (elements.length) blocks.push({ type: 'actions', block_id: 'alert_actions', elements });
  }
  const fallback = `${stateWord} [${style.label}] ${title}${d?.summary && d.summary !== title ? `: ${d.summary}` : ''}`;
  return { text: clip(fallback, 3000), blocks };
}

function button(verb: string, text: string, value: string, style?: 'primary' | 'danger') {
  return {
    type: 'button',
    action_id: actionId(verb),
    text: { type: 'plain_text', text },
    value,
    ...(style ? { style } : {}),
  };
}

/** What a paged person or channel is told in their copy's thread when paged again. */
export function pageAgainText(plan: PagePlan, policyName: string): string {
  return `:rotating_light: Paged again by *${policyName}* (step ${plan.step + 1}${plan.loop ? `, pass ${plan.loop + 1}` : ''}): still not acknowledged.`;
}

/** Incoming-webhook message (notification-only routes: no buttons, a coloured bar). */
export function buildWebhookMessage(state: AlertState, status: 'firing' | 'resolved', nowMs: number) {
  const d = state.details;
  const style = severityStyle(d?.severity ?? '');
  const cur = state.current;
  const title = d?.title ?? state.alertId;
  const headline =
    status === 'firing'
      ? `${style.emoji} *FIRING* [${style.label}] ${title}${state.occurrences > 1 ? ` (fired ${state.occurrences} times)` : ''}`
      : `:white_check_mark: *RESOLVED* [${style.label}] ${title}${cur ? ` after ${describeDuration((cur.resolved?.atMs ?? nowMs) - cur.startsAtMs)}` : ''}`;
  const links = (d?.links ?? []).slice(0, 5).map((l) => `<${l.url}|${clip(l.text, 40)}>`);
  const text = clip([headline, d?.summary, links.join(' · ')].filter(Boolean).join('\n'), 3000);
  return {
    text: clip(`${status === 'firing' ? 'FIRING' : 'RESOLVED'} [${style.label}] ${title}`, 3000),
    attachments: [
      { color: status === 'firing' ? style.colour : '#12b76a', blocks: [{ type: 'section', text: mrkdwn(text) }] },
    ],
  };
}
