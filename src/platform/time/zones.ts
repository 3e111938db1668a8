/**
 * Wall-clock time in IANA time zones, from `Intl` (the zone data shipped with Node), so no date
 * library is needed. Pure and deterministic (workflow and domain code may use it): the same
 * zone and instant always give the same answer.
 *
 * "Naive" ms are a local wall time's fields read as if they were UTC, so local arithmetic
 * (add a day, align to 09:00) is plain number arithmetic.
 */

const DAY = 86_400_000;

/** One wall-clock formatter per zone (building one is the slow part). */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `Intl` knows the zone (config validation). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Local wall time at `instantMs` as "naive" ms (the local fields read as if they were UTC). */
export function localNaiveMs(timeZone: string, instantMs: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const secondsFloor = Math.floor(instantMs / 1000) * 1000;
  return (
    Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute, parts.second) +
    (instantMs - secondsFloor)
  );
}

/** The zone's offset from UTC at an instant (ms; +1 h for CET). */
export function offsetMs(timeZone: string, instantMs: number): number {
  return localNaiveMs(timeZone, instantMs) - instantMs;
}

/** The instant a local wall time happens (gap → after the gap, overlap → its first occurrence). */
export function localToInstant(timeZone: string, naiveMs: number): number {
  const before = offsetMs(timeZone, naiveMs - DAY);
  const after = offsetMs(timeZone, naiveMs + DAY);
  const candidates = [...new Set([before, after])]
    .map((o) => naiveMs - o)
    .filter((t) => offsetMs(timeZone, t) === naiveMs - t);
  if (candidates.length > 0) return Math.min(...candidates);
  // In a gap: the offset before the change maps the wall time past the gap (02:30 → 03:30 CEST).
  return naiveMs - before;
}
