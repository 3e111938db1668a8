import { localNaiveMs, localToInstant } from '../../../platform/time/zones.js';
import type { RotationSpec, ScheduleSpec, ShiftLength } from '../contract.js';

export { isTimeZone, localNaiveMs, localToInstant, offsetMs } from '../../../platform/time/zones.js';

/**
 * On-call schedules, computed by pure functions of (schedule, instant). Time zones come from
 * `Intl` (IANA data shipped with Node), so no date library is needed.
 *
 * Shifts are measured in the schedule's local wall-clock time: a weekly rotation that hands off
 * at 09:00 Europe/Berlin hands off at 09:00 local before and after a DST change, and the shift
 * spanning the change is an hour shorter or longer. A handoff that falls in a spring-forward gap
 * happens at the first instant after the gap; one in a fall-back overlap at its first occurrence
 * (the `compatible` disambiguation of Temporal's proposal and most calendars).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `YYYY-MM-DDTHH:mm` (or with `:ss`) → naive ms; undefined when malformed. */
export function parseLocalDateTime(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  // Reject 2026-02-30 and 25:00 instead of letting Date roll them over.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23)
    return undefined;
  return ms;
}

function shiftNaiveMs(s: ShiftLength): number {
  return s.count * (s.unit === 'hour' ? HOUR : s.unit === 'day' ? DAY : 7 * DAY);
}

/** The instant of the k-th handoff of a rotation (k = 0 is its start). */
export function handoffAt(timeZone: string, r: RotationSpec, k: number): number {
  const start = parseLocalDateTime(r.start);
  if (start === undefined) throw new Error(`rotation start ${r.start} is not YYYY-MM-DDTHH:mm`);
  return localToInstant(timeZone, start + k * shiftNaiveMs(r.shift));
}

/** Index of the shift containing `t` (negative before the rotation starts). */
export function shiftIndex(timeZone: string, r: RotationSpec, t: number): number {
  const start = parseLocalDateTime(r.start)!;
  let k = Math.floor((localNaiveMs(timeZone, t) - start) / shiftNaiveMs(r.shift));
  // The naive estimate can be off by one around a DST change: settle on real handoff instants.
  while (handoffAt(timeZone, r, k) > t) k--;
  while (handoffAt(timeZone, r, k + 1) <= t) k++;
  return k;
}

export interface OnCallAt {
  /** Who is on call (undefined: nobody, e.g. before every rotation starts). */
  user?: string;
  /** `override` or `rotation <n>` (1-based layer). */
  via?: string;
  /** When this answer can next change (a handoff, an override starting or ending). */
  until?: number;
}

/** Who is on call at instant `t`. */
export function onCallAt(schedule: ScheduleSpec, t: number): OnCallAt {
  const changes: number[] = [];
  let user: string | undefined;
  let via: string | undefined;
  for (const [i, o] of schedule.overrides.entries()) {
    if (o.fromMs > t) changes.push(o.fromMs);
    if (o.toMs > t) changes.push(o.toMs);
    if (o.fromMs <= t && t < o.toMs) {
      user = o.user;
      via = `override ${i + 1}`;
    }
  }
  let layerUser: string | undefined;
  let layerVia: string | undefined;
  for (const [i, r] of schedule.rotations.entries()) {
    if (r.people.length === 0) continue;
    const k = shiftIndex(schedule.timeZone, r, t);
    changes.push(handoffAt(schedule.timeZone, r, Math.max(0, k + 1)));
    if (k >= 0) {
      layerUser = r.people[k % r.people.length];
      layerVia = `rotation ${i + 1}`;
    }
  }
  if (user === undefined) {
    user = layerUser;
    via = layerVia;
  }
  const until = changes.length ? Math.min(...changes) : undefined;
  return { ...(user ? { user, via } : {}), ...(until !== undefined ? { until } : {}) };
}

export interface OnCallAnswer {
  now: OnCallAt;
  /** The next person to be on call (a different one), and from when. */
  next?: { user?: string; from: number; until?: number };
}

/** Who is on call at `t`, and who takes over next (skipping handoffs to the same person). */
export function whoIsOnCall(schedule: ScheduleSpec, t: number): OnCallAnswer {
  const now = onCallAt(schedule, t);
  let at = now.until;
  for (let i = 0; at !== undefined && i < 100; i++) {
    const then = onCallAt(schedule, at);
    if (then.user !== now.user) return { now, next: { user: then.user, from: at, until: then.until } };
    at = then.until;
  }
  return { now };
}
