import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ContinueAsNewOptions } from '../../platform/temporal/workflow/continue-as-new.js';
import type { TicketOwnerNotice, TicketPerson, TicketSnapshot } from '../tickets/contract.js';
import type { RankedCandidate, RoutingDecision } from './domain/routing.js';
import type { StatusMap } from './domain/rules.js';

/**
 * The assignment flow's wire contract (workflow id `assignment:<KEY>`, one per Jira issue that
 * needs an owner). History stores every type here: evolve fields additively, never rename.
 * People appear by Slack id, Jira account id and display name; never by email.
 */

/** `patched()` id: a handover in Slack sets the Jira assignee of a person the rules know (before: cleared it). */
export const HANDOVER_JIRA_ACCOUNT_PATCH = 'assignment-handover-jira-account';

export const ASSIGNMENT_STATUSES = [
  'unassigned',
  'routed',
  'claimed',
  'in_progress',
  'blocked',
  'reassigned',
  'closed',
] as const;
export type AssignmentStatus = (typeof ASSIGNMENT_STATUSES)[number];

/** Someone as the assignment knows them: the rules-file id when they are in a pool. */
export interface AssignmentPerson {
  person?: string;
  name: string;
  slack?: string;
  jira?: string;
}

/** Who owns the issue now, and whether Threadline's routing or a person put them there. */
export interface AssignmentOwner extends AssignmentPerson {
  by: 'threadline' | 'person';
  sinceMs: number;
  /** Who made a manual choice (a Jira account or a Slack user). */
  actor?: { kind: 'jira_user' | 'slack_user'; id?: string; name?: string };
}

/** The matched rule's knobs, copied from the decision that routed the issue (its version stays in force for it). */
export interface AssignmentPolicy {
  ruleId: string;
  ruleVersion: string;
  ackTimeoutMs: number;
  maxReassigns: number;
  lead?: AssignmentPerson;
  leadChannel?: string;
  reclaim: boolean;
  statuses: StatusMap;
  /** The pools a person may choose when reassigning (the reassign modal). */
  pools?: string[];
}

/** The person the issue is routed to and waiting for (their DM carries `attempt` in its buttons). */
export interface CurrentRouting {
  attempt: number;
  decisionId: string;
  person: string;
  name: string;
  slack: string;
  jira: string;
  routedAtMs: number;
  dm?: { channel: string; ts: string };
}

export interface AssignmentState {
  key: string;
  /** The Jira site (host) the issue lives on: loads and reconciliation are per site. */
  site: string;
  status: AssignmentStatus;
  /** The newest snapshot the ticket thread sent (by event time). */
  issue: TicketSnapshot;
  issueAtMs: number;
  thread?: { channel: string; ts: string };
  /** Routing attempts that chose someone (1 = the first person). */
  attempt: number;
  /** Decisions asked for (each has its own id, so a retried activity returns the same one). */
  decisions: number;
  current?: CurrentRouting;
  owner?: AssignmentOwner;
  policy?: AssignmentPolicy;
  /** People not to route to again, with why (declined, let it time out). */
  excluded: { person: string; why: string }[];
  /** Ack timeouts so far (the cap counts these). */
  timeouts: number;
  /** Handed to the lead: routing stops until a person assigns it. */
  escalated: boolean;
  /** A person's manual choice: Threadline does not route this issue again (unless the rule reclaims). */
  overridden: boolean;
  /** Routing switched off by a feature flag (`assignment`): since when, and by which scope. */
  paused?: { scope: string; reason: string; sinceMs: number; checkedAtMs: number };
  /** The last assignee write Threadline made in Jira. */
  jiraWrite?: { accountId: string | null; outcome: 'ok' | 'failed'; atMs: number; error?: string };
  closedReason?: string;
  /** Tracker event identities, reconcile finding ids and interaction ids applied (bounded). */
  seenIds: string[];
  createdAtMs: number;
  version: number;
}

/** Jira's side of one owned issue, as a reconciliation run read it. */
export interface JiraAssignmentFacts {
  key: string;
  assignee: TicketPerson | null;
  status: { id?: string; name: string; category: 'new' | 'indeterminate' | 'done' | 'unknown' };
}

