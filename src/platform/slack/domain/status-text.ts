import type { SubjectStatus } from '../contract.js';

/**
 * The ephemeral answer to `/threadline status <id>`; `forms` names the id forms the flows
 * understand. `null` means "no such lifecycle" or "not yours to see": one sentence for both, so a
 * refusal does not even confirm that the id exists.
 */
export function statusText(query: string, s: SubjectStatus | null, forms?: string): string {
  if (!s) {
    return [
      `I can't show you \`${query}\`: either it does not exist, or you are not one of its participants`,
      `or a member of a channel where it is discussed.${forms ? ` Ids look like ${forms}.` : ''}`,
    ].join(' ');
  }
  return [
    `*${s.subject}*: ${s.status}`,
    s.summary,
    `_updated ${s.updatedAt}_${s.link ? ` · <${s.link}|open thread>` : ''}`,
  ].join('\n');
}
