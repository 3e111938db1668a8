import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ContinueAsNewOptions } from '../../platform/temporal/workflow/continue-as-new.js';

/**
 * The alerts flow's wire contract: the alert lifecycle (`alert:<alertId>`, one workflow per
 * Alertmanager fingerprint or generic dedup key) and ChatOps action runs (`chatops:<runId>`).
 * History stores every type here: evolve fields additively (new optional fields), never rename.
 */

/** `patched()` id: a resolve for an occurrence never seen firing is remembered (before: dropped), so its late firing is stale. */
export const ALERT_UNSEEN_RESOLVE_PATCH = 'alert-unseen-resolve';

/** Where an alert came from: Alertmanager's webhook, or `POST /v1/alerts`. */
export type AlertSource = 'alertmanager' | 'api';
export type AlertStatus = 'firing' | 'acknowledged' | 'resolved';

/** What the card shows about an alert (labels and annotations as the monitoring system sent them). */
export interface AlertDetails {
  /** `alertmanager`, or the generic caller's `source` (e.g. `datadog`). */
  origin: string;
  title: string;
  summary: string;
  description?: string;
  /** Lower-cased severity (`critical`, `error`, `warning`, `info`, or whatever the source says). */
  severity: string;
  labels: Record<string, string>;
  links: { text: string; url: string }[];
}

// ─── On-call schedules and escalation policies, frozen into each occurrence ──────────────────

export interface ShiftLength {
  unit: 'hour' | 'day' | 'week';
  count: number;
}

/** One rotation layer: `people` take turns, each for `shift`, handing off at `start`'s local time. */
export interface RotationSpec {
  people: string[];
  /** Local wall time of the first handoff in the schedule's zone, `YYYY-MM-DDTHH:mm`. */
  start: string;
  shift: ShiftLength;
}

/** `user` is on call instead of the rotation from `fromMs` (inclusive) to `toMs` (exclusive). */
export interface OverrideSpec {
  user: string;
  fromMs: number;
  toMs: number;
}

export interface ScheduleSpec {
  name: string;
  /** IANA zone, e.g. `Europe/Berlin`. */
  timeZone: string;
  /** Layers: a later rotation that has someone on call wins over an earlier one. */
  rotations: RotationSpec[];
  /** Overrides win over every rotation; a later override wins over an earlier one. */
  overrides: OverrideSpec[];
}

export type EscalationTarget =
  { kind: 'user'; user: string } | { kind: 'schedule'; schedule: string } | { kind: 'channel'; channel: string };

export interface EscalationStepSpec {
  /** How long this step waits for an acknowledgement before the next step is notified. */
  delayMs: number;
  targets: EscalationTarget[];
}

/**
 * An escalation policy as it was when the occurrence fired (PagerDuty semantics: a policy edit
 * never rewrites a running escalation). The schedules its steps name are frozen with it.
 */
export interface FrozenPolicy {
  name: string;
  steps: EscalationStepSpec[];
  /** How many more times the whole policy runs after its last step (0 = once). */
  repeat: number;
  /** An acknowledged but unresolved alert re-triggers (back to step 1) after this long. */
  ackTimeoutMs?: number;
  schedules: Record<string, ScheduleSpec>;
}

/** The routing decision the API made when the occurrence fired. */
export interface AlertRoute {
  /** Which rule matched: `route:<name>`, `team:<team>` or `default`. */
  rule: string;
  /** The channel the card goes to (absent for incoming-webhook routes). */
  channel?: string;
  /** An incoming-webhook target's name (its URL is a secret the activity looks up). */
  webhook?: string;
  policy?: FrozenPolicy;
  /** Whether the card has a Resolve button (generic alerts always; Alertmanager when configured). */
  resolvable: boolean;
  /** Who may act besides the people paged: the channel's members, and these users (configured groups). */
  entitlement: { channelMembers: boolean; users: string[]; groups: string[] };
}

/** One notification for an alert, handed to its workflow by the webhook or the API. */
export interface AlertNotification {
  /** Dedup id (also the ledger's event id): the workflow ignores ids it has processed. */
  eventId: string;
  status: 'firing' | 'resolved';
  /** Alertmanager: `<fingerprint>@<startsAt>`, stable while the alert fires. Generic alerts: none. */
  occurrenceId?: string;
  /** ISO time the source says the alert started. */
  startsAt: string;
  /** ISO time we received it. */
  receivedAt: string;
  /** Set on firing notifications. */
  details?: AlertDetails;
  route?: AlertRoute;
  /** Who resolved it through the API (the key's fingerprint). */
  resolvedBy?: string;
}

export interface AlertRuntime extends ContinueAsNewOptions {
  /** A resolved alert stays open this long for a re-fire before the run closes (a later one restarts it). */
  reopenWindowMs: number;
}

export interface AlertWorkflowInput {
  /** `am:<fingerprint>` or `ext:<dedup key>`. */
  alertId: string;
  source: AlertSource;
  runtime: AlertRuntime;
  carried?: AlertState;
  /** Notifications accepted but not yet applied when the previous run continued as new. */
  pending?: AlertNotification[];
}

