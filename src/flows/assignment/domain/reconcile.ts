/**
 * Reconciliation's Jira query (pure). Every way drift can arise (a person changing the assignee
 * or status while a webhook was lost) updates the issue, so the run asks Jira only for the owned
 * projects' issues updated since the oldest open assignment began, minus two days for time zones
 * (JQL dates are in the integration user's zone, at day precision). Issues whose assignee write
 * did not land may not have been updated since: they are read one by one instead.
 */

/** JQL string literal: the quote and backslash escaped (project keys never need it; safety). */
const literal = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;

const DAY_MS = 86_400_000;

export function reconcileJql(projects: readonly string[], sinceMs: number): string | undefined {
  if (projects.length === 0) return undefined;
  const since = new Date(sinceMs - 2 * DAY_MS).toISOString().slice(0, 10);
  const list = [...new Set(projects)].sort().map(literal).join(', ');
  return `project in (${list}) AND updated >= "${since}" ORDER BY key ASC`;
}
