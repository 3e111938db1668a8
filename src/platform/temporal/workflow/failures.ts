import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure } from '@temporalio/workflow';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES, type FailureDetails } from '../failure-types.js';

/**
 * The ApplicationFailure behind an activity failure when retrying cannot help (non-retryable, or
 * one of our permanent types), else undefined. Kept for the pre-`loud-step-failures` path of
 * `tolerant` (running workflows replay it) and for flows that only care about this case.
 */
export function permanentActivityFailure(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure &&
    (cause.nonRetryable || NON_RETRYABLE_FAILURE_TYPES.includes(cause.type ?? ''))
    ? cause
    : undefined;
}

/** Why a step ended without its effect. */
export type StepFailureReason = 'permanent' | 'installation_dead' | 'retries_exhausted' | 'timed_out';

/** A step's activity that will not be retried any more, as the workflow describes it. */
export interface StepFailure {
  reason: StepFailureReason;
  activityType: string;
  /** `ActivityFailure.retryState`: NON_RETRYABLE_FAILURE, MAXIMUM_ATTEMPTS_REACHED, TIMEOUT, … */
  retryState: string;
  /** The last attempt's `ApplicationFailure.type`, when there was one. */
  failureType?: string;
  /** From the classified failure's details when the activity classified it (else inferred). */
  system: string;
  method: string;
  error: string;
  /** The last attempt's message, bounded (error codes and ids only: our failures carry no PII). */
  message: string;
}

const SYSTEM_OF_ACTIVITY: Readonly<Record<string, string>> = {
  postSlackMessage: 'slack',
  updateSlackMessage: 'slack',
  openSlackView: 'slack',
  postSlackEphemeral: 'slack',
  respondToSlack: 'slack',
  recordAudit: 'postgres',
};

/** Walks `cause` links to the innermost ApplicationFailure (a timeout's cause is the last attempt's failure). */
function lastApplicationFailure(err: Error | undefined): ApplicationFailure | undefined {
  for (let e: Error | undefined = err, depth = 0; e && depth < 5; e = (e as { cause?: Error }).cause, depth++) {
    if (e instanceof ApplicationFailure) return e;
  }
  return undefined;
}

/**
 * Describes an activity failure that reached workflow code, i.e. the activity's retry policy is
 * done with it: it failed permanently, ran out of attempts, or ran out of time (schedule-to-close).
 * Each of these means the step's effect will not happen, so all of them are reported the same
 * way. Cancellation is not a failure of the step (the workflow asked for it): undefined, as for
 * anything that is not an activity failure (a bug must still fail the workflow task loudly).
 */
export function finalActivityFailure(err: unknown): StepFailure | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  if (err.retryState === RetryState.CANCEL_REQUESTED || err.cause instanceof CancelledFailure) return undefined;
  const app = lastApplicationFailure(err.cause);
  const details = app?.details?.[0] as Partial<FailureDetails> | undefined;
  const timedOut = err.cause instanceof TimeoutFailure || err.retryState === RetryState.TIMEOUT;
  const reason: StepFailureReason =
    app?.type === FailureType.AuthRevoked
      ? 'installation_dead'
      : err.retryState === RetryState.NON_RETRYABLE_FAILURE ||
          app?.nonRetryable ||
          NON_RETRYABLE_FAILURE_TYPES.includes(app?.type ?? '')
        ? 'permanent'
        : timedOut
          ? 'timed_out'
          : 'retries_exhausted';
  const timeout = err.cause instanceof TimeoutFailure ? `timeout_${err.cause.timeoutType ?? 'unknown'}` : undefined;
  return {
    reason,
    activityType: err.activityType,
    retryState: err.retryState ?? 'UNSPECIFIED',
    ...(app?.type ? { failureType: app.type } : {}),
    system: details?.system ?? SYSTEM_OF_ACTIVITY[err.activityType] ?? 'unknown',
    method: details?.method ?? err.activityType,
    error: details?.error ?? timeout ?? app?.type ?? 'unknown',
    message: (app?.message ?? err.cause?.message ?? err.message).slice(0, 300),
  };
}
