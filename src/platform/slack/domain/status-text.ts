import type { SubjectStatus } from '../contract.js';

/** The ephemeral answer to `/threadline status <id>`; `forms` names the id forms the flows understand. */
export function statusText(query: string, s: SubjectStatus | null, forms?: string): string {
  if (!s) return `I could not find \`${query}\`.${forms ? ` Try ${forms}.` : ''}`;
  return [
    `*${s.subject}*: ${s.status}`,
    s.summary,
    `_updated ${s.updatedAt}_${s.link ? ` · <${s.link}|open thread>` : ''}`,
  ].join('\n');
}
