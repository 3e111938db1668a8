import { setTimeout as delay } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { Pool } from '../db/pool.js';

/**
 * Claims the next free slot of a target in one statement: the row's `next_slot_at` moves one
 * interval past max(its value, now), so concurrent claimers (any process) are serialized by the
 * row lock and each gets its own slot. A slot further out than the caller may wait is not claimed
 * (WHERE on the conflict update; a fresh row always qualifies): the caller defers instead, and
 * the schedule does not fill with slots nobody will use. The wait is computed by Postgres against
 * its own clock (one clock for every process); `queued_ms` is how far out the schedule already is
 * when nothing was claimed.
 */
const CLAIM_SQL = `
  WITH claimed AS (
    INSERT INTO outbound_pacing AS p (key, next_slot_at)
    VALUES ($1, now() + make_interval(secs => $2::float8 / 1000))
    ON CONFLICT (key) DO UPDATE
      SET next_slot_at = GREATEST(p.next_slot_at, now()) + make_interval(secs => $2::float8 / 1000)
      WHERE p.next_slot_at <= now() + make_interval(secs => $3::float8 / 1000)
    RETURNING GREATEST(0, EXTRACT(EPOCH FROM (p.next_slot_at - now())) * 1000 - $2::float8) AS wait_ms
  )
  SELECT (SELECT wait_ms FROM claimed) AS wait_ms,
         (SELECT GREATEST(0, EXTRACT(EPOCH FROM (next_slot_at - now())) * 1000)
            FROM outbound_pacing WHERE key = $1) AS queued_ms`;

/** A hold (a 429's Retry-After): no slot of the target starts before it ends, for any process. */
const HOLD_SQL = `
  INSERT INTO outbound_pacing AS p (key, next_slot_at)
  VALUES ($1, now() + make_interval(secs => $2::float8))
  ON CONFLICT (key) DO UPDATE
    SET next_slot_at = GREATEST(p.next_slot_at, now() + make_interval(secs => $2::float8))`;

/** How long a target is held, without claiming anything (0 when free). */
const HELD_SQL = `SELECT GREATEST(0, EXTRACT(EPOCH FROM (next_slot_at - now())) * 1000) AS wait_ms
  FROM outbound_pacing WHERE key = $1`;

/** A claim's outcome: wait `waitMs` then go, or come back in about `retryInMs` (nothing was claimed). */
export type SlotClaim = { waitMs: number } | { deferred: true; retryInMs: number };

export interface SlotScheduleDeps {
  pool: Pool;
  /** Time between two slots of one target. */
  intervalMs: number;
  /** The longest a caller waits for a slot; a slot further out is not claimed. */
  maxWaitMs: number;
}

/**
 * A per-target schedule of slots shared by every process through Postgres (table
 * `outbound_pacing`, see docs/architecture.md, "Outbound pacing"). Generic: the caller names its
 * targets (`slack <api> <team> <channel>`, `jira <site> issue <id>`); nothing here knows a system.
 */
export function createSlotSchedule(deps: SlotScheduleDeps) {
  return {
    intervalMs: deps.intervalMs,
    maxWaitMs: deps.maxWaitMs,
    /**
     * One round trip: a slot within `maxWaitMs` (or the caller's smaller `opts.maxWaitMs`, what it
     * has left), or a deferral sized by the queue ahead.
     */
    async claim(key: string, opts: { maxWaitMs?: number } = {}): Promise<SlotClaim> {
      const maxWaitMs = Math.max(0, Math.min(deps.maxWaitMs, opts.maxWaitMs ?? deps.maxWaitMs));
      const r = await deps.pool.query<{ wait_ms: number | null; queued_ms: number | null }>(CLAIM_SQL, [
        key,
        deps.intervalMs,
        maxWaitMs,
      ]);
      const row = r.rows[0];
      if (row?.wait_ms !== null && row?.wait_ms !== undefined) return { waitMs: Number(row.wait_ms) };
      const queuedMs = Number(row?.queued_ms ?? deps.intervalMs);
      // Back when the slot would be within one full wait: the queue ahead minus what one attempt may wait.
      return { deferred: true, retryInMs: Math.max(deps.intervalMs, queuedMs - deps.maxWaitMs + deps.intervalMs) };
    },
    /** Holds the target for `seconds` for every process (slots already claimed still run). */
    async hold(key: string, seconds: number): Promise<void> {
      await deps.pool.query(HOLD_SQL, [key, seconds]);
    },
    /** How long the target is held or booked from now, in ms (0 when free). */
    async heldFor(key: string): Promise<number> {
      const r = await deps.pool.query<{ wait_ms: number }>(HELD_SQL, [key]);
      return Number(r.rows[0]?.wait_ms ?? 0);
    },
  };
}
export type SlotSchedule = ReturnType<typeof createSlotSchedule>;

/** Sleeps with the activity (a cancelled activity stops waiting); a plain timer outside one. */
export async function sleepInActivity(ms: number): Promise<void> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined;
  }
  if (ctx) await ctx.sleep(ms);
  else await delay(ms);
}
