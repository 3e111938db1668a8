import type { ReportWindow } from '../contract.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A time zone's UTC offset (ms, east positive) at an instant; computed outside the sandbox (Intl). */
export type OffsetAt = (atMs: number) => number;

/**
 * The window a run covers: it ends at the run's scheduled time truncated to the minute and
 * reaches back `lookbackMs`. Windows are whole minutes so that a trigger-now pressed twice in the
 * same minute, a retried run and a scheduled fire at that minute are the same window, whose
 * digest posts once (the posts' idempotency keys are the report id plus the window's end).
 *
 * A lookback of whole days counts calendar days in the report's time zone (`offsetAt`): "7d"
 * before Monday 09:00 is the previous Monday 09:00 even across a DST change, not 08:00 or 10:00.
 */
export function reportWindow(scheduledAtMs: number, lookbackMs: number, offsetAt?: OffsetAt): ReportWindow {
  const endMs = Math.floor(scheduledAtMs / MINUTE_MS) * MINUTE_MS;
  let startMs = endMs - lookbackMs;
  if (offsetAt && lookbackMs % DAY_MS === 0) startMs += offsetAt(endMs) - offsetAt(startMs);
  return { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() };
}

/** The window's end as it appears in idempotency keys and run ids (`2026-03-09T13:00Z`). */
export function windowKey(endIso: string): string {
  return endIso.replace(/:00\.000Z$/, 'Z');
}
