import { setTimeout as delay } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, type FailureDetails } from '../temporal/failure-types.js';
import type { Pool } from '../db/pool.js';
import type { Metrics } from '../observability/metrics.js';

/** Slack's documented pace for chat.postMessage: about one message per second per channel. */
export const SLACK_CHANNEL_INTERVAL_MS = 1_000;
/**
 * The longest a post waits for its slot inside one activity attempt: Slack posts run with a 20 s
 * start-to-close timeout (SLACK_ACTIVITY_OPTIONS), and the post itself needs time after the wait.
 */
export const MAX_SLOT_WAIT_MS = 12_000;

export interface ChannelPacerDeps {
  pool: Pool;
  metrics?: Metrics;
  intervalMs?: number;
  maxWaitMs?: number;
  /**
   * Which Slack the schedule is for (its API URL): rows are keyed `<scope> <channel>`, so workers
   * talking to different Slacks (an emulator per test, a workspace per installation) never share slots.
   */
  scope: string;
}

/**
 * Claims the next free slot in one statement: the row's `next_slot_at` moves one interval past
 * max(its value, now), so concurrent claimers (any process) are serialized by the row lock and
 * each gets its own slot. A slot further out than the caller may wait is not claimed (WHERE on
 * the conflict update, or the CTE for a fresh row never qualifies): the caller defers instead,
 * and the schedule does not fill with slots nobody will use.
 * Returns the wait in ms, computed by Postgres against its own clock (one clock for every process).
 */
const CLAIM_SQL = `
  INSERT INTO slack_channel_pacing AS p (channel, next_slot_at)
  VALUES ($1, now() + make_interval(secs => $2::float8 / 1000))
  ON CONFLICT (channel) DO UPDATE
    SET next_slot_at = GREATEST(p.next_slot_at, now()) + make_interval(secs => $2::float8 / 1000)
    WHERE p.next_slot_at <= now() + make_interval(secs => $3::float8 / 1000)
  RETURNING GREATEST(0, EXTRACT(EPOCH FROM (p.next_slot_at - now())) * 1000 - $2::float8) AS wait_ms`;

const PEEK_SQL = `SELECT GREATEST(0, EXTRACT(EPOCH FROM (next_slot_at - now())) * 1000) AS wait_ms
  FROM slack_channel_pacing WHERE channel = $1`;

/** A Retry-After holds the channel for every process: no slot starts before it ends. */
const HOLD_SQL = `
  INSERT INTO slack_channel_pacing AS p (channel, next_slot_at)
  VALUES ($1, now() + make_interval(secs => $2::float8))
  ON CONFLICT (channel) DO UPDATE
    SET next_slot_at = GREATEST(p.next_slot_at, now() + make_interval(secs => $2::float8))`;

/**
 * Per-channel outbound pacing shared by every worker process through Postgres (see
 * docs/architecture.md, "Outbound pacing"). One instance per worker.
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
  const intervalMs = deps.intervalMs ?? SLACK_CHANNEL_INTERVAL_MS;
  const maxWaitMs = deps.maxWaitMs ?? MAX_SLOT_WAIT_MS;
  let waiting = 0;
  const setDepth = () => deps.metrics?.pacingQueueDepth.set(waiting);

  const key = (channel: string) => `${deps.scope} ${channel}`;

  async function admit(input: { channel: string; idempotencyKey?: string }): Promise<void> {
    const claimed = await deps.pool.query<{ wait_ms: number }>(CLAIM_SQL, [key(input.channel), intervalMs, maxWaitMs]);
    const slot = claimed.rows[0];
    if (!slot) {
      if (input.idempotencyKey)
        await deps.pool.query(
          `INSERT INTO slack_pacing_admissions (idempotency_key, state) VALUES ($1, 'deferred')
           ON CONFLICT (idempotency_key) DO NOTHING`,
          [input.idempotencyKey],
        );
      const peek = await deps.pool.query<{ wait_ms: number }>(PEEK_SQL, [key(input.channel)]);
      const queuedMs = Number(peek.rows[0]?.wait_ms ?? intervalMs);
      deps.metrics?.pacingDeferrals.inc();
      throw deferral(Math.max(1_000, queuedMs - maxWaitMs + intervalMs));
    }
    if (input.idempotencyKey)
      await deps.pool.query(
        `INSERT INTO slack_pacing_admissions (idempotency_key, state) VALUES ($1, 'admitted')
         ON CONFLICT (idempotency_key) DO UPDATE SET state = 'admitted', updated_at = now()`,
        [input.idempotencyKey],
      );
    const waitMs = Number(slot.wait_ms);
    deps.metrics?.pacingWaitSeconds.observe(waitMs / 1000);
    if (waitMs <= 0) return;
    waiting += 1;
    setDepth();
    try {
      await sleep(waitMs);
    } finally {
      waiting -= 1;
      setDepth();
    }
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
    async holdOff(channel: string, retryAfterSec: number): Promise<void> {
      await deps.pool.query(HOLD_SQL, [key(channel), retryAfterSec]);
    },
    /** The post is recorded in `slack_messages`: its admission is no longer needed. */
    async settled(idempotencyKey: string): Promise<void> {
      await deps.pool.query('DELETE FROM slack_pacing_admissions WHERE idempotency_key = $1', [idempotencyKey]);
    },
  };
}
export type ChannelPacer = ReturnType<typeof createChannelPacer>;

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

/** Sleeps with the activity (a cancelled activity stops waiting); a plain timer outside one. */
async function sleep(ms: number): Promise<void> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined;
  }
  if (ctx) await ctx.sleep(ms);
  else await delay(ms);
}
