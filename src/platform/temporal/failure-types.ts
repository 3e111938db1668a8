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
