import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The hierarchy flow's wire contract: one long-lived workflow per person (`orgchannel:<personId>`)
 * delivers that person's notifications, in order, into their private channel, reconciling its
 * membership with the person and their reporting chain before every post. History stores every
 * type here: evolve fields additively, never rename.
 */

/** A notification as `POST /v1/notifications` accepted it. */
export interface OrgNotification {
  notificationId: string;
  personId: string;
  includeReportingChain: boolean;
  title?: string;
  text: string;
  fields?: { label: string; value: string }[];
  /** API key fingerprint. */
  requestedBy: string;
  receivedAt: string;
}

/** Process-level knobs from config (workflows never read config). */
export interface PersonChannelPolicy {
  /** e.g. `team-{person}`; sanitized into a Slack channel name. */
  channelNamePattern: string;
  /** A notification that could not be delivered is tried again after this long. */
  retryAfterMs: number;
  /** With nothing queued for this long the workflow closes; the next notification starts it again. */
  idleCloseAfterMs: number;
}

export interface PersonChannelInput {
  personId: string;
  policy: PersonChannelPolicy;
  /** Test hook: continue as new once this run's history has this many events (unset: the server's suggestion). */
  continueAsNewAfterEvents?: number;
  /** Set by continue-as-new. */
  carried?: PersonChannelState;
}

/** Everything the workflow knows; the query answer and the continue-as-new carry. Bounded. */
export interface PersonChannelState {
  personId: string;
  channel?: { id: string; name: string };
  /** Waiting notifications, oldest first; the head blocks the rest until it is delivered (order per person). */
  queue: OrgNotification[];
  /** Delivered notification ids, newest last (bounded: the API's ledger is the durable dedup). */
  delivered: string[];
  /**
   * Membership problems already reported to the ops channel (`<user>:<op>:<error>`), so a
   * deactivated manager is reported once, not on every post; cleared when the problem goes away.
   */
  reportedProblems: string[];
  /** The head's failed attempts (0 when it is new). */
  headAttempts: number;
  deliveredCount: number;
}

/** Who should see a person's channel, from one closure-table query. */
export interface ResolvedAudience {
  personExists: boolean;
  /** Slack users expected in the channel: the person and (if asked) every active ancestor with a Slack user. */
  expected: string[];
  /** People of the audience left out (inactive, or no Slack user), for the audit row. */
  leftOut: { personId: string; reason: 'inactive' | 'no_slack_user' }[];
}

export interface EnsureChannelInput {
  personId: string;
  name: string;
  /** A channel found archived or gone: do not reuse it. */
  stale?: string;
}

export interface EnsuredChannel {
  id: string;
  name: string;
  created: boolean;
}

export interface MembershipProblem {
  user: string;
  op: 'invite' | 'remove';
  /** Slack's error code (user_not_found, cant_invite, restricted_action, …). */
  error: string;
}

export interface ReconcileResult {
  /** The channel is archived, deleted, or the bot is no longer in it: make a new one. */
  channelGone: boolean;
  added: string[];
  removed: string[];
  /** What Slack refused, person by person (the post goes on). */
  problems: MembershipProblem[];
  members: number;
}

export interface NotificationOutcome {
  notificationId: string;
  personId: string;
  status: 'delivered' | 'undelivered';
  channel?: string;
  ts?: string;
  members?: number;
  error?: string;
}

/** Wire name `orgNotification`. Signals are not deduplicated by Temporal: the workflow keeps ids. */
export const orgNotificationSignal = defineSignal<[OrgNotification]>('orgNotification');
/** Wire name `personChannelState`. */
export const personChannelStateQuery = defineQuery<PersonChannelState>('personChannelState');

/** Workflow id of a person's channel; history stores it: never change the format. */
export const personChannelWorkflowId = (personId: string): string => `orgchannel:${personId}`;
/** The audit subject of a person's org record. */
export const orgPersonSubject = (personId: string): string => `orgperson:${personId}`;
