import {
  ErrorCode,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALREADY_DONE,
  AUTH_DEAD,
  DEFAULT_RETRY_AFTER_SEC,
  SLACK_ERROR_TABLE,
  classifySlackError,
  classifySlackErrorCode,
  classifySlackHttpStatus,
  toActivityFailure,
} from '../../../src/integrations/slack/errors.js';
import { FailureType } from '../../../src/platform/temporal/failure-types.js';
import { startHarness, type Harness } from '../../emulators/slack/helpers.js';

const words = (s: string) => s.trim().split(/\s+/);

/**
 * What the table must say, written down independently of it: PLATFORM-FACTS.md's classes, and
 * every `{ok:false}` code Slack's method reference documents for the methods Threadline calls
 * (chat.postMessage, chat.update, chat.postEphemeral, views.open, conversations.history,
 * conversations.replies, conversations.open, conversations.join, users.info, users.lookupByEmail).
 */
const EXPECTED = {
  transient: words(`
    internal_error fatal_error service_unavailable request_timeout team_added_to_org org_login_required
    external_channel_migrating update_failed streaming_state_conflict list_record_comment_fetch_failed`),
  rate_limited: words('ratelimited rate_limited message_limit_exceeded'),
  installation_dead: words('invalid_auth not_authed account_inactive token_revoked token_expired'),
  already_done: words('already_reacted already_in_channel name_taken already_pinned no_reaction'),
  permanent: words(`
    channel_not_found not_in_channel is_archived msg_too_long invalid_blocks missing_scope message_not_found
    cant_update_message user_not_found expired_trigger_id thread_not_found
    access_denied accesslimited app_access_restricted as_user_not_supported attachment_payload_limit_exceeded
    block_mismatch blocked_file_type cannot_reply_to_message cant_broadcast_message channel_is_limited_access
    deprecated_endpoint draft_already_deleted draft_already_sent draft_has_conflict draft_not_found
    duplicate_channel_not_found duplicate_external_id duplicate_message_not_found edit_window_closed
    ekm_access_denied enterprise_is_restricted exchanged_trigger_id file_deleted file_is_deleted file_not_found
    file_share_limit_reached invalid_arg_name invalid_array_arg invalid_attachments invalid_blocks_format
    invalid_charset invalid_cursor invalid_form_data invalid_metadata_filter_keys invalid_metadata_format
    invalid_metadata_schema invalid_post_type invalid_trigger_id invalid_ts_latest invalid_ts_oldest
    invalid_user_combination is_bot is_inactive markdown_text_conflict max_file_sharing_exceeded
    messages_tab_disabled metadata_must_be_sent_from_app metadata_too_large method_deprecated
    method_not_supported_for_channel_type missing_file_data missing_post_type msg_blocks_too_long
    no_dual_broadcast_content_update no_permission no_text not_allowed_token_type not_enough_users
    posting_to_channel_denied restricted_action restricted_action_non_threadable_channel
    restricted_action_read_only_channel restricted_action_thread_locked restricted_action_thread_only_channel
    send_on_behalf_not_allowed slack_connect_blocked_file_type slack_connect_canvas_sharing_blocked
    slack_connect_clip_sharing_blocked slack_connect_file_link_sharing_blocked
    slack_connect_file_upload_sharing_blocked slack_connect_lists_sharing_blocked team_not_found
    too_many_attachments too_many_contact_cards too_many_members too_many_users two_factor_setup_required
    unable_to_share_files unknown_method user_disabled user_not_in_channel user_not_visible
    users_list_not_supplied users_not_found view_too_large`),
} as const;

