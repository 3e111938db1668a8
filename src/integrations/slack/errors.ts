import { ErrorCode } from '@slack/web-api';
import type { ApplicationFailure } from '@temporalio/common';
import { classifiedFailure, type ErrorClass, type ErrorKind } from '../../platform/temporal/failure-types.js';

/**
 * Slack's error table: every `{ok:false, error}` code of the methods Threadline calls
 * (chat.postMessage / update / postEphemeral, views.open, conversations.history / replies / open /
 * join, users.info / lookupByEmail; from Slack's method reference) mapped to what retrying can do.
 *
 * The rule for a code that is not here: **permanent**. Slack enumerates its transient conditions
 * (below); any other code describes the request itself (its arguments, the channel, the token's
 * rights), so sending the same request again gets the same answer. Retrying it forever used to
 * stall a lifecycle silently; treating it as permanent makes it loud at once (audit row, metric,
 * ops-channel alert naming the code), and the fix is one line in this table.
 */
export const SLACK_ERROR_TABLE: Readonly<Record<string, ErrorKind>> = {
  // ── transient: Slack's side; retry with backoff ──
  internal_error: 'transient', // may have partly succeeded
  fatal_error: 'transient', // may have partly succeeded
  service_unavailable: 'transient',
  request_timeout: 'transient', // POST body missing or truncated on the way
  team_added_to_org: 'transient', // enterprise migration: "intermittently unavailable"
  org_login_required: 'transient', // enterprise migration in progress
  external_channel_migrating: 'transient',
  update_failed: 'transient', // chat.update: "internal update failure"
  streaming_state_conflict: 'transient', // chat.update while the message is still streaming
  list_record_comment_fetch_failed: 'transient', // conversations.replies on a list record

  // ── rate limited: retry after the platform's delay ──
  ratelimited: 'rate_limited',
  rate_limited: 'rate_limited',
  message_limit_exceeded: 'rate_limited', // free-workspace message quota

  // ── installation dead: nothing works until someone reinstalls ──
  invalid_auth: 'installation_dead',
  not_authed: 'installation_dead',
  account_inactive: 'installation_dead',
  token_revoked: 'installation_dead',
  token_expired: 'installation_dead',
  no_such_team: 'installation_dead',
  team_access_not_granted: 'installation_dead',

  // ── already done: the effect exists; success at the call site ──
  already_reacted: 'already_done',
  no_reaction: 'already_done',
  already_pinned: 'already_done',
  not_pinned: 'already_done',
  already_in_channel: 'already_done',
  already_archived: 'already_done',
  not_archived: 'already_done',
  name_taken: 'already_done',

  // ── permanent: this call can never work as made ──
  // the conversation
  channel_not_found: 'permanent',
  not_in_channel: 'permanent',
  is_archived: 'permanent',
  channel_is_archived: 'permanent',
  channel_is_limited_access: 'permanent',
  method_not_supported_for_channel_type: 'permanent',
  restricted_action: 'permanent',
  restricted_action_read_only_channel: 'permanent',
  restricted_action_thread_locked: 'permanent',
  restricted_action_thread_only_channel: 'permanent',
  restricted_action_non_threadable_channel: 'permanent',
  posting_to_channel_denied: 'permanent',
  ekm_access_denied: 'permanent',
  messages_tab_disabled: 'permanent', // DMs: the app's Messages tab is off
  too_many_members: 'permanent',
  team_not_found: 'permanent',
  // the message or thread
  thread_not_found: 'permanent', // the thread root was deleted
  message_not_found: 'permanent',
  cannot_reply_to_message: 'permanent',
  cant_update_message: 'permanent',
  cant_delete_message: 'permanent',
  cant_broadcast_message: 'permanent',
  edit_window_closed: 'permanent',
  is_inactive: 'permanent',
  block_mismatch: 'permanent',
  no_dual_broadcast_content_update: 'permanent',
  // the content
  no_text: 'permanent',
  msg_too_long: 'permanent',
  msg_blocks_too_long: 'permanent',
  invalid_blocks: 'permanent',
  invalid_blocks_format: 'permanent',
  invalid_attachments: 'permanent',
  too_many_attachments: 'permanent',
  too_many_contact_cards: 'permanent',
  attachment_payload_limit_exceeded: 'permanent',
  markdown_text_conflict: 'permanent',
  invalid_metadata_format: 'permanent',
  invalid_metadata_schema: 'permanent',
  metadata_too_large: 'permanent',
  metadata_must_be_sent_from_app: 'permanent',
  as_user_not_supported: 'permanent',
  // files, drafts and Slack Connect sharing (we send none, but the methods document them)
  blocked_file_type: 'permanent',
  file_deleted: 'permanent',
  file_is_deleted: 'permanent',
  file_not_found: 'permanent',
  file_share_limit_reached: 'permanent',
  max_file_sharing_exceeded: 'permanent',
  missing_file_data: 'permanent',
  unable_to_share_files: 'permanent',
  slack_connect_blocked_file_type: 'permanent',
  slack_connect_canvas_sharing_blocked: 'permanent',
  slack_connect_clip_sharing_blocked: 'permanent',
  slack_connect_file_link_sharing_blocked: 'permanent',
  slack_connect_file_upload_sharing_blocked: 'permanent',
  slack_connect_lists_sharing_blocked: 'permanent',
  draft_already_deleted: 'permanent',
  draft_already_sent: 'permanent',
  draft_has_conflict: 'permanent',
  draft_not_found: 'permanent',
  duplicate_channel_not_found: 'permanent',
  duplicate_message_not_found: 'permanent',
  // the request's form
  invalid_arguments: 'permanent',
  invalid_arg_name: 'permanent',
  invalid_array_arg: 'permanent',
  invalid_charset: 'permanent',
  invalid_form_data: 'permanent',
  invalid_post_type: 'permanent',
  missing_post_type: 'permanent',
  invalid_cursor: 'permanent',
  invalid_ts_latest: 'permanent',
  invalid_ts_oldest: 'permanent',
  invalid_metadata_filter_keys: 'permanent',
  // people
  user_not_found: 'permanent',
  users_not_found: 'permanent',
  user_not_in_channel: 'permanent',
  user_not_visible: 'permanent',
  user_disabled: 'permanent',
  users_list_not_supplied: 'permanent',
  not_enough_users: 'permanent',
  too_many_users: 'permanent',
  invalid_user_combination: 'permanent',
  // modals
  expired_trigger_id: 'permanent',
  invalid_trigger_id: 'permanent',
  exchanged_trigger_id: 'permanent',
  duplicate_external_id: 'permanent',
  view_too_large: 'permanent',
  not_found: 'permanent',
  // the token's rights and the method
  missing_scope: 'permanent',
  no_permission: 'permanent',
  access_denied: 'permanent',
  accesslimited: 'permanent',
  app_access_restricted: 'permanent',
  enterprise_is_restricted: 'permanent',
  not_allowed_token_type: 'permanent',
  send_on_behalf_not_allowed: 'permanent',
  two_factor_setup_required: 'permanent',
  is_bot: 'permanent',
  unknown_method: 'permanent',
  deprecated_endpoint: 'permanent',
  method_deprecated: 'permanent',
};

