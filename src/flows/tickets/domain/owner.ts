import type { TicketEvent, TicketOwnerChange, TicketOwnerNotice, TicketThreadState } from '../contract.js';

/**
 * What a batch of tracker events tells the issue's assignment (pure): its creation, assignee and
 * status changes, and its deletion. Undefined when the batch holds none of those (comments and
 * other field edits do not concern the owner). `issue` is the newest complete snapshot by event
 * time; `byUs` marks changes made by Threadline's own tracker account (its own writes coming back).
 */
export function ownerNoticeOf(state: TicketThreadState, batch: readonly TicketEvent[]): TicketOwnerNotice | undefined {
  const relevant = batch.filter(
    (e) =>
      e.kind === 'issue_created' ||
      e.kind === 'issue_deleted' ||
      (e.kind === 'issue_updated' && e.changes.some((c) => c.field === 'assignee' || c.field === 'status')),
  );
  if (relevant.length === 0) return undefined;
  const ordered = [...relevant].sort((a, b) => a.occurredAtMs - b.occurredAtMs);
  const newest = ordered.at(-1)!;
  const byUs = (e: TicketEvent) => !!state.selfAccountId && e.actor?.id === state.selfAccountId;
  const changes: TicketOwnerChange[] = ordered.flatMap((e) =>
    e.changes
      .filter((c): c is typeof c & { field: 'assignee' | 'status' } => c.field === 'assignee' || c.field === 'status')
      .map((c) => ({
        eventId: e.eventId,
        field: c.field,
        from: c.from,
        to: c.to,
        ...(c.fromId !== undefined ? { fromId: c.fromId } : {}),
        ...(c.toId !== undefined ? { toId: c.toId } : {}),
        ...(e.actor ? { actor: e.actor } : {}),
        byUs: byUs(e),
        atMs: e.occurredAtMs,
      })),
  );
  return {
    key: state.key,
    tracker: newest.tracker,
    eventIds: ordered.map((e) => e.eventId),
    issue: newest.issue,
    issueAtMs: newest.occurredAtMs,
    ...(state.root ? { thread: { channel: state.root.channel, ts: state.root.ts } } : {}),
    created: ordered.some((e) => e.kind === 'issue_created'),
    deleted: ordered.some((e) => e.kind === 'issue_deleted'),
    changes,
  };
}