describe('Slack error classification table', () => {
  for (const [kind, codes] of Object.entries(EXPECTED)) {
    it(`${kind}: ${codes.length} documented codes`, () => {
      for (const code of codes) {
        // Listed explicitly (not caught by the unknown-code rule), and classified as documented.
        expect(SLACK_ERROR_TABLE[code], code).toBe(kind);
        expect(classifySlackError(new WebAPIPlatformError({ ok: false, error: code })).kind, code).toBe(kind);
      }
    });
  }

  it('the table has no entry the documentation above does not expect (every row is reviewed)', () => {
    const expected = new Set<string>(Object.values(EXPECTED).flat());
    const extra = Object.keys(SLACK_ERROR_TABLE).filter((c) => !expected.has(c));
    // Codes of older method docs, other methods (reactions, pins, chat.delete) and the emulator's
    // views errors; each still has a deliberate kind.
    expect(extra.sort()).toEqual(
      words(`already_archived cant_delete_message channel_is_archived invalid_arguments no_such_team not_archived
             not_found not_pinned team_access_not_granted`),
    );
  });

  it('an unknown code is permanent: reported at once, never retried forever', () => {
    const c = classifySlackError(new WebAPIPlatformError({ ok: false, error: 'brand_new_error_2031' }));
    expect(c).toEqual({ kind: 'permanent', error: 'brand_new_error_2031' });
    expect(classifySlackError(new WebAPIPlatformError({ ok: false } as never))).toEqual({
      kind: 'permanent',
      error: 'unknown_error',
    });
  });

  it('auth-dead codes are the installation_dead rows; already-done codes the already_done rows', () => {
    expect([...AUTH_DEAD].sort()).toEqual(
      words(
        'account_inactive invalid_auth no_such_team not_authed team_access_not_granted token_expired token_revoked',
      ),
    );
    expect([...ALREADY_DONE].sort()).toEqual(
      words(
        'already_archived already_in_channel already_pinned already_reacted name_taken no_reaction not_archived not_pinned',
      ),
    );
  });

  it('internal_error and fatal_error are transient and flagged ambiguous (they may have partly succeeded)', () => {
    expect(classifySlackErrorCode('internal_error')).toEqual({
      kind: 'transient',
      error: 'internal_error',
      ambiguous: true,
    });
    expect(classifySlackErrorCode('fatal_error')).toMatchObject({ ambiguous: true });
    expect(classifySlackErrorCode('service_unavailable')).toMatchObject({ ambiguous: false });
  });

  it('rate limits: a 429 keeps its Retry-After exactly; a body-only limit waits the default', () => {
    expect(classifySlackError(new WebAPIRateLimitedError(7))).toEqual({
      kind: 'rate_limited',
      error: 'http_429',
      retryAfterSec: 7,
    });
    expect(classifySlackError(new WebAPIRateLimitedError(0))).toMatchObject({ retryAfterSec: 0 });
    expect(classifySlackErrorCode('ratelimited')).toEqual({
      kind: 'rate_limited',
      error: 'ratelimited',
      retryAfterSec: DEFAULT_RETRY_AFTER_SEC,
    });
    expect(classifySlackErrorCode('message_limit_exceeded')).toMatchObject({ retryAfterSec: 60 });
  });

  it('HTTP statuses: 429 rate limited, 408/425/5xx transient, every other 4xx permanent', () => {
    const http = (status: number, headers: Record<string, string> = {}) =>
      classifySlackError(new WebAPIHTTPError(status, 'x', headers));
    expect(http(429, { 'retry-after': '12' })).toEqual({ kind: 'rate_limited', error: 'http_429', retryAfterSec: 12 });
    expect(http(429)).toMatchObject({ retryAfterSec: DEFAULT_RETRY_AFTER_SEC });
    for (const s of [500, 502, 503, 504])
      expect(http(s)).toEqual({ kind: 'transient', error: `http_${s}`, ambiguous: true });
    for (const s of [408, 425]) expect(http(s)).toEqual({ kind: 'transient', error: `http_${s}`, ambiguous: false });
    for (const s of [400, 401, 403, 404, 405, 410, 413, 414, 422]) {
      expect(http(s)).toEqual({ kind: 'permanent', error: `http_${s}` });
    }
    expect(classifySlackHttpStatus(418)).toEqual({ kind: 'permanent', error: 'http_418' });
  });

  it('network errors and anything that is not a Slack error are transient (retried within the bound)', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifySlackError(new WebAPIRequestError(reset))).toEqual({
      kind: 'transient',
      error: 'ECONNRESET',
      ambiguous: true,
    });
    expect(classifySlackError(new TypeError('x is undefined'))).toEqual({
      kind: 'transient',
      error: 'TypeError',
      ambiguous: true,
    });
    expect(classifySlackError('a string')).toMatchObject({ kind: 'transient' });
  });

  it('toActivityFailure: permanent and installation-dead are non-retryable; rate limits carry nextRetryDelay', () => {
    const permanent = toActivityFailure('chat.postMessage', { kind: 'permanent', error: 'thread_not_found' });
    expect(permanent).toMatchObject({ type: FailureType.Permanent, nonRetryable: true });
    expect(permanent.message).toBe('Slack chat.postMessage failed permanently: thread_not_found');
    expect(permanent.details).toEqual([
      { system: 'slack', method: 'chat.postMessage', error: 'thread_not_found', kind: 'permanent' },
    ]);
    expect(toActivityFailure('chat.update', { kind: 'installation_dead', error: 'token_revoked' })).toMatchObject({
      type: FailureType.AuthRevoked,
      nonRetryable: true,
    });
    const limited = toActivityFailure('chat.postMessage', {
      kind: 'rate_limited',
      error: 'http_429',
      retryAfterSec: 7,
    });
    expect(limited).toMatchObject({ type: FailureType.RateLimited, nonRetryable: false, nextRetryDelay: '7s' });
    const transient = toActivityFailure('chat.postMessage', { kind: 'transient', error: 'http_503', ambiguous: true });
    expect(transient).toMatchObject({ type: FailureType.Transient, nonRetryable: false });
    expect(transient.nextRetryDelay).toBeUndefined();
  });
});

