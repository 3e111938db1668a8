import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  RetryState,
  TimeoutFailure,
  type ActivityOptions,
} from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { describe, expect, it } from 'vitest';
import { toActivityFailure } from '../../../src/integrations/slack/errors.js';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../../../src/platform/temporal/failure-types.js';
import { finalActivityFailure } from '../../../src/platform/temporal/workflow/failures.js';
import * as presets from '../../../src/platform/temporal/workflow/presets.js';

const activityFailure = (retryState: RetryState, cause: Error, activityType = 'postSlackMessage') =>
  new ActivityFailure('activity failed', activityType, '7', retryState, 'worker-1', cause);

describe('finalActivityFailure: every way a step ends without its effect', () => {
  it('a permanent Slack failure (non-retryable) names system, method and code', () => {
    const f = finalActivityFailure(
      activityFailure(
        RetryState.NON_RETRYABLE_FAILURE,
        toActivityFailure('chat.postMessage', { kind: 'permanent', error: 'thread_not_found' }),
      ),
    );
    expect(f).toEqual({
      reason: 'permanent',
      activityType: 'postSlackMessage',
      retryState: 'NON_RETRYABLE_FAILURE',
      failureType: FailureType.Permanent,
      system: 'slack',
      method: 'chat.postMessage',
      error: 'thread_not_found',
      message: 'Slack chat.postMessage failed permanently: thread_not_found',
    });
  });

  it('a dead installation is its own reason', () => {
    const f = finalActivityFailure(
      activityFailure(
        RetryState.NON_RETRYABLE_FAILURE,
        toActivityFailure('chat.update', { kind: 'installation_dead', error: 'token_revoked' }),
        'updateSlackMessage',
      ),
    );
    expect(f).toMatchObject({ reason: 'installation_dead', error: 'token_revoked', method: 'chat.update' });
  });

  it('a transient failure that ran out of attempts is reported like a permanent one (retries_exhausted)', () => {
    const last = toActivityFailure('chat.postMessage', { kind: 'transient', error: 'http_503', ambiguous: true });
    expect(finalActivityFailure(activityFailure(RetryState.MAXIMUM_ATTEMPTS_REACHED, last))).toMatchObject({
      reason: 'retries_exhausted',
      retryState: 'MAXIMUM_ATTEMPTS_REACHED',
      failureType: FailureType.Transient,
      error: 'http_503',
    });
  });

  it('schedule-to-close: timed_out, with the last attempt’s error when the timeout carries it', () => {
    const timeout = new TimeoutFailure('timed out', undefined, 'SCHEDULE_TO_CLOSE');
    Object.assign(timeout, {
      cause: toActivityFailure('chat.postMessage', { kind: 'transient', error: 'ECONNRESET', ambiguous: true }),
    });
    expect(finalActivityFailure(activityFailure(RetryState.TIMEOUT, timeout))).toMatchObject({
      reason: 'timed_out',
      error: 'ECONNRESET',
    });
    const bare = new TimeoutFailure('timed out', undefined, 'START_TO_CLOSE');
    expect(finalActivityFailure(activityFailure(RetryState.MAXIMUM_ATTEMPTS_REACHED, bare, 'recordAudit'))).toEqual({
      reason: 'timed_out',
      activityType: 'recordAudit',
      retryState: 'MAXIMUM_ATTEMPTS_REACHED',
      system: 'postgres',
      method: 'recordAudit',
      error: 'timeout_START_TO_CLOSE',
      message: 'timed out',
    });
  });

  it('cancellation and non-activity errors are not step failures (they propagate)', () => {
    expect(finalActivityFailure(activityFailure(RetryState.CANCEL_REQUESTED, new CancelledFailure('x')))).toBe(
      undefined,
    );
    expect(finalActivityFailure(new TypeError('bug'))).toBeUndefined();
    expect(finalActivityFailure(ApplicationFailure.nonRetryable('not an activity'))).toBeUndefined();
  });
});

describe('activity option presets', () => {
  const all = Object.entries(presets) as [string, ActivityOptions][];

  it.each(all)('%s is bounded (schedule-to-close or maximum attempts) and lists the permanent types', (_name, o) => {
    const bounded = o.scheduleToCloseTimeout !== undefined || (o.retry?.maximumAttempts ?? 0) > 0;
    expect(bounded).toBe(true);
    expect(o.startToCloseTimeout).toBeDefined();
    expect(o.retry?.nonRetryableErrorTypes).toEqual(NON_RETRYABLE_FAILURE_TYPES);
  });

  it('bounds fit their callers: a trigger_id lives 3 s, a response_url 30 min, a lookup someone waits for seconds', () => {
    expect(msToNumber(presets.SLACK_VIEW_OPTIONS.scheduleToCloseTimeout!)).toBeLessThanOrEqual(5_000);
    expect(msToNumber(presets.SLACK_RESPONSE_URL_OPTIONS.scheduleToCloseTimeout!)).toBeLessThan(30 * 60_000);
    expect(msToNumber(presets.SLACK_LOOKUP_OPTIONS.scheduleToCloseTimeout!)).toBeLessThanOrEqual(30_000);
    // The report of a failure must give up before the step it reports would have (no pile-up behind it).
    expect(msToNumber(presets.OPS_ALERT_OPTIONS.scheduleToCloseTimeout!)).toBeLessThan(
      msToNumber(presets.SLACK_ACTIVITY_OPTIONS.scheduleToCloseTimeout!),
    );
  });
});
