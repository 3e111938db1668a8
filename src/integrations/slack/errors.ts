import { ErrorCode, type WebAPICallError } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../platform/temporal/failure-types.js';

/** Errors that mean the call itself can never work as made. */
const PERMANENT = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_arguments',
  'invalid_arg_name',
  'missing_scope',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'user_not_found',
  'users_not_found',
  'user_not_in_channel',
  'expired_trigger_id',
  'invalid_trigger_id',
  'restricted_action',
  'too_many_attachments',
  'no_permission',
  'channel_is_archived',
  'method_not_supported_for_channel_type',
  'view_too_large',
  'not_found',
  'unknown_method',
]);
/** The installation is gone: nothing will work until someone reinstalls. */
const AUTH_DEAD = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_such_team',
  'team_access_not_granted',
]);
/** The effect already exists: treat as success at the call site. */
export const ALREADY_DONE = new Set([
  'already_reacted',
  'already_in_channel',
  'name_taken',
  'already_pinned',
  'no_reaction',
]);

export type SlackErrorClass =
  | { kind: 'rate_limited'; retryAfterSec: number }
  | { kind: 'permanent'; error: string }
  | { kind: 'auth'; error: string }
  | { kind: 'already_done'; error: string }
  | { kind: 'transient'; error: string };

/** Classifies anything @slack/web-api throws. Unknown platform errors are treated as transient (retried, then surfaced). */
export function classifySlackError(err: unknown): SlackErrorClass {
  const e = err as Partial<WebAPICallError> & { retryAfter?: number; data?: { error?: string }; statusCode?: number };
  if (e.code === ErrorCode.RateLimitedError) return { kind: 'rate_limited', retryAfterSec: Number(e.retryAfter ?? 1) };
  if (e.code === ErrorCode.PlatformError) {
    const error = e.data?.error ?? 'unknown_error';
    if (error === 'ratelimited') return { kind: 'rate_limited', retryAfterSec: 1 };
    if (AUTH_DEAD.has(error)) return { kind: 'auth', error };
    if (ALREADY_DONE.has(error)) return { kind: 'already_done', error };
    if (PERMANENT.has(error)) return { kind: 'permanent', error };
    return { kind: 'transient', error }; // internal_error, fatal_error, service_unavailable, request_timeout, …
  }
  if (e.code === ErrorCode.HTTPError) return { kind: 'transient', error: `http_${e.statusCode ?? 'error'}` };
  return { kind: 'transient', error: e.code ?? (err instanceof Error ? err.message : 'unknown') };
}

/**
 * Turns a Slack failure into the ApplicationFailure the retry policy understands: permanent and
 * auth errors are non-retryable; rate limits retry after exactly Retry-After.
 */
export function toActivityFailure(
  method: string,
  c: Exclude<SlackErrorClass, { kind: 'already_done' }>,
): ApplicationFailure {
  switch (c.kind) {
    case 'rate_limited':
      return ApplicationFailure.create({
        type: FailureType.RateLimited,
        message: `Slack ${method} rate limited; retry after ${c.retryAfterSec}s`,
        nextRetryDelay: `${Math.max(1, c.retryAfterSec)}s`,
      });
    case 'permanent':
      return ApplicationFailure.nonRetryable(`Slack ${method} failed permanently: ${c.error}`, FailureType.Permanent, {
        error: c.error,
      });
    case 'auth':
      return ApplicationFailure.nonRetryable(
        `Slack ${method}: the installation's token is not usable (${c.error}); reinstall the app`,
        FailureType.AuthRevoked,
        { error: c.error },
      );
    case 'transient':
      return ApplicationFailure.create({ type: FailureType.Transient, message: `Slack ${method} failed: ${c.error}` });
  }
}
