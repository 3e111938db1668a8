import type { SlackBlock } from '../../../platform/slack/contract.js';
import {
  BLOCK_KIT_LIMITS,
  clip,
  escapeMrkdwn,
  header,
  packBlocks,
  sections,
} from '../../../platform/slack/domain/block-kit.js';
import type { MembershipProblem, OrgNotification } from '../contract.js';

/** Slack's channel names: lowercase letters, digits, hyphens and underscores, at most 80. */
const MAX_NAME = 80;

/**
 * A person's channel name from the pattern (`{person}` is replaced by the person id), made valid
 * for Slack: lowercased, anything else becomes `-`, runs collapsed, trimmed to 80 characters.
 */
export function channelName(pattern: string, personId: string): string {
  const raw = pattern.split('{person}').join(personId).toLowerCase();
  const clean = raw
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  return (clean || 'person').slice(0, MAX_NAME);
}

/** The n-th alternative when a name is taken by a channel we cannot use (`team-x-2`, …). */
export function alternativeName(name: string, n: number): string {
  const suffix = `-${n}`;
  return `${name.slice(0, MAX_NAME - suffix.length)}${suffix}`;
}

/**
 * Who to invite and who to remove: expected members against the channel's actual ones. The bot
 * is never invited (it is in the channel) nor removed (`cant_kick_self`).
 */
export function membershipDiff(
  expected: readonly string[],
  actual: readonly string[],
  botUserId: string,
): { invite: string[]; remove: string[] } {
  const want = new Set(expected.filter((u) => u !== botUserId));
  const have = new Set(actual.filter((u) => u !== botUserId));
  return { invite: [...want].filter((u) => !have.has(u)), remove: [...have].filter((u) => !want.has(u)) };
}

/** The key a problem is reported once under. */
export const problemKey = (p: MembershipProblem): string => `${p.user}:${p.op}:${p.error}`;

/** In words, what a membership problem leaves undone (the ops alert's "not delivered" line). */
export function problemText(p: MembershipProblem, channel: string): string {
  return p.op === 'invite'
    ? `adding <@${p.user}> to <#${channel}> (they do not see its notifications)`
    : `removing <@${p.user}> from <#${channel}> (they still see its notifications)`;
}

/**
 * A notification as Slack messages: a header (title), the text in sections of at most 3,000
 * characters, fields, ten per section. Past 50 blocks the rest continues in further messages of
 * the same channel (never a failed post).
 */
export function notificationMessages(n: OrgNotification): { text: string; blocks: SlackBlock[] }[] {
  const blocks: SlackBlock[] = [];
  if (n.title) blocks.push(header(n.title));
  blocks.push(...sections([escapeMrkdwn(n.text)]));
  const fields = n.fields ?? [];
  for (let i = 0; i < fields.length; i += BLOCK_KIT_LIMITS.fieldsPerSection) {
    blocks.push({
      type: 'section',
      fields: fields.slice(i, i + BLOCK_KIT_LIMITS.fieldsPerSection).map((f) => ({
        type: 'mrkdwn',
        text: clip(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, BLOCK_KIT_LIMITS.fieldText),
      })),
    });
  }
  const fallback = clip(n.title ? `${n.title}: ${n.text}` : n.text, BLOCK_KIT_LIMITS.fallbackText);
  const messages = packBlocks(blocks);
  return messages.map((b, i) => ({
    text:
      messages.length > 1
        ? clip(`${fallback}`, BLOCK_KIT_LIMITS.fallbackText - 20) + ` (${i + 1}/${messages.length})`
        : fallback,
    blocks: b,
  }));
}