/** The same classes from errors the real client raises against the emulator's faults. */
describe('classifySlackError on what @slack/web-api really throws', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.emu.stop();
  });

  const thrown = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('the call should have failed'),
      (e: unknown) => e,
    );

  it('a lost answer (commit_then_timeout) is a transient, ambiguous request error', async () => {
    await h.admin.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout' });
    const err = await thrown(h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'lost answer' }));
    expect((err as { code?: string }).code).toBe(ErrorCode.RequestError);
    expect(classifySlackError(err)).toMatchObject({ kind: 'transient', ambiguous: true });
  });

  it('HTTP 503, 429 + Retry-After, 404 unknown method, an unknown code, and a revoked token', async () => {
    await h.admin.injectFault({ method: 'chat.postMessage', kind: 'status', status: 503 });
    expect(classifySlackError(await thrown(h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'x' })))).toEqual({
      kind: 'transient',
      error: 'http_503',
      ambiguous: true,
    });
    await h.admin.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter: 9 });
    expect(classifySlackError(await thrown(h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'x' })))).toEqual({
      kind: 'rate_limited',
      error: 'http_429',
      retryAfterSec: 9,
    });
    expect(classifySlackError(await thrown(h.client.apiCall('nonexistent.method')))).toEqual({
      kind: 'permanent',
      error: 'http_404',
    });
    await h.admin.injectFault({ method: 'chat.postMessage', kind: 'error', error: 'brand_new_error_2031' });
    expect(classifySlackError(await thrown(h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'x' })))).toEqual({
      kind: 'permanent',
      error: 'brand_new_error_2031',
    });
    expect(classifySlackError(await thrown(h.clientFor('xoxb-nobody').auth.test()))).toEqual({
      kind: 'installation_dead',
      error: 'invalid_auth',
    });
    expect(classifySlackError(await thrown(h.client.chat.postMessage({ channel: 'C0ARCHIVED', text: 'x' })))).toEqual({
      kind: 'permanent',
      error: 'is_archived',
    });
  });
});