/**
 * A rate limit without a Retry-After (the `ratelimited` code in a 200 body, which Slack documents
 * only alongside HTTP 429): wait long enough not to hammer a limited workspace.
 */
export const DEFAULT_RETRY_AFTER_SEC = 30;
/** The free-workspace message quota resets slowly; retrying every few seconds cannot help. */
const QUOTA_RETRY_AFTER_SEC = 60;

/** `{ok:false, error}` codes that end the installation (kept for callers that only need this list). */
export const AUTH_DEAD = new Set(
  Object.entries(SLACK_ERROR_TABLE)
    .filter(([, k]) => k === 'installation_dead')
    .map(([code]) => code),
);
/** Codes that mean the effect already exists. */
export const ALREADY_DONE = new Set(
  Object.entries(SLACK_ERROR_TABLE)
    .filter(([, k]) => k === 'already_done')
    .map(([code]) => code),
);

export type SlackErrorClass = ErrorClass;

/** Classifies one `{ok:false, error}` code by the table (unknown codes: permanent). */
export function classifySlackErrorCode(error: string): SlackErrorClass {
  const kind = SLACK_ERROR_TABLE[error] ?? 'permanent';
  switch (kind) {
    case 'transient':
      return {
        kind,
        error,
        ambiguous: error === 'internal_error' || error === 'fatal_error' || error === 'update_failed',
      };
    case 'rate_limited':
      return {
        kind,
        error,
        retryAfterSec: error === 'message_limit_exceeded' ? QUOTA_RETRY_AFTER_SEC : DEFAULT_RETRY_AFTER_SEC,
      };
    default:
      return { kind, error };
  }
}

