import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, type FailureDetails } from '../temporal/failure-types.js';
import type { Pool } from '../db/pool.js';
import type { Metrics } from '../observability/metrics.js';
import { createSlotSchedule, sleepInActivity } from './slot-schedule.js';

/** Slack's documented pace for chat.postMessage: about one message per second per channel. */
export const SLACK_CHANNEL_INTERVAL_MS = 1_000;
/**
 * The longest a post waits for its slot inside one activity attempt: Slack posts run with a 20 s
 * start-to-close timeout (SLACK_ACTIVITY_OPTIONS), and the post itself needs
 * `POST_TIME_NEEDED_MS` after the wait.
 */
export const MAX_SLOT_WAIT_MS = 7_000;
/**
 * What an attempt must still have before it calls chat.postMessage: the Slack client's 10 s
 * request timeout (quietClientOptions) plus a margin for clock skew. An attempt past its
 * start-to-close has a retry running already, whose lookup may have found nothing yet: if the
 * late attempt posted anyway, both would. So a late attempt never posts (it fails, and the retry
 * does the post), and no attempt claims a slot it could not use in time.
 */
export const POST_TIME_NEEDED_MS = 11_000;

export interface ChannelPacerDeps {
  pool: Pool;
  metrics?: Metrics;
  intervalMs?: number;
  maxWaitMs?: number;
  /**
   * Which Slack the schedule is for (its API URL): workers talking to different Slacks (an
   * emulator per test) never share slots.
   */
  scope: string;
}

/** Where a post goes: the channel of one workspace (channel ids are only unique within a workspace). */
export interface PacedChannel {
  channel: string;
  /** The installation (team or enterprise id) posting; absent in single-workspace mode. */
  teamId?: string | null | undefined;
}

/**
 * Per-channel outbound pacing shared by every worker process through Postgres (see
 * docs/architecture.md, "Outbound pacing"). One instance per worker. A schedule row is keyed by
 * Slack API URL + workspace + channel, so two workspaces with the same channel id pace apart.
 *
 * - `admit` waits for the post's slot (≤ `maxWaitMs`, cancellable with the activity) and, for a
 *   post with a key, records that it was admitted; a slot further out defers the attempt with a
 *   rate-limited failure whose `nextRetryDelay` brings it back when the queue has moved.
 * - `mayHavePosted` lets a retry skip the Slack lookup when every earlier attempt was deferred
 *   (none reached Slack), so a long queue costs no extra Slack reads. No record means "maybe":
 *   an attempt made by a worker before pacing existed is looked up as before.
 * - `holdOff` applies a 429's Retry-After to the channel for everyone.
 */
export function createChannelPacer(deps: ChannelPacerDeps) {
  const schedule = createSlotSchedule({
    pool: deps.pool,
    intervalMs: deps.intervalMs ?? SLACK_CHANNEL_INTERVAL_MS,
    maxWaitMs: deps.maxWaitMs ?? MAX_SLOT_WAIT_MS,
  });
  let waiting = 0;
  const setDepth = () => deps.metrics?.pacingQueueDepth.set(waiting);

  const key = (to: PacedChannel) => `slack ${deps.scope} ${to.teamId || '-'} ${to.channel}`;

  async function admit(input: PacedChannel & { idempotencyKey?: string }): Promise<void> {
    const budget = postBudgetMs();
    if (budget !== undefined && budget < 0) throw outOfTime();
    const slot = await schedule.claim(key(input), { maxWaitMs: budget });
    if ('deferred' in slot) {
      if (input.idempotencyKey)
        await deps.pool.query(
          `INSERT INTO slack_pacing_admissions (idempotency_key, state) VALUES ($1, 'deferred')
           ON CONFLICT (idempotency_key) DO NOTHING`,
          [input.idempotencyKey],
        );
      deps.metrics?.pacingDeferrals.inc();
      throw deferral(slot.retryInMs);
    }
    if (input.idempotencyKey)
      await deps.pool.query(
        `INSERT INTO slack_pacing_admissions (idempotency_key, state) VALUES ($1, 'admitted')
         ON CONFLICT (idempotency_key) DO UPDATE SET state = 'admitted', updated_at = now()`,
        [input.idempotencyKey],
      );
    deps.metrics?.pacingWaitSeconds.observe(slot.waitMs / 1000);
    if (slot.waitMs <= 0) return;
    waiting += 1;
    setDepth();
    try {
      await sleepInActivity(slot.waitMs);
    } finally {
      waiting -= 1;
      setDepth();
    }
    // A starved process can oversleep: the deadline is checked again right before the post.
    const left = postBudgetMs();
    if (left !== undefined && left < 0) throw outOfTime();
  }

  return {
    admit,
    /**
     * False only when every earlier attempt of this post was deferred by the pacer (so none reached
     * Slack); an admitted attempt, or no record at all (an attempt from before pacing), may have posted.
     */
    async mayHavePosted(idempotencyKey: string): Promise<boolean> {
      const r = await deps.pool.query<{ state: string }>(
        'SELECT state FROM slack_pacing_admissions WHERE idempotency_key = $1',
        [idempotencyKey],
      );
      return r.rows[0]?.state !== 'deferred';
    },
    async holdOff(input: PacedChannel & { retryAfterSec: number }): Promise<void> {
      await schedule.hold(key(input), input.retryAfterSec);
    },
    /** The post is recorded in `slack_messages`: its admission is no longer needed. */
    async settled(idempotencyKey: string): Promise<void> {
      await deps.pool.query('DELETE FROM slack_pacing_admissions WHERE idempotency_key = $1', [idempotencyKey]);
    },
  };
}
export type ChannelPacer = ReturnType<typeof createChannelPacer>;

/**
 * How long this attempt may still wait before its post (its start-to-close deadline minus
 * `POST_TIME_NEEDED_MS`), undefined outside an activity. The deadline is taken from the
 * attempt's schedule time, which is at or before its start: the estimate errs early, never late.
 */
function postBudgetMs(): number | undefined {
  let info: ReturnType<typeof activityInfo>;
  try {
    info = activityInfo();
  } catch {
    return undefined;
  }
  if (!info.startToCloseTimeoutMs) return undefined;
  return info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs - POST_TIME_NEEDED_MS - Date.now();
}

/** The attempt is too late to post safely: nothing was sent; the retry (which looks Slack up first) posts. */
function outOfTime(): ApplicationFailure {
  const details: FailureDetails = {
    system: 'slack',
    method: 'pacing',
    error: 'attempt_out_of_time',
    kind: 'transient',
  };
  return ApplicationFailure.create({
    type: FailureType.Transient,
    message: 'Slack post not attempted: too little of this attempt is left to post before its timeout',
    details: [details],
  });
}

/** The attempt ends before reaching Slack; it comes back when its slot would be within reach. */
function deferral(retryInMs: number): ApplicationFailure {
  const details: FailureDetails = {
    system: 'slack',
    method: 'pacing',
    error: 'channel_queue_full',
    kind: 'rate_limited',
  };
  return ApplicationFailure.create({
    type: FailureType.RateLimited,
    message: `Slack channel pacing: queue longer than one attempt may wait; retry in ${Math.ceil(retryInMs)} ms`,
    nextRetryDelay: Math.ceil(retryInMs),
    details: [details],
  });
}
