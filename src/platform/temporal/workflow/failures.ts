import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../failure-types.js';

/**
 * The ApplicationFailure behind an activity failure when retrying cannot help (non-retryable, or
 * one of our permanent types), else undefined. Workflows use it to audit a permanent Slack failure
 * of one step and carry on, while anything else still fails the workflow task loudly.
 */
export function permanentActivityFailure(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure &&
    (cause.nonRetryable || NON_RETRYABLE_FAILURE_TYPES.includes(cause.type ?? ''))
    ? cause
    : undefined;
}
