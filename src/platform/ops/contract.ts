import { defineUpdate } from '@temporalio/workflow';

/**
 * The loud-failure contract: what a workflow tells the platform when one of its steps will not
 * happen (it failed permanently, ran out of attempts or out of time). Input of the
 * `reportPermanentFailure` activity, which counts it, and announces it in the ops channel once.
 *
 * Ids, step names and error codes only: this travels through workflow history and into a Slack
 * channel, so never message text, names or emails.
 */
export interface PermanentFailureReport {
  /** Business subject, `<kind>:<id>` (the workflow id of a lifecycle). */
  subject: string;
  workflowId: string;
  runId: string;
  /** The workflow's step name, e.g. `event:evt_1`; with the workflow id it is the failure's identity. */
  step: string;
  reason: 'permanent' | 'installation_dead' | 'retries_exhausted' | 'timed_out';
  /** `slack`, `postgres`, `jira`, … */
  system: string;
  /** The platform method (`chat.postMessage`) or, when unknown, the activity type. */
  method: string;
  activityType: string;
  /** The platform's error code (`channel_not_found`, `http_503`) or the timeout kind. */
  error: string;
  /** The last attempt's failure message (bounded). */
  message: string;
  retryState: string;
  /** In words, what did not happen: "a Slack message in the lifecycle's thread". */
  notDelivered: string;
  /** Workflow time of the failure (ISO). */
  occurredAt: string;
}

export interface PermanentFailureReported {
  /** True when the alert is in the ops channel (posted now or found from an earlier attempt). */
  alerted: boolean;
  channel?: string;
  ts?: string;
  /** Why the alert could not be posted (then an `ops.alert_failed` audit row was written). */
  alertError?: string;
}

/** Metadata event type of ops-channel messages (lets a retried report find the message it already posted). */
export const OPS_ALERT_PURPOSE = 'ops_alert';

/**
 * Asks a running lifecycle to run one of its failed steps again, after the cause was fixed (the
 * channel unarchived, the app reinstalled). Handled by the platform's tolerant helper
 * (`platform/temporal/workflow/failures.ts`), so every flow that uses `createTolerant` answers it.
 * The step re-runs the same activity with the same arguments, so the same idempotency key: a
 * message that did land after all is found, never posted twice.
 */
export interface RetryDeliveryRequest {
  /** The failed step, as its `<flow>.slack_failed` audit row names it (`details.step`). */
  step: string;
  /** Who asked: the console's API-key fingerprint (an id, never the key). */
  requestedBy: string;
}

/** What the retry did. Refusals (unknown, forgotten, in progress, already delivered) are update rejections instead. */
export type RetryDeliveryResult =
  | { outcome: 'delivered'; step: string; attempt: number }
  | { outcome: 'failed'; step: string; attempt: number; reason: string; error: string };

/** Wire name `retryFailedDelivery`: stored in history by every lifecycle that receives it; never rename. */
export const retryFailedDeliveryUpdate = defineUpdate<RetryDeliveryResult, [RetryDeliveryRequest]>(
  'retryFailedDelivery',
);

/** The ApplicationFailure type of a refused retry (its message says why, for the operator). */
export const RETRY_REFUSED = 'RetryRefused';
