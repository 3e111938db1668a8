/** Durations as people write them in requests: `90s`, `30m`, `2h`, `1d`, `500ms` (a single unit). */
const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PATTERN = /^(\d{1,7})(ms|s|m|h|d)$/;

/** The longest duration accepted: a year (timers are durable, but a forgotten request should not live forever). */
export const MAX_DURATION_MS = 365 * UNITS.d;

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

/** Parses `"30m"` → 1_800_000. Errors say what is expected, so a 400 can quote them. */
export function parseDuration(input: string): DurationResult {
  const m = PATTERN.exec(input.trim());
  if (!m) return { ok: false, message: `"${input.slice(0, 40)}" is not a duration like 90s, 30m, 2h or 1d` };
  const ms = Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
  if (ms <= 0) return { ok: false, message: 'must be greater than zero' };
  if (ms > MAX_DURATION_MS) return { ok: false, message: 'must be at most 365d' };
  return { ok: true, ms };
}

/** `90000` → `1m30s`; `7200000` → `2h`. */
export function formatDurationShort(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let s = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join('');
}
