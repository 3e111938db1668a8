import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ContinueAsNewOptions } from '../../platform/temporal/workflow/continue-as-new.js';

/**
 * The approval flow's wire contract (workflow id `approval:<approvalId>`). History stores every
 * type here: evolve fields additively (new optional fields), never rename.
 */

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

/** One step of the policy: who may decide, and how many approvals it needs. */
export interface ApprovalLevelSpec {
  /** Slack user ids or emails, as given (resolved by the workflow). */
  approvers: string[];
  /** Approvals needed at this level (N of M); 1 = any one approver. */
  required: number;
}

/** Who is told and who gains authority when `escalateAfterMs` passes without a decision. */
export interface ApprovalEscalationSpec {
  approvers: string[];
  channel?: string;
}

export interface ApprovalSla {
  remindAfterMs?: number;
  escalateAfterMs?: number;
  expireAfterMs: number;
}

/** A request as the API (or the Slack modal) accepted it. */
export interface ApprovalRequestSpec {
  approvalId: string;
  title: string;
  description?: string;
  fields: { label: string; value: string }[];
  /** Slack user id or email, as given. */
  requester: string;
  /** Sequential levels; level 1 is the request's `approvers`. */
  levels: ApprovalLevelSpec[];
  escalation?: ApprovalEscalationSpec;
  /** Channel to post in as well as DMing the approvers. */
  channel?: string;
  sla: ApprovalSla;
  /** Where to POST the decision (signed by the activity; the secret never enters history). */
  callbackUrl?: string;
  /** `api` (POST /v1/approvals) or `slack` (the /threadline approval modal). */
  source: 'api' | 'slack';
  /** The API key's fingerprint or the Slack user who filed it. */
  createdBy: string;
  /** ISO time the request was accepted. */
  receivedAt: string;
}

/** Process-level knobs from config (workflows never read config). */
export interface ApprovalRuntimePolicy {
  /** After the outcome, stay open this long so late clicks get "already decided by …". */
  decidedGraceMs: number;
  callback: { maxAttempts: number; initialIntervalMs: number; maximumIntervalMs: number };
}

export interface ApprovalWorkflowInput extends ContinueAsNewOptions {
  request: ApprovalRequestSpec;
  runtime: ApprovalRuntimePolicy;
  /** Set by continue-as-new. */
  carried?: ApprovalState;
}

export interface ApprovalVote {
  user: string;
  decision: 'approve' | 'reject';
  at: string;
  level: number;
  reason?: string;
}

export interface ApprovalTimelineEntry {
  at: string;
  /** `created`, `posted`, `approved_vote`, `level_advanced`, `reminded`, `escalated`, `decided`, `expired`, `cancelled`, `callback_delivered`, `callback_failed`, `comment`. */
  kind: string;
  actor?: string;
  summary: string;
}

export interface ApprovalMessageRef {
  channel: string;
  ts: string;
  /** `channel`, `dm`, `escalation`. */
  purpose: string;
  /** For DMs: the recipient. */
  user?: string;
}

/** Everything the workflow knows; the query result and the continue-as-new carry. */
export interface ApprovalState {
  approvalId: string;
  status: ApprovalStatus;
  /** `resolving` until users are resolved; `invalid` when they could not be (the request never opened). */
  phase: 'resolving' | 'open' | 'closed' | 'invalid';
  problems?: { field: string; message: string }[];
  title: string;
  requesterId?: string;
  /** Resolved Slack ids per level. */
  levels: { approvers: string[]; required: number }[];
  escalationApprovers: string[];
  escalationChannel?: string;
  /** 0-based index of the level now deciding. */
  currentLevel: number;
  votes: ApprovalVote[];
  reminded: boolean;
  escalated: boolean;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  messages: ApprovalMessageRef[];
  callback?: { status: 'pending' | 'delivered' | 'failed'; attempts?: number; error?: string };
  /** Slack event ids of thread messages already applied: the newest SLACK_EVENT_ID_LIMIT only. */
  processedEventIds: string[];
  createdAtMs: number;
  /** Workflow time the outcome was applied and announced; the decided-grace period counts from it. */
  closedAtMs?: number;
  /** The newest TIMELINE_LIMIT entries; every transition also has its row in Postgres' `audit_log`. */
  timeline: ApprovalTimelineEntry[];
  /** Entries dropped from the front of `timeline` to keep state bounded. */
  timelineDropped?: number;
  version: number;
}

export interface ApprovalWorkflowResult {
  approvalId: string;
  status: ApprovalStatus | 'invalid';
}

/** What creation answers once the participants are resolved (or found unknown). */
export type ApprovalReadyResult =
  { ok: true; status: ApprovalStatus } | { ok: false; problems: { field: string; message: string }[] };

/** Body POSTed to `callbackUrl` (also what the signature covers, byte for byte). */
export interface ApprovalCallbackBody {
  type: 'approval.decided';
  deliveryId: string;
  approvalId: string;
  status: ApprovalStatus;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
  votes: ApprovalVote[];
}

export interface DeliverCallbackInput {
  url: string;
  /** JSON text, signed as is. */
  body: string;
  deliveryId: string;
}

export interface DeliverCallbackResult {
  status: number;
  attempt: number;
}

/**
 * Wire name `approvalReady`: sent with the start (`executeUpdateWithStart`) so `POST /v1/approvals`
 * can answer 400 for unknown approvers without the API calling Slack itself.
 */
/** `patched()` ids of approvalWorkflow: each marks a change of its command sequence (replay of older runs). */
export const APPROVAL_PATCHES = {
  /**
   * Participant resolution and every audit row as local activities: the create answers after one
   * workflow task instead of three, and each step's audit row costs no activity task.
   */
  leanBookkeeping: 'approval-lean-bookkeeping',
} as const;

export const approvalReadyUpdate = defineUpdate<ApprovalReadyResult>('approvalReady');
/** Wire name `cancelApproval`: `DELETE /v1/approvals/:id`. Returns the status after the call. */
export const cancelApprovalUpdate = defineUpdate<
  { cancelled: boolean; status: ApprovalStatus },
  [{ by: string; reason?: string }]
>('cancelApproval');
/** Wire name `approvalState`. */
export const approvalStateQuery = defineQuery<ApprovalState>('approvalState');

/** Workflow id of a request. History and Slack buttons store it: never change the format. */
export const approvalWorkflowId = (approvalId: string): string => `approval:${approvalId}`;
