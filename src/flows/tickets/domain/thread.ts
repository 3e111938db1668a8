import type { Actor } from '../../../platform/audit/contract.js';
import type { SubjectStatus } from '../../../platform/slack/contract.js';
import type {
  TicketComment,
  TicketEvent,
  TicketFieldChange,
  TicketPerson,
  TicketSlackPerson,
  TicketSnapshot,
  TicketThreadState,
} from '../contract.js';
import {
  buildChangeReply,
  buildCommentReply,
  buildDeletedReply,
  buildMirroredComment,
  buildScopeLeftReply,
  buildUnmirroredCommentReply,
  type TicketMessage,
} from './blocks.js';
import { DEFAULT_MIRRORED_FIELDS } from './sync-rules.js';

/**
 * The ticket thread's rules (pure): what the root shows, which tracker events become which
 * replies, and how our own writes are recognised when they come back. The workflow executes
 * the effects these functions return, in order.
 */

/** Tracker identities and Slack event ids kept for dedup. Jira redelivers for up to ~30 min. */
export const SEEN_LIMIT = 1000;
/** Write-ledger bounds: comments we wrote, transitions we made, Slack messages we posted. */
export const LEDGER_COMMENT_LIMIT = 1000;
export const LEDGER_TRANSITION_LIMIT = 20;
export const POSTED_LIMIT = 1000;
export const MIRRORED_LIMIT = 1000;
export const PEOPLE_LIMIT = 200;
/** A status change up to this long before our transition's workflow time can still be its echo (clock skew). */
export const TRANSITION_ECHO_SKEW_MS = 5 * 60_000;

export function initialTicketState(key: string, tracker = 'jira'): TicketThreadState {
  return {
    key,
    tracker,
    issue: { key, id: '', project: key.split('-')[0] ?? key },
    issueAtMs: 0,
    sync: 'active',
    lastRepliedAtMs: 0,
    seenEventIds: [],
    ledger: { comments: [], transitions: [], posted: [] },
    mirrored: [],
    people: [],
    version: 0,
  };
}

/** Appends and keeps the newest `limit` entries. */
export function bounded<T>(list: readonly T[], item: T, limit: number): T[] {
  const all = [...list, item];
  return all.length > limit ? all.slice(all.length - limit) : all;
}

export const hasSeen = (s: TicketThreadState, id: string) => s.seenEventIds.includes(id);
export const markSeen = (s: TicketThreadState, id: string): TicketThreadState =>
  hasSeen(s, id) ? s : { ...s, seenEventIds: bounded(s.seenEventIds, id, SEEN_LIMIT) };

/**
 * Applies a snapshot's fields to the root's view when it is not older than what the root shows:
 * a late, older event never overwrites newer state. Fields the event does not carry stay.
 */
export function applySnapshot(s: TicketThreadState, issue: TicketSnapshot, atMs: number): TicketThreadState {
  if (atMs < s.issueAtMs) return s;
  const merged: TicketSnapshot = { ...s.issue };
  for (const [k, v] of Object.entries(issue) as [keyof TicketSnapshot, unknown][]) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  return { ...s, issue: merged, issueAtMs: atMs, version: s.version + 1 };
}

// ─── The write ledger (loop prevention, layer 2) ───────────────────────────────────────────

export function recordCommentWrite(
  s: TicketThreadState,
  w: { id: string; slackTs: string; updated: string },
): TicketThreadState {
  const existing = s.ledger.comments.find((c) => c.id === w.id);
  const comments = existing
    ? s.ledger.comments.map((c) =>
        c.id === w.id ? { ...c, stamps: bounded(c.stamps, w.updated, 20), deleted: undefined } : c,
      )
    : bounded(s.ledger.comments, { id: w.id, slackTs: w.slackTs, stamps: [w.updated] }, LEDGER_COMMENT_LIMIT);
  return { ...s, ledger: { ...s.ledger, comments } };
}

export function recordCommentDeleted(s: TicketThreadState, id: string): TicketThreadState {
  return {
    ...s,
    ledger: { ...s.ledger, comments: s.ledger.comments.map((c) => (c.id === id ? { ...c, deleted: true } : c)) },
  };
}

/** The tracker comment we wrote for this Slack reply, if any (and not deleted). */
export function commentForSlackTs(s: TicketThreadState, ts: string) {
  return s.ledger.comments.find((c) => c.slackTs === ts && !c.deleted);
}

export function recordTransition(
  s: TicketThreadState,
  t: { toStatusId?: string; toStatus: string; atMs: number },
): TicketThreadState {
  return {
    ...s,
    ledger: { ...s.ledger, transitions: bounded(s.ledger.transitions, { ...t }, LEDGER_TRANSITION_LIMIT) },
  };
}