/** Wire name `assignmentReconcile`: what reconciliation found for one issue (the workflow repairs it). */
export interface ReconcileFinding {
  /** `<reconcile run id>:<KEY>`: a re-sent finding is applied once. */
  findingId: string;
  runId: string;
  jira: JiraAssignmentFacts;
  observedAtMs: number;
}

/** A click or a modal submission, applied synchronously by the update handler; its I/O runs in the main loop. */
export type AssignmentEffect =
  | { kind: 'accepted'; user: string; interactionId: string }
  | {
      kind: 'declined';
      user: string;
      interactionId: string;
      reason: string;
      pool?: string;
      /** A person chosen in the modal instead of routing (a manual handoff from Slack). */
      handTo?: string;
    };

export type AssignmentWork =
  { kind: 'notice'; notice: TicketOwnerNotice } | { kind: 'reconcile'; finding: ReconcileFinding } | AssignmentEffect;

export interface AssignmentWorkflowInput extends ContinueAsNewOptions {
  key: string;
  site: string;
  opsChannel: string;
  /** While the `assignment` flag is off, routing is retried this often (and on every ticket event). */
  flagRecheckMs: number;
  /** The Slack workspace the issue's thread lives in (feature-flag scope). */
  workspace?: string;
  /** Set by continue-as-new. */
  carried?: AssignmentState;
  pending?: AssignmentWork[];
}

export interface AssignmentWorkflowResult {
  key: string;
  status: AssignmentStatus;
  owner?: AssignmentPerson;
}

/** Input of the `routeAssignment` activity. */
export interface RouteRequest {
  decisionId: string;
  key: string;
  site: string;
  issue: TicketSnapshot;
  excluded: { person: string; why: string }[];
  pool?: { pool: string; by: string };
  scope: { project: string; channel?: string; workspace?: string };
}

/** The activity's answer: a decision (stored under its id), or routing switched off for this issue. */
export type RouteAnswer =
  | { outcome: 'disabled'; scope: string; reason: string }
  | { outcome: 'decided'; decision: RoutingDecision; policy: AssignmentPolicy };

export type { RankedCandidate, RoutingDecision };

/** Input of `assignmentReconcileWorkflow` (started by its Temporal Schedule). */
export interface AssignmentReconcileInput {
  site: string;
  /** Jira issues per enhanced-search page. */
  pageSize: number;
  /** At most this many open assignments are compared per run (the oldest keys first). */
  maxIssues: number;
}

export interface ReconcileCounts {
  /** Open assignments compared. */
  owned: number;
  /** Jira pages read. */
  pages: number;
  /** Issues with at least one difference. */
  drifted: number;
  /** Findings handed to running assignments. */
  signalled: number;
  /** Owned issues Jira no longer returns, or whose assignment is no longer running. */
  orphaned: number;
  byField: Record<string, number>;
}

/** Wire name `assignmentNotice`: the ticket thread's news about the issue. Deduplicated by its event ids. */
export const assignmentNoticeSignal = defineSignal<[TicketOwnerNotice]>('assignmentNotice');
/** Wire name `assignmentReconcile`. Deduplicated by `findingId`. */
export const assignmentReconcileSignal = defineSignal<[ReconcileFinding]>('assignmentReconcile');
/** Wire name `assignmentState`. */
export const assignmentStateQuery = defineQuery<AssignmentState>('assignmentState');

/** Verbs (`tl:<verb>` action ids): the DM's buttons and the reason modal. */
export const ASSIGNMENT_VERBS = {
  accept: 'assignment.accept',
  reassign: 'assignment.reassign',
  reassignReason: 'assignment.reassign_reason',
} as const;

/** Workflow id of an issue's assignment: a business key, so ticket events and clicks find the same one. Never change it. */
export const assignmentWorkflowId = (key: string): string => `assignment:${key}`;
/** Workflow id prefix of the reconciliation runs (the Schedule appends its time); one schedule per task queue. */
export const assignmentReconcileWorkflowId = (taskQueue: string): string => `assignment:reconcile-${taskQueue}`;
/** The Schedule's id. */
export const assignmentReconcileScheduleId = (taskQueue: string): string => `assignment-reconcile-${taskQueue}`;
/** The audit subject of reconciliation runs (their per-issue repairs are on `ticket:<KEY>`). */
export const RECONCILE_SUBJECT = 'assignment:reconcile';
