import type { SubjectStatus } from './inbound-contract.js';

/** The ephemeral answer to `/threadline status <id>`. */
export function statusText(query: string, s: SubjectStatus | null): string {
  if (!s) return `I could not find \`${query}\`. Try a payment order id, an approval id or a Jira key.`;
  return [
    `*${s.subject}*: ${s.status}`,
    s.summary,
    `_updated ${s.updatedAt}_${s.link ? ` · <${s.link}|open thread>` : ''}`,
  ].join('\n');
}