export interface AlertEscalationState {
  /** 0-based index of the step last notified. */
  step: number;
  /** 0-based pass through the policy (repeats). */
  loop: number;
  /** Workflow time the next step is due (absent: nothing more to escalate). */
  nextAtMs?: number;
  /** Workflow time an acknowledgement times out. */
  ackTimeoutAtMs?: number;
  /** Times an ack timeout re-triggered this occurrence. */
  retriggers: number;
  /** Notification counter (idempotency keys of pages). */
  pages: number;
}

export interface AlertOccurrence {
  /** 1-based: the flap counter is `n - 1`. */
  n: number;
  occurrenceId?: string;
  startsAtMs: number;
  firedAtMs: number;
  route: AlertRoute;
  ack?: { by: string; atMs: number };
  resolved?: { by: string; via: 'alertmanager' | 'slack' | 'api'; atMs: number };
  escalation?: AlertEscalationState;
  /** Everyone paged in this occurrence (they may act on it). */
  paged: string[];
  /** Members of the route's channel, when that entitles (fetched once per occurrence, bounded). */
  channelMembers: string[];
  membersLoaded: boolean;
  /** Who was last paged and why (shown on the card). */
  lastPage?: { step: number; loop: number; users: string[]; channels: string[]; unstaffed: string[] };
}

/** A copy of the card with buttons: the root, a DM to a paged person, or a post in a paged channel. */
export interface AlertMessageRef {
  channel: string;
  ts: string;
  purpose: 'dm' | 'channel_copy';
  /** The person DMed, or the channel as configured. */
  target: string;
}

export interface AlertTimelineEntry {
  at: string;
  /** `fired`, `refired`, `acknowledged`, `escalated`, `ack_timeout`, `resolved`, `comment`, `closed`. */
  kind: string;
  occurrence: number;
  actor?: string;
  summary: string;
}

/** Everything the workflow knows: the query result, the DB snapshot and the continue-as-new carry. */
export interface AlertState {
  alertId: string;
  source: AlertSource;
  status: AlertStatus;
  details?: AlertDetails;
  /** Occurrences so far (the card says "fired N times"). */
  occurrences: number;
  current?: AlertOccurrence;
  root?: { channel: string; ts: string };
  copies: AlertMessageRef[];
  /** Identity of the last resolved Alertmanager occurrence (a late repeat of it is stale). */
  lastResolvedOccurrenceId?: string;
  lastResolvedStartsAtMs?: number;
  processedEventIds: string[];
  timeline: AlertTimelineEntry[];
  lastActivityAtMs: number;
  version: number;
}

export interface AlertWorkflowResult {
  alertId: string;
  status: AlertStatus;
  occurrences: number;
}

// ─── ChatOps ──────────────────────────────────────────────────────────────────────────────────

export interface ChatopsApprovalSpec {
  approvers: string[];
  required: number;
  expireAfterMs: number;
  channel?: string;
}

/** What a run needs of its action's definition (the endpoint URL stays in config: the activity looks it up). */
export interface ChatopsActionRef {
  name: string;
  description: string;
  timeoutMs: number;
  maxAttempts: number;
  approval?: ChatopsApprovalSpec;
}

export interface ChatopsRunInput {
  /** Derived from the slash command's trigger id: a repeated delivery joins the same run. */
  runId: string;
  action: ChatopsActionRef;
  args: Record<string, string>;
  invokedBy: string;
  channel: string;
  requestedAt: string;
}

export type ChatopsRunStatus =
  'awaiting_approval' | 'running' | 'succeeded' | 'failed' | 'rejected' | 'approval_failed';

export interface ChatopsRunState {
  runId: string;
  action: string;
  status: ChatopsRunStatus;
  root?: { channel: string; ts: string };
  approvalId?: string;
  approvalStatus?: string;
  result?: { httpStatus?: number; attempts?: number; output?: string; error?: string };
}

/** Input of the `invokeChatopsAction` activity. */
export interface InvokeChatopsActionInput {
  runId: string;
  action: string;
  args: Record<string, string>;
  invokedBy: string;
  channel: string;
  approvalId?: string;
  requestedAt: string;
  /** One attempt's bound (the action's `timeout`). */
  timeoutMs: number;
}

export interface InvokeChatopsActionResult {
  httpStatus: number;
  attempt: number;
  /** The endpoint's answer, bounded: its `message` field if JSON, else the start of its text. */
  output: string;
}

// ─── Handlers and ids ─────────────────────────────────────────────────────────────────────────

/** Wire name `alertNotification`: firing / resolved, from the webhook or the API (signalWithStart / signal). */
export const alertNotificationSignal = defineSignal<[AlertNotification]>('alertNotification');
/** Wire name `alertState`. */
export const alertStateQuery = defineQuery<AlertState>('alertState');
/** Wire name `chatopsRunState`. */
export const chatopsRunStateQuery = defineQuery<ChatopsRunState>('chatopsRunState');

/** Workflow id of an alert. History and Slack buttons store it: never change the format. */
export const alertWorkflowId = (alertId: string): string => `alert:${alertId}`;
export const alertmanagerAlertId = (fingerprint: string): string => `am:${fingerprint.toLowerCase()}`;
export const genericAlertId = (dedupKey: string): string => `ext:${dedupKey}`;
/** Workflow id of a ChatOps run. */
export const chatopsWorkflowId = (runId: string): string => `chatops:${runId}`;
