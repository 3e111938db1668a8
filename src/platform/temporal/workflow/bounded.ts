/**
 * Bounded lists for workflow state. Workflow state is carried across continue-as-new, copied
 * into every query answer and snapshot, and limited to 2 MiB per payload: anything that grows
 * with chat (timelines, Slack event ids) keeps only its newest entries. The full record lives in
 * Postgres (`audit_log`) and in Slack itself. Pure functions (domain code imports them).
 */

/** Timeline entries a workflow keeps in state (newest first to survive). */
export const TIMELINE_LIMIT = 100;

/** Slack event ids kept for dedup: Slack redelivers within minutes (3 retries, the last after ~5 min). */
export const SLACK_EVENT_ID_LIMIT = 200;

/** Appends `items` and keeps the newest `limit`; `dropped` counts what fell off the front. */
export function appendBounded<T>(
  list: readonly T[],
  items: readonly T[],
  limit: number,
): { list: T[]; dropped: number } {
  const all = [...list, ...items];
  const dropped = Math.max(0, all.length - limit);
  return { list: dropped ? all.slice(dropped) : all, dropped };
}
