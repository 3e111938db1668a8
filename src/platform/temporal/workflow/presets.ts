import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../failure-types.js';

/**
 * Activity option presets, one per integration and call shape: the retry policy lives here, next
 * to the proxy, with the non-retryable failure types listed. Workflows pick a preset instead of
 * writing their own numbers, so two proxies for the same call can never disagree.
 *
 * Every preset is bounded (`scheduleToCloseTimeout` and/or `maximumAttempts`; a unit test checks
 * that each one is). When a bound runs out the activity fails into workflow code with
 * `RetryState` MAXIMUM_ATTEMPTS_REACHED or TIMEOUT, and `tolerant` treats that exactly like a
 * permanent failure: audit row, `threadline_permanent_failures_total`, an ops-channel alert, and
 * the lifecycle goes on. Time bounds are preferred over attempt counts where rate limits are
 * likely: every 429 is an attempt, so a count would turn a busy workspace into false alarms.
 */

/**
 * Postgres-backed activities (audit, snapshots): short attempts, fast retries; only programming
 * errors are permanent. Bound: 30 minutes. Postgres is our own dependency and its outage is
 * already visible (`/readyz` answers 503); retrying for half an hour rides out a failover or a
 * restart. Past that the auditor announces the lost row loudly and goes on (see `createAuditor`);
 * a flow's own DB activity fails the workflow run, which is visible as a failed execution.
 */
export const DB_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};

/**
 * Database bookkeeping and lookups run as a local activity (a step's audit rows and snapshot,
 * batched): the worker runs it inside the workflow task, so it costs the Temporal server one
 * marker instead of an activity task, its three events and the workflow task that follows.
 *
 * The price is that the workflow task stays open while it runs. The task has a timeout (10 s by
 * default); a local activity still running at 80% of it makes the worker heartbeat the task (it
 * completes it and asks for a new one, one more workflow task in the history), but a result the
 * workflow has not yet been activated with is not flushed by that heartbeat: on a starved worker a
 * task with several local activities in a row times out and loses them, and the next attempt runs
 * them again (local activities are at-least-once; these writes are idempotent by audit key and
 * snapshot version). So each attempt is bounded well inside the task (5 s, the pool's own
 * connection wait), and retries back off locally only briefly: past `localRetryThreshold` the SDK
 * schedules a server timer between attempts, which completes the task instead of holding it (and
 * a workflow-task slot) through the backoff. Same overall bound and retry policy as
 * DB_ACTIVITY_OPTIONS.
 */
export const DB_LOCAL_ACTIVITY_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '5 seconds',
  scheduleToCloseTimeout: '30 minutes',
  localRetryThreshold: '2 seconds',
  retry: DB_ACTIVITY_OPTIONS.retry,
};

/**
 * Slack Web API posts and updates in a lifecycle's thread: rate limits come back with
 * nextRetryDelay = Retry-After; 5xx and timeouts back off. Posts are exactly-once per idempotency
 * key and updates are idempotent, so retrying is always safe.
 *
 * Bound: 15 minutes. A lifecycle applies its events in order, so a post that keeps failing holds
 * back everything behind it (later replies, SLA timers). Fifteen minutes covers rate-limit bursts
 * (Retry-After is seconds to a minute) and Slack's usual brownouts; a longer outage is better
 * served by an alert per missed step and a lifecycle that keeps moving.
 */
export const SLACK_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};

/** `views.open` with a trigger_id, which lives 3 s and works once: a quick attempt, one more for a network blip. */
export const SLACK_VIEW_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '3 seconds',
  scheduleToCloseTimeout: '4 seconds',
  retry: { initialInterval: '100ms', maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
};

/**
 * A `response_url` works up to 5 times within 30 minutes of the interaction: retry briskly and
 * give up well inside that window (one window for every caller).
 */
export const SLACK_RESPONSE_URL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '25 minutes',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};

/**
 * Slack lookups a caller waits for (e.g. resolving people while an API request is open): bounded,
 * so an outage becomes a 503 for the caller instead of an answer minutes later.
 */
export const SLACK_LOOKUP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '300ms',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};

/**
 * The same lookups run as a local activity, where a caller waits on the workflow's first task (a
 * create that answers once its people are resolved): no activity task round trip through the
 * server, the same retry policy and overall bound. Lookups are read-only, so a local activity's
 * at-least-once repeat (a task that timed out mid-lookup) is harmless. An attempt may outlast the
 * workflow task's timeout: the worker then heartbeats the task (see DB_LOCAL_ACTIVITY_OPTIONS).
 */
export const SLACK_LOOKUP_LOCAL_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: SLACK_LOOKUP_OPTIONS.startToCloseTimeout!,
  scheduleToCloseTimeout: SLACK_LOOKUP_OPTIONS.scheduleToCloseTimeout!,
  localRetryThreshold: '2 seconds',
  retry: SLACK_LOOKUP_OPTIONS.retry,
};

/**
 * `reportPermanentFailure` (metric + ops-channel alert). The lifecycle waits for it, so it is
 * bounded at 5 minutes: enough to get through the ops channel's posting limit (about one message
 * per second) when many steps fail at once. If Slack itself is down the alert cannot land
 * anyway; `tolerant` then writes an `ops_alert_failed` audit row and goes on, and never announces
 * the report's own failure (no loop).
 */
export const OPS_ALERT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};
