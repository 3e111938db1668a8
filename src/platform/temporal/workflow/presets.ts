import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../failure-types.js';

/**
 * Activity option presets, one per integration and call shape: the retry policy lives here, next
 * to the proxy, with the non-retryable failure types listed. Workflows pick a preset instead of
 * writing their own numbers, so two proxies for the same call can never disagree.
 */

/** Postgres-backed activities (audit, snapshots): short timeouts, fast retries; only programming errors are permanent. */
export const DB_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};

/**
 * Slack Web API posts and updates: rate limits come back with nextRetryDelay = Retry-After; 5xx
 * and timeouts back off. Posts are exactly-once per idempotency key and updates are idempotent,
 * so retrying is always safe.
 */
export const SLACK_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '20 seconds',
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
