import type { PaymentEvent, PaymentLifecycleState, PaymentStatus } from '../contract.js';
import type { SlackBlock } from '../../../platform/slack/contract.js';
import { eventSummary, paymentAmount } from './lifecycle.js';
import { formatAmount } from './money.js';
import { STATUS_LABEL } from './status.js';

/** Block Kit builders: pure functions from lifecycle state to messages (text fallback always included). */

export interface SlackMessageContent {
  text: string;
  blocks: SlackBlock[];
}

/** Slack mrkdwn control characters in user-provided text. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `90000` → `1 min 30 s`; `1800000` → `30 min`; `7200000` → `2 h`. */
export function formatDuration(ms: number): string {
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = totalS % 60;
  const parts = [h ? `${h} h` : '', m ? `${m} min` : '', sec ? `${sec} s` : ''].filter(Boolean);
  return parts.length ? parts.join(' ') : `${ms} ms`;
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** `<@U123>` for a Slack id, the escaped raw value otherwise, or "unassigned". */
export function ownerMention(s: PaymentLifecycleState): string {
  if (s.ownerSlackId) return `<@${s.ownerSlackId}>`;
  const raw = s.initiation?.owner;
  return raw ? escapeMrkdwn(raw) : '_unassigned_';
}

function amountText(s: PaymentLifecycleState): string {
  const a = paymentAmount(s);
  return a ? formatAmount(a.amount, a.currency) : '_unknown yet_';
}

const field = (label: string, value: string) => ({ type: 'mrkdwn', text: clip(`*${label}*\n${value}`, 2000) });

/** The thread root: "Payment initiated" card with the current status, updated in place on every transition. */
export function buildRootMessage(s: PaymentLifecycleState): SlackMessageContent {
  const payer = s.initiation ? escapeMrkdwn(s.initiation.payerName) : '_awaiting initiation_';
  const type = s.initiation ? (s.initiation.paymentType === 'part' ? 'Part payment' : 'Full payment') : '_unknown yet_';
  const status = STATUS_LABEL[s.status];
  const title = s.initiation ? 'Payment initiated' : 'Payment (provider event before initiation)';
  const ids = [
    `Order \`${escapeMrkdwn(s.initiation?.orderId ?? s.provider.orderId ?? s.lifecycleId)}\``,
    ...(s.provider.paymentId ? [`Payment \`${escapeMrkdwn(s.provider.paymentId)}\``] : []),
    ...(s.provider.name ? [`via ${s.provider.name}`] : []),
  ].join(' · ');
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${title}: ${status}`, 150), emoji: true } },
    {
      type: 'section',
      fields: [
        field('Payer', payer),
        field('Amount', amountText(s)),
        field('Type', type),
        field('Owner', ownerMention(s)),
        field('Status', status),
      ],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: clip(ids, 2000) }] },
  ];
  if (s.provider.lastError && s.status === 'failed') {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: clip(
            `Last error: \`${escapeMrkdwn(s.provider.lastError.code)}\` ${escapeMrkdwn(s.provider.lastError.description ?? '')}`,
            2000,
          ),
        },
      ],
    });
  }
  const text = `${title}: ${s.initiation ? `${s.initiation.payerName}, ` : ''}${amountText(s)}, ${status}`;
  return { text: clip(text, 3000), blocks };
}

const EVENT_ICON: Record<PaymentEvent['kind'], string> = {
  authorized: '🔐',
  captured: '✅',
  order_paid: '✅',
  failed: '❌',
  refund_created: '↩️',
  refund_processed: '↩️',
  refund_failed: '⚠️',
};

/** One thread reply per provider event. A late event that did not move the status says so. */
export function buildEventReply(e: PaymentEvent, before: PaymentStatus, after: PaymentStatus): SlackMessageContent {
  const summary = `${EVENT_ICON[e.kind]} ${eventSummary(e)}`;
  const lines = [`*${escapeMrkdwn(summary)}*`];
  if (e.kind === 'failed' && e.error) {
    lines.push(`Error code: \`${escapeMrkdwn(e.error.code)}\``);
    if (e.error.description) lines.push(`Description: ${escapeMrkdwn(e.error.description)}`);
    const where = [e.error.source, e.error.step, e.error.reason].filter(Boolean).join(' / ');
    if (where) lines.push(`Source / step / reason: ${escapeMrkdwn(where)}`);
  }
  if (e.kind === 'captured' && before === 'failed')
    lines.push('_Captured after an earlier failure: the payment succeeded._');
  if (before === after && e.kind !== 'refund_created')
    lines.push(`_Status stays ${STATUS_LABEL[after]} (event arrived late or repeats a known outcome)._`);
  const ctx = [
    `${e.providerEventType}`,
    ...(e.paymentId ? [`payment \`${escapeMrkdwn(e.paymentId)}\``] : []),
    ...(e.refund ? [`refund \`${escapeMrkdwn(e.refund.id)}\``] : []),
  ];
  return {
    text: clip(summary, 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: clip(ctx.join(' · '), 2000) }] },
    ],
  };
}

/** The in-thread SLA escalation, mentioning the owner. */
export function buildEscalationReply(s: PaymentLifecycleState, afterMs: number): SlackMessageContent {
  const text = `⏰ ${ownerMention(s)} no outcome for this payment after ${formatDuration(afterMs)} (status: ${STATUS_LABEL[s.status]}). Please follow up.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } }] };
}

/** The escalation channel alert, pointing at the thread. */
export function buildEscalationAlert(s: PaymentLifecycleState, afterMs: number): SlackMessageContent {
  const where = s.root ? ` in <#${s.root.channel}> (thread ${s.root.ts})` : '';
  const text = `⏰ Payment \`${escapeMrkdwn(s.lifecycleId)}\` (${amountText(s)}) has no outcome after ${formatDuration(afterMs)}${where}. Owner: ${ownerMention(s)}.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } }] };
}

export function buildOverdueReply(s: PaymentLifecycleState, afterMs: number): SlackMessageContent {
  const text = `⏰ Marked *overdue*: still no outcome after ${formatDuration(afterMs)}. ${ownerMention(s)}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } }] };
}
