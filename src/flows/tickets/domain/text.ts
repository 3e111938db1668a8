/**
 * Text between the two systems (pure). Slack mrkdwn uses `<…>` for mentions and links and
 * escapes `& < >`; tracker comments are plain text that may contain anything.
 */

/** Escapes what Slack treats as control characters in mrkdwn. */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A person's Slack message as plain text for the tracker: mentions become `@Name` (from
 * `nameOf`, else the user id), channel links `#name`, links `label (url)`, entities decoded.
 */
export function slackToPlain(text: string, nameOf: (user: string) => string | undefined): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, label?: string) => `@${nameOf(id) ?? label ?? id}`)
    .replace(/<#([CG][A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, label?: string) => `#${label || id}`)
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>/g, (_m, label?: string) => label ?? '@group')
    .replace(/<((?:https?|mailto):[^|>]+)\|([^>]+)>/g, (_m, url: string, label: string) =>
      label === url ? url : `${label} (${url})`,
    )
    .replace(/<((?:https?|mailto):[^>]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Characters of a tracker comment quoted in a reply (Slack's section text limit is 3000). */
export const QUOTE_LIMIT = 2500;

/** A tracker comment as a Slack block quote: escaped, mentions made readable, trimmed. */
export function quoteForSlack(body: string, limit = QUOTE_LIMIT): string {
  const readable = body.replace(/\[~accountid:[^\]]+\]/g, '@someone').trim();
  const cut = readable.length > limit ? `${readable.slice(0, limit)}…` : readable;
  const lines = escapeSlack(cut || '(empty comment)').split(/\r?\n/);
  return lines.map((l) => `>${l}`).join('\n');
}

/** `12:01:02 UTC` for an event time (ms). */
export function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}
