import type { TicketEvent, TicketPerson, TicketSnapshot, TicketStatusCategory } from './contract.js';

/**
 * The tracker boundary (Jira is the first adapter: `src/integrations/jira`). The webhook route
 * and the activities speak only these types; the adapter owns the wire format (v2 webhook
 * bodies, ADF, transitions, error codes). A second tracker is a new adapter, never a workflow change.
 */

export type TrackerSignatureCheck =
  { ok: true } | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'bad_signature' };

export type ParsedTrackerWebhook =
  /** An event the ticket flow handles; the route adds its scope. */
  | { kind: 'event'; event: Omit<TicketEvent, 'scope'> }
  /** Well-formed, but not an event we handle (ack 200, no effect). */
  | { kind: 'ignored'; sourceType: string }
  /** Malformed: the message names the offending field. */
  | { kind: 'invalid'; message: string };

type Headers = Record<string, string | string[] | undefined>;

/** Inbound: what the webhook route needs from a tracker. Pure (no I/O). */
export interface TrackerWebhookAdapter {
  readonly name: string;
  /** Header carrying the signature (for error messages). */
  readonly signatureHeader: string;
  verify(input: { secret: string; rawBody: Buffer; headers: Headers }): TrackerSignatureCheck;
  /** The delivery's stable id (same across retries), or undefined when absent or malformed. */
  deliveryId(headers: Headers): string | undefined;
  parse(body: unknown): ParsedTrackerWebhook;
}

/** Where a comment we write came from (stored on the comment: the origin marker). */
export interface CommentOrigin {
  system: 'slack';
  team?: string;
  channel: string;
  ts: string;
  user: string;
}

/** A comment as we write it: the person's words and who said them. */
export interface CommentDraft {
  text: string;
  author: { name: string; trackerAccountId?: string };
  /** A line saying the reply was deleted in Slack (mark mode). */
  deletedNote?: boolean;
}

export interface WrittenComment {
  id: string;
  /** The tracker's `updated` stamp of this write, verbatim (its echo carries the same). */
  updated: string;
}

export interface TrackerStatus {
  id?: string;
  name: string;
  category: TicketStatusCategory;
}

export type DoneTransition =
  | { outcome: 'transitioned'; from: TrackerStatus; to: TrackerStatus; transitionId: string }
  | { outcome: 'already_done'; status: TrackerStatus }
  | { outcome: 'no_done_transition'; status: TrackerStatus; available: string[] };

export interface NewTicket {
  project: string;
  summary: string;
  issueType: string;
  priority?: string;
  labels?: string[];
  components?: string[];
  /** Plain text. */
  description: string;
  /** Stamped on the issue so a retried create finds the first one instead of filing twice. */
  requestId: string;
}

/**
 * Outbound: the calls the ticket flow makes. Implementations throw `ApplicationFailure`s already
 * classified (rate limited with Retry-After, permanent, auth, transient), so activity retry
 * policies work unchanged for any tracker.
 */
export interface TrackerClient {
  readonly name: string;
  /** Our own account (the actor filter of loop prevention). */
  self(): Promise<TicketPerson>;
  /** The account with exactly this email, when the tracker lets us see it. */
  findPersonByEmail(email: string): Promise<TicketPerson | undefined>;
  addComment(input: { key: string; draft: CommentDraft; origin: CommentOrigin }): Promise<WrittenComment>;
  /** A comment stamped with this origin (a retried add after an ambiguous failure). */
  findCommentByOrigin(input: { key: string; origin: CommentOrigin }): Promise<WrittenComment | undefined>;
  updateComment(input: { key: string; commentId: string; draft: CommentDraft }): Promise<WrittenComment>;
  deleteComment(input: { key: string; commentId: string }): Promise<void>;
  /** Moves the issue to a status in the done category, chosen from the issue's own transitions. */
  transitionToDone(input: { key: string }): Promise<DoneTransition>;
  createIssue(input: NewTicket): Promise<TicketSnapshot>;
  /** An issue an earlier attempt of the same request filed. */
  findIssueByRequest(input: { project: string; requestId: string }): Promise<TicketSnapshot | undefined>;
}
