import { ApplicationFailure } from '@temporalio/common';

/**
 * `ApplicationFailure.type` values. Retry policies list the permanent ones as non-retryable,
 * so a classification decided in an activity is honoured by Temporal without string matching.
 */
export const FailureType = {
  /** The call can never succeed as made (channel_not_found, invalid_blocks, 4xx validation). */
  Permanent: 'ThreadlinePermanent',
  /** The installation is dead (invalid_auth, token_revoked): surface loudly, do not retry. */
  AuthRevoked: 'ThreadlineAuthRevoked',
  /** 429 / ratelimited: retried after the platform's Retry-After (via nextRetryDelay). */
  RateLimited: 'ThreadlineRateLimited',
  /** 5xx, network, timeouts. */
  Transient: 'ThreadlineTransient',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURE_TYPES: string[] = [FailureType.Permanent, FailureType.AuthRevoked];

/**
 * What an integration's error table decides about one failed call. Every integration (Slack
 * today, Jira next) classifies into these five kinds, so retry policy and loud-failure reporting
 * never depend on which platform failed.
 */
export type ErrorClass =
  /** Retry with backoff. `ambiguous`: the call may have taken effect (lost answer, partial success). */
  | { kind: 'transient'; error: string; ambiguous: boolean }
  /** Retry after exactly the platform's delay. */
  | { kind: 'rate_limited'; error: string; retryAfterSec: number }
  /** The call can never succeed as made: do not retry, report. */
  | { kind: 'permanent'; error: string }
  /** Credentials revoked or the app removed: nothing works until someone reinstalls. */
  | { kind: 'installation_dead'; error: string }
  /** The effect already exists (already_reacted, name_taken): success at the call site. */
  | { kind: 'already_done'; error: string };
export type ErrorKind = ErrorClass['kind'];

/**
 * Structured details every classified failure carries (`ApplicationFailure.details[0]`), so the
 * workflow-side reporter can name the system, method and error code without parsing messages.
 * Error codes only: never message text, ids of people or tokens.
 */
export interface FailureDetails {
  system: string;
  method: string;
  error: string;
  kind: ErrorKind;
}

/**
 * The ApplicationFailure a classified error becomes: permanent and installation-dead are
 * non-retryable; rate limits retry after exactly Retry-After (`nextRetryDelay`), never earlier.
 */
export function classifiedFailure(
  call: { system: string; method: string; label?: string },
  c: Exclude<ErrorClass, { kind: 'already_done' }>,
): ApplicationFailure {
  const label = call.label ?? `${call.system} ${call.method}`;
  const details: FailureDetails = { system: call.system, method: call.method, error: c.error, kind: c.kind };
  switch (c.kind) {
    case 'rate_limited':
      return ApplicationFailure.create({
        type: FailureType.RateLimited,
        message: `${label} rate limited; retry after ${c.retryAfterSec}s`,
        nextRetryDelay: `${Math.max(1, c.retryAfterSec)}s`,
        details: [details],
      });
    case 'permanent':
      return ApplicationFailure.create({
        type: FailureType.Permanent,
        message: `${label} failed permanently: ${c.error}`,
        nonRetryable: true,
        details: [details],
      });
    case 'installation_dead':
      return ApplicationFailure.create({
        type: FailureType.AuthRevoked,
        message: `${label}: the installation's token is not usable (${c.error}); reinstall the app`,
        nonRetryable: true,
        details: [details],
      });
    case 'transient':
      return ApplicationFailure.create({
        type: FailureType.Transient,
        message: `${label} failed: ${c.error}`,
        details: [details],
      });
  }
}