/**
 * HTTP statuses other than 200 (Slack answers platform errors with 200; a non-200 comes from
 * Slack's edge or a proxy): 429 is a rate limit, 408/425 and 5xx are transient (a 5xx may come
 * after the call took effect), and every other 4xx is permanent (a wrong URL, a refused or
 * oversized request: the same request gets the same answer).
 */
export function classifySlackHttpStatus(status: number, retryAfterHeader?: string): SlackErrorClass {
  const error = `http_${status}`;
  if (status === 429) return { kind: 'rate_limited', error, retryAfterSec: parseRetryAfter(retryAfterHeader) };
  if (status >= 500 || status === 408 || status === 425) return { kind: 'transient', error, ambiguous: status >= 500 };
  if (status >= 400) return { kind: 'permanent', error };
  return { kind: 'transient', error, ambiguous: true };
}

function parseRetryAfter(v: string | number | undefined): number {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.ceil(n) : DEFAULT_RETRY_AFTER_SEC;
}

/**
 * Threadline refuses to call Slack for a workspace whose installation is revoked (the app was
 * uninstalled, or its bot token revoked) or was never installed: classified as `installation_dead`
 * without a request leaving the process, so the step is reported as such and nothing is retried
 * until someone reinstalls.
 */
export class InstallationUnavailableError extends Error {
  constructor(
    /** The installation (team or enterprise id); ids only, never a token. */
    readonly installationId: string,
    readonly reason: 'installation_revoked' | 'not_installed' | 'token_refresh_failed',
  ) {
    super(`Slack installation ${installationId} is not usable (${reason}); reinstall the app in that workspace`);
    this.name = 'InstallationUnavailableError';
  }
}

/**
 * A call meant to be made as a connected person (their user token) found no live token for them
 * in that installation (never connected, revoked, or the installation is gone): refused before
 * any request leaves the process, never sent with the bot's token instead (a bot cannot edit a
 * person's message, and a post must know who its author is).
 */
export class UserTokenUnavailableError extends Error {
  constructor(
    /** Ids only, never a token. */
    readonly installationId: string,
    readonly userId: string,
  ) {
    super(`no live Slack user token for ${userId} in ${installationId}`);
    this.name = 'UserTokenUnavailableError';
  }
}

type SlackErrorLike = {
  code?: string;
  retryAfter?: number;
  data?: { error?: string };
  statusCode?: number;
  headers?: Record<string, string | undefined>;
  original?: { code?: string; message?: string };
};

/**
 * Classifies anything `@slack/web-api` throws (and anything else a Slack activity throws):
 * - rate limited (HTTP 429): `retryAfterSec` = the Retry-After header, exactly;
 * - platform error (`{ok:false, error}` on HTTP 200): by `SLACK_ERROR_TABLE`, unknown codes permanent;
 * - HTTP error: by `classifySlackHttpStatus`;
 * - request error (network: reset, refused, timed out): transient and ambiguous, since the request
 *   may have reached Slack before the connection failed;
 * - anything else (not a Slack error, e.g. a bug): transient, so the activity's bound ends it loudly.
 */
export function classifySlackError(err: unknown): SlackErrorClass {
  if (err instanceof InstallationUnavailableError) return { kind: 'installation_dead', error: err.reason };
  if (err instanceof UserTokenUnavailableError) return { kind: 'permanent', error: 'user_token_unavailable' };
  const e = (typeof err === 'object' && err !== null ? err : {}) as SlackErrorLike;
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return { kind: 'rate_limited', error: 'http_429', retryAfterSec: parseRetryAfter(e.retryAfter) };
    case ErrorCode.PlatformError:
      return classifySlackErrorCode(e.data?.error || 'unknown_error');
    case ErrorCode.HTTPError:
      return classifySlackHttpStatus(e.statusCode ?? 0, e.headers?.['retry-after']);
    case ErrorCode.RequestError:
      return { kind: 'transient', error: e.original?.code ?? 'request_error', ambiguous: true };
    default:
      return { kind: 'transient', error: err instanceof Error ? err.name : 'unknown', ambiguous: true };
  }
}

/**
 * Turns a Slack failure into the ApplicationFailure the retry policy understands: permanent and
 * installation-dead errors are non-retryable; rate limits retry after exactly Retry-After.
 */
export function toActivityFailure(
  method: string,
  c: Exclude<SlackErrorClass, { kind: 'already_done' }>,
): ApplicationFailure {
  return classifiedFailure({ system: 'slack', method, label: `Slack ${method}` }, c);
}
