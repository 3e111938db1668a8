import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { SlackThreadEvent } from '../../platform/slack/contract.js';

/**
 * The ticket thread's wire contract. History stores every type here: evolve fields additively
 * (new optional fields), never rename. Tracker-neutral: Jira is the first tracker adapter
 * (`src/integrations/jira`), and nothing here knows Jira's wire format.
 *
 * Deliberately free of emails: people are a tracker account id and a display name.
 */

/** Status categories every tracker maps onto (Jira's `statusCategory.key`). */
export type TicketStatusCategory = 'new' | 'indeterminate' | 'done' | 'unknown';

/** A person in the tracker: their account id and display name. */
export interface TicketPerson {
  id: string;
  name: string;
}

/** Fields a sync rule may mirror (plus `comments`). */
export const TICKET_FIELDS = [
  'status',
  'assignee',
  'priority',
  'summary',
  'issuetype',
  'labels',
  'components',
  'description',
] as const;
export type TicketField = (typeof TICKET_FIELDS)[number];
/** What a sync rule can mirror into the thread. */
export type MirroredField = TicketField | 'comments';

/** What the thread root shows, as of one event. Absent fields were not in that event. */
export interface TicketSnapshot {
  key: string;
  id: string;
  project: string;
  /** Browse URL for people (`https://site/browse/KEY`). */
  url?: string;
  summary?: string;
  type?: string;
  priority?: string | null;
  status?: { id?: string; name: string; category: TicketStatusCategory };
  assignee?: TicketPerson | null;
  labels?: string[];
  components?: string[];
}

/** One changed field, from the tracker's changelog (strings as the tracker renders them). */
export interface TicketFieldChange {
  field: TicketField;
  from: string | null;
  to: string | null;
  /** Tracker ids (status id, account id) when the tracker gives them. */
  fromId?: string | null;
  toId?: string | null;
}

export interface TicketComment {
  id: string;
  author?: TicketPerson;
  /** Plain text (trimmed to a few KB). */
  body: string;
  /** The tracker's own timestamps, as given (the write ledger compares them verbatim). */
  created?: string;
  updated?: string;
}

export type TicketEventKind =
  'issue_created' | 'issue_updated' | 'issue_deleted' | 'comment_created' | 'comment_updated' | 'comment_deleted';

/** Whether an event's issue is inside the sync configuration, decided by the webhook route. */
export type TicketScope =
  | { state: 'in'; ruleId: string; channel: string; fields: MirroredField[] }
  | { state: 'out'; reason: string }
  /** The event lacks fields a rule filters on (comment events carry a trimmed issue). */
  | { state: 'unknown' };

/** One tracker event, as the workflow sees it. */
export interface TicketEvent {
  /**
   * The event's identity, the same for every delivery of one change: both deliveries of a comment
   * (`comment_created` and `issue_updated/issue_commented`) share it, so the workflow dedups on it.
   */
  eventId: string;
  tracker: string;
  kind: TicketEventKind;
  /** The tracker's event time (ms): replies and the root follow it, not arrival order. */
  occurredAtMs: number;
  /** Who made the change (the loop filter compares it with our own account). */
  actor?: TicketPerson;
  issue: TicketSnapshot;
  /** True when `issue` carries every field a rule may filter on (labels, components). */
  complete: boolean;
  changes: TicketFieldChange[];
  /** The tracker's changelog id, when the event has one. */
  changeId?: string;
  comment?: TicketComment;
  /** The tracker's own event name, e.g. `jira:issue_updated/issue_generic` (audit, metrics). */
  sourceType: string;
  scope: TicketScope;
}

/** Who filed a ticket from Slack (`/ticket`), handed to the ticket's thread. */
export interface TicketFiledNotice {
  requestId: string;
  issue: TicketSnapshot;
  channel: string;
  requestedBy: string;
  ruleId: string;
  fields: MirroredField[];
}

/** A Slack person as the thread knows them (no email in history). */
export interface TicketSlackPerson {
  user: string;
  name: string;
  teamId?: string;
  /** Their tracker account, matched by email, when there is one. */
  trackerAccountId?: string;
}

/**
 * Every write Threadline made, so its echo is recognised however and whenever it comes back
 * (layer 2 of loop prevention; layer 1 is the actor filter). Bounded lists, carried across
 * continue-as-new.
 */
export interface TicketWriteLedger {
  /** Tracker comments we wrote (from Slack replies): the `updated` stamps of each of our writes. */
  comments: { id: string; slackTs: string; stamps: string[]; deleted?: boolean }[];
  /** Status transitions we made (✅). `changeId` is the changelog that echoed it, once seen. */
  transitions: { toStatusId?: string; toStatus: string; atMs: number; changeId?: string }[];
  /** Slack messages we posted in the thread (root and replies). */
  posted: string[];
}

export type TicketSyncState = 'active' | 'deleted' | 'out_of_scope';

