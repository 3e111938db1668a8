/** Result of asking a bucket for one token. */
export type TakeResult = { ok: true } | { ok: false; retryAfterSec: number };

/**
 * Keyed token buckets (e.g. per method+channel), the way Slack and Jira describe their limits:
 * a steady refill rate with a small burst. `now` is injectable so tests need no sleeps.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  take(key: string, now: number = Date.now()): TakeResult {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    const waitSec = (1 - b.tokens) / this.ratePerSec;
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil(waitSec)) };
  }

  reset(): void {
    this.buckets.clear();
  }
}
