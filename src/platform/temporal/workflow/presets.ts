import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from './failure-types.js';

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