export function recordPosted(s: TicketThreadState, ts: string): TicketThreadState {
  return s.ledger.posted.includes(ts)
    ? s
    : { ...s, ledger: { ...s.ledger, posted: bounded(s.ledger.posted, ts, POSTED_LIMIT) } };
}

export function recordMirror(s: TicketThreadState, commentId: string, ts: string): TicketThreadState {
  return { ...s, mirrored: bounded(s.mirrored, { commentId, ts }, MIRRORED_LIMIT) };
}

export function rememberPerson(s: TicketThreadState, p: TicketSlackPerson): TicketThreadState {
  return {
    ...s,
    people: bounded(
      s.people.filter((x) => x.user !== p.user),
      p,
      PEOPLE_LIMIT,
    ),
  };
}

export type EchoLayer = 'actor' | 'ledger';

function matchingTransition(s: TicketThreadState, e: TicketEvent, c: TicketFieldChange) {
  return s.ledger.transitions.find(
    (t) =>
      (t.toStatusId && c.toId ? t.toStatusId === c.toId : t.toStatus === c.to) &&
      e.occurredAtMs >= t.atMs - TRANSITION_ECHO_SKEW_MS &&
      (t.changeId === undefined || t.changeId === e.changeId),
  );
}

/**
 * Whether a tracker event is the echo of something we did. Layer 1: the actor is our own
 * account. Layer 2: the ledger holds the write (a comment we created, the `updated` stamp of an
 * edit we made, a comment we deleted, a status we transitioned to), so the echo is dropped even
 * when the actor is hidden or the event comes late, twice, or by the other route.
 */
export function echoOf(s: TicketThreadState, e: TicketEvent): EchoLayer | undefined {
  if (s.selfAccountId !== undefined && e.actor?.id === s.selfAccountId) return 'actor';
  const ours = e.comment ? s.ledger.comments.find((c) => c.id === e.comment!.id) : undefined;
  if (e.kind === 'comment_created' && ours) return 'ledger';
  if (e.kind === 'comment_updated' && ours && e.comment?.updated && ours.stamps.includes(e.comment.updated))
    return 'ledger';
  if (e.kind === 'comment_deleted' && ours?.deleted) return 'ledger';
  if (e.kind === 'issue_updated' && e.changes.length > 0 && e.changes.every((c) => c.field === 'status'))
    if (e.changes.every((c) => matchingTransition(s, e, c))) return 'ledger';
  return undefined;
}

/** Marks the ledger entry an echo matched, so a different change to the same status is not taken for it. */
function absorbEcho(s: TicketThreadState, e: TicketEvent): TicketThreadState {
  if (e.kind !== 'issue_updated' || !e.changeId) return s;
  const hits = new Set(e.changes.map((c) => matchingTransition(s, e, c)).filter((t) => t !== undefined));
  if (hits.size === 0) return s;
  return {
    ...s,
    ledger: {
      ...s.ledger,
      transitions: s.ledger.transitions.map((t) => (hits.has(t) ? { ...t, changeId: e.changeId } : t)),
    },
  };
}

// ─── Planning a batch of tracker events ────────────────────────────────────────────────────

/** An audit row the workflow writes (keyed by workflow id + `step`). */
export interface TicketAudit {
  action: string;
  step: string;
  actor: Actor;
  sourceSystem?: string;
  targetSystem?: string;
  before?: unknown;
  after?: unknown;
  details?: Record<string, unknown>;
  outcome?: 'ok' | 'failed' | 'skipped';
  occurredAt?: string;
}

export type TicketEffect =
  /** Post a thread reply (`step` makes its Slack idempotency key); `mirrors` a person's tracker comment. */
  | { kind: 'reply'; step: string; purpose: string; message: TicketMessage; audit: TicketAudit; mirrors?: string }
  /** Update a reply we posted earlier (a mirrored comment that was edited or deleted). */
  | { kind: 'update_reply'; step: string; ts: string; message: TicketMessage; audit: TicketAudit }
  | { kind: 'audit'; audit: TicketAudit }
  /** The thread stops syncing (the workflow ends after the batch). */
  | { kind: 'end' };

const jiraActor = (p: TicketPerson | undefined): Actor => ({ kind: 'jira_user', id: p?.id });
const iso = (ms: number) => new Date(ms).toISOString();

interface ChangeGroup {
  actor?: TicketPerson;
  firstEventId: string;
  atMs: number;
  late: boolean;
  eventIds: string[];
  changeIds: string[];
  changes: TicketFieldChange[];
}