/** Everything the workflow knows; carried across continue-as-new and saved as the DB snapshot. */
export interface TicketThreadState {
  key: string;
  tracker: string;
  /** What the root shows: the newest snapshot by event time. */
  issue: TicketSnapshot;
  /** Event time (ms) of the newest snapshot applied: an older event never overwrites the root. */
  issueAtMs: number;
  root?: { channel: string; ts: string };
  /** The channel the root goes to (from the sync rule, or where `/ticket` was run). */
  channel?: string;
  rule?: { id: string; fields: MirroredField[] };
  sync: TicketSyncState;
  /** Why sync stopped (shown in the root). */
  syncNote?: string;
  filedBy?: string;
  /** Newest event time already replied for: a reply for an older event says it is late. */
  lastRepliedAtMs: number;
  /** Tracker event identities and Slack event ids applied (bounded). */
  seenEventIds: string[];
  ledger: TicketWriteLedger;
  /** A person's tracker comment → our Slack reply that mirrors it (edits update it in place). */
  mirrored: { commentId: string; ts: string }[];
  people: TicketSlackPerson[];
  /** Our own tracker account (the actor filter). */
  selfAccountId?: string;
  /** Bumped per applied change (snapshot ordering, root update keys). */
  version: number;
}

/** Input of `ticketWorkflow` (wire id `ticket:<KEY>`). */
export interface TicketWorkflowInput {
  key: string;
  /** Tracker events within this window are ordered by their own time and bursts merged into one reply. */
  mergeWindowMs: number;
  /** A deleted Slack reply deletes its tracker comment, or marks it deleted. */
  slackDeleteMode: 'delete' | 'mark';
  /** Where permanent tracker failures are announced. */
  opsChannel: string;
  /** Tell the issue's assignment (`TicketOwnerActivities`) about creation, assignee and status changes. */
  tellsOwner?: boolean;
  /** Test hook: continue as new once this run's history holds this many events. */
  continueAsNewAfterEvents?: number;
  /** Set by continue-as-new. */
  carried?: TicketThreadState;
  /** Signals received but not yet applied when the run continued as new. */
  pending?: TicketPending;
}

export interface TicketPending {
  tracker: { event: TicketEvent; arrivedAtMs: number }[];
  slack: SlackThreadEvent[];
  filed: TicketFiledNotice[];
}

export interface TicketWorkflowResult {
  key: string;
  sync: TicketSyncState;
}

/** Input of `ticketRequestWorkflow` (wire id `ticket:new-<id>`): `/ticket` or its modal. */
export interface TicketRequestInput {
  requestId: string;
  project: string;
  ruleId: string;
  channel: string;
  summary: string;
  issueType: string;
  priority?: string;
  labels?: string[];
  components?: string[];
  requestedBy: string;
  /** What the thread mirrors (from the rule). */
  fields: MirroredField[];
  opsChannel: string;
}

export interface TicketRequestResult {
  key?: string;
  error?: string;
}

/** One assignee or status change a ticket thread saw, as the issue's assignment needs it. */
export interface TicketOwnerChange {
  eventId: string;
  field: 'assignee' | 'status';
  from: string | null;
  to: string | null;
  /** Tracker ids (account id, status id). */
  fromId?: string | null;
  toId?: string | null;
  actor?: TicketPerson;
  /** Made by Threadline's own tracker account (our own write coming back). */
  byUs: boolean;
  atMs: number;
}

/**
 * What a ticket thread tells the issue's assignment (src/flows/assignment) after each batch of
 * tracker events that created the issue, changed its assignee or status, or deleted it. The
 * assignment dedups on `eventIds`; `issue` is the thread's newest snapshot (by event time).
 */
export interface TicketOwnerNotice {
  key: string;
  tracker: string;
  eventIds: string[];
  issue: TicketSnapshot;
  issueAtMs: number;
  thread?: { channel: string; ts: string };
  /** The batch held the issue's creation. */
  created: boolean;
  deleted: boolean;
  changes: TicketOwnerChange[];
}

/**
 * The activity a ticket thread calls with its `TicketOwnerNotice`. Implemented by the assignment
 * flow (src/flows/assignment/activities.ts), which starts or signals the issue's assignment; the
 * ticket flow only knows this contract.
 */
export interface TicketOwnerActivities {
  tellTicketOwner(notice: TicketOwnerNotice): Promise<void>;
}

/** The feature flag that switches ticket sync per project, channel and workspace (src/platform/flags). */
export const TICKET_SYNC_FLAG = 'ticket_sync';

/** Patch ids of the ticket workflow (docs/architecture.md, "Versioning workflows"): never rename. */
export const TICKET_PATCHES = {
  /** The thread tells the issue's assignment about creation, assignee and status changes. */
  tellsOwner: 'ticket-tells-assignment',
  /**
   * The thread's snapshot (save and load), its audit rows and the Slack person lookups as local
   * activities: each costs no activity task and no extra workflow task.
   */
  leanBookkeeping: 'ticket-lean-bookkeeping',
} as const;

/** Wire name `ticketEvent`: one tracker event. Deduplicated by `eventId` in workflow state. */
export const ticketEventSignal = defineSignal<[TicketEvent]>('ticketEvent');
/** Wire name `ticketFiled`: the ticket was filed from Slack; its thread goes to that channel. */
export const ticketFiledSignal = defineSignal<[TicketFiledNotice]>('ticketFiled');
/** Wire name `ticketState`. */
export const ticketStateQuery = defineQuery<TicketThreadState>('ticketState');

/** Tracker issue keys: `OPS-12`. */
export const ISSUE_KEY_PATTERN = /^[A-Z][A-Z0-9_]{0,49}-[1-9]\d{0,9}$/;

/** Workflow id of a ticket's thread: a business key, so webhooks and Slack find the same one. Never change it. */
export const ticketWorkflowId = (key: string): string => `ticket:${key}`;
/** Workflow id of a `/ticket` request (it files the issue, then hands over to `ticket:<KEY>`). */
export const ticketRequestWorkflowId = (requestId: string): string => `ticket:new-${requestId}`;