/** Merges a burst: a field changed twice shows its first `from` and its last `to`. */
function mergeChanges(into: TicketFieldChange[], more: TicketFieldChange[]): TicketFieldChange[] {
  const out = [...into];
  for (const c of more) {
    const i = out.findIndex((x) => x.field === c.field);
    if (i < 0) out.push({ ...c });
    else out[i] = { ...out[i]!, to: c.to, toId: c.toId };
  }
  return out.filter((c) => c.from !== c.to || c.field === 'description');
}

/**
 * Turns a batch of tracker events (collected over the merge window) into effects, in the
 * events' own time order:
 * - duplicates (same identity: redeliveries, the comment's double delivery) are dropped;
 * - every event's snapshot refreshes the root unless it is older than what the root shows;
 * - echoes of our own writes are dropped (audited, no reply);
 * - consecutive field changes by one person become one reply; each comment one reply; a comment
 *   edit or deletion updates the reply that mirrored it;
 * - deletion or leaving the synced scope says so and ends the thread.
 */
export function planTrackerBatch(
  state: TicketThreadState,
  events: readonly TicketEvent[],
): { state: TicketThreadState; effects: TicketEffect[] } {
  // The two deliveries of one change share an identity; only one may name the actor (Jira's
  // comment_deleted names none, its issue_updated twin does): keep the first, with any actor.
  const firsts = new Map<string, TicketEvent>();
  for (const e of events) {
    const first = firsts.get(e.eventId);
    if (!first) firsts.set(e.eventId, e);
    else if (!first.actor && e.actor) firsts.set(e.eventId, { ...first, actor: e.actor });
  }
  const sorted = [...firsts.values()]
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.occurredAtMs - b.e.occurredAtMs || a.i - b.i)
    .map((x) => x.e);
  let s = state;
  const effects: TicketEffect[] = [];
  let group: ChangeGroup | undefined;
  const replied = (atMs: number) => {
    s = { ...s, lastRepliedAtMs: Math.max(s.lastRepliedAtMs, atMs) };
  };
  const flush = () => {
    if (!group) return;
    const g = group;
    group = undefined;
    if (g.changes.length === 0) return;
    effects.push({
      kind: 'reply',
      step: `change:${g.firstEventId}`,
      purpose: 'tracker_change',
      message: buildChangeReply(s.key, g.actor, g.changes, g.late ? { atMs: g.atMs } : undefined),
      audit: {
        action: 'ticket.change_mirrored',
        step: `change:${g.firstEventId}`,
        actor: jiraActor(g.actor),
        sourceSystem: s.tracker,
        targetSystem: 'slack',
        before: Object.fromEntries(g.changes.map((c) => [c.field, c.from])),
        after: Object.fromEntries(g.changes.map((c) => [c.field, c.to])),
        details: { eventIds: g.eventIds, changeIds: g.changeIds, late: g.late },
        occurredAt: iso(g.atMs),
      },
    });
  };

  for (const e of sorted) {
    if (hasSeen(s, e.eventId)) continue;
    s = markSeen(s, e.eventId);
    if (s.sync !== 'active') continue;
    if (e.scope.state === 'in') {
      s = { ...s, rule: { id: e.scope.ruleId, fields: [...e.scope.fields] }, channel: s.channel ?? e.scope.channel };
    }
    s = applySnapshot(s, e.issue, e.occurredAtMs);

    if (e.scope.state === 'out') {
      flush();
      s = { ...s, sync: 'out_of_scope', syncNote: e.scope.reason };
      effects.push({
        kind: 'reply',
        step: `scope_left:${e.eventId}`,
        purpose: 'scope_left',
        message: buildScopeLeftReply(s.key, e.scope.reason),
        audit: {
          action: 'ticket.scope_left',
          step: `scope_left:${e.eventId}`,
          actor: jiraActor(e.actor),
          sourceSystem: s.tracker,
          targetSystem: 'slack',
          before: { sync: 'active' },
          after: { sync: 'out_of_scope' },
          details: { eventId: e.eventId, reason: e.scope.reason },
          occurredAt: iso(e.occurredAtMs),
        },
      });
      effects.push({ kind: 'end' });
      continue;
    }

    const echo = echoOf(s, e);
    if (echo) {
      s = absorbEcho(s, e);
      effects.push({
        kind: 'audit',
        audit: {
          action: 'ticket.echo_dropped',
          step: `echo:${e.eventId}`,
          actor: jiraActor(e.actor),
          sourceSystem: s.tracker,
          outcome: 'skipped',
          details: { eventId: e.eventId, layer: echo, sourceType: e.sourceType },
          occurredAt: iso(e.occurredAtMs),
        },
      });
      continue;
    }

    const late = e.occurredAtMs < s.lastRepliedAtMs;
    const fields = s.rule?.fields ?? DEFAULT_MIRRORED_FIELDS;
    const lateNote = late ? { atMs: e.occurredAtMs } : undefined;
    switch (e.kind) {
      case 'issue_created':
        // The root is the creation's announcement.
        break;
      case 'issue_updated': {
        const visible = e.changes.filter((c) => fields.includes(c.field));
        if (visible.length === 0) break;
        if (group && group.actor?.id === e.actor?.id && group.late === late) {
          group.changes = mergeChanges(group.changes, visible);
          group.eventIds.push(e.eventId);
          if (e.changeId) group.changeIds.push(e.changeId);
        } else {
          flush();
          group = {
            actor: e.actor,
            firstEventId: e.eventId,
            atMs: e.occurredAtMs,
            late,
            eventIds: [e.eventId],
            changeIds: e.changeId ? [e.changeId] : [],
            changes: mergeChanges([], visible),
          };
        }
        replied(e.occurredAtMs);
        break;
      }
      case 'comment_created':
      case 'comment_updated':
      case 'comment_deleted': {
        flush();
        if (!fields.includes('comments') || !e.comment) break;
        const c: TicketComment = e.comment;
        const shownAs = s.mirrored.find((m) => m.commentId === c.id);
        if (e.kind === 'comment_created') {
          if (shownAs) break;
          effects.push({
            kind: 'reply',
            step: `comment:${c.id}`,
            purpose: 'tracker_comment',
            message: buildCommentReply(c, lateNote),
            mirrors: c.id,
            audit: {
              action: 'ticket.comment_mirrored',
              step: `comment:${c.id}`,
              actor: jiraActor(c.author ?? e.actor),
              sourceSystem: s.tracker,
              targetSystem: 'slack',
              details: { eventId: e.eventId, commentId: c.id, late },
              occurredAt: iso(e.occurredAtMs),
            },
          });
        } else {
          const change = e.kind === 'comment_updated' ? 'edited' : 'deleted';
          const audit: TicketAudit = {
            action: `ticket.comment_${change}_mirrored`,
            step: `${change}:${e.eventId}`,
            actor: jiraActor(e.actor ?? c.author),
            sourceSystem: s.tracker,
            targetSystem: 'slack',
            details: { eventId: e.eventId, commentId: c.id, inPlace: shownAs !== undefined },
            occurredAt: iso(e.occurredAtMs),
          };
          effects.push(
            shownAs
              ? {
                  kind: 'update_reply',
                  step: `${change}:${e.eventId}`,
                  ts: shownAs.ts,
                  message: buildMirroredComment(c, change),
                  audit,
                }
              : {
                  kind: 'reply',
                  step: `${change}:${e.eventId}`,
                  purpose: `tracker_comment_${change}`,
                  message: buildUnmirroredCommentReply(e.actor, c, change),
                  audit,
                },
          );
        }
        replied(e.occurredAtMs);
        break;
      }
      case 'issue_deleted':
        flush();
        s = { ...s, sync: 'deleted', syncNote: 'deleted in the tracker' };
        effects.push({
          kind: 'reply',
          step: 'deleted',
          purpose: 'tracker_deleted',
          message: buildDeletedReply(s.key, e.actor),
          audit: {
            action: 'ticket.deleted',
            step: 'deleted',
            actor: jiraActor(e.actor),
            sourceSystem: s.tracker,
            targetSystem: 'slack',
            before: { sync: 'active' },
            after: { sync: 'deleted' },
            details: { eventId: e.eventId },
            occurredAt: iso(e.occurredAtMs),
          },
        });
        effects.push({ kind: 'end' });
        break;
    }
  }
  flush();
  return { state: s, effects };
}

/** The generic answer to `/threadline status OPS-12`. */
export function ticketStatusSummary(subject: string, s: TicketThreadState, nowIso: string): SubjectStatus {
  const i = s.issue;
  const parts = [
    i.summary ?? '(no summary)',
    i.priority ?? undefined,
    i.assignee ? `assigned to ${i.assignee.name}` : i.assignee === null ? 'unassigned' : undefined,
    s.sync === 'active' ? undefined : s.sync === 'deleted' ? 'deleted' : 'sync stopped',
  ].filter(Boolean);
  return {
    subject,
    kind: 'ticket',
    status: i.status?.name ?? 'unknown',
    summary: `${i.key} · ${parts.join(' · ')}`,
    updatedAt: s.issueAtMs ? iso(s.issueAtMs) : nowIso,
    link: i.url,
  };
}
