import { performance } from 'node:perf_hooks';

/**
 * The time one request may still spend on its dependencies. Slack gives a webhook 3 s end to end
 * (its network, ours, the answer); every Postgres and Temporal call on the path draws on ONE
 * budget, so two calls in sequence cannot each take "their" 2 s and answer late.
 */
export interface Deadline {
  /** Milliseconds left (≤ 0 once spent). Monotonic: a wall-clock jump does not stretch it. */
  remainingMs(): number;
}

export interface RequestBudget extends Deadline {
  /** The deadline as epoch milliseconds (what `Client.withDeadline` takes). */
  readonly deadline: number;
  /** Settles like `work`, or rejects with `DeadlineExceededError` when the budget runs out first (`work` is abandoned, not cancelled). */
  within<T>(step: string, work: Promise<T>): Promise<T>;
  /** Resolves after `ms`, or earlier when the budget ends; false when the budget is spent. */
  pause(ms: number): Promise<boolean>;
}

/** The budget ran out while `step` was waiting. */
export class DeadlineExceededError extends Error {
  constructor(readonly step: string) {
    super(`${step} did not answer within the request's time budget`);
    this.name = 'DeadlineExceededError';
  }
}

/** A budget of `totalMs` counted from now (or from `startedAt`, a `performance.now()` reading). */
export function createBudget(totalMs: number, startedAt = performance.now()): RequestBudget {
  const endsAt = startedAt + totalMs;
  const remainingMs = () => endsAt - performance.now();
  return {
    remainingMs,
    get deadline() {
      return Date.now() + remainingMs();
    },
    within<T>(step: string, work: Promise<T>): Promise<T> {
      const left = remainingMs();
      if (left <= 0) {
        work.catch(() => undefined);
        return Promise.reject(new DeadlineExceededError(step));
      }
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new DeadlineExceededError(step)), left);
        work.then(
          (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      });
    },
    pause(ms: number): Promise<boolean> {
      const wait = Math.min(ms, remainingMs());
      if (wait <= 0) return Promise.resolve(false);
      return new Promise((resolve) => setTimeout(() => resolve(remainingMs() > 0), wait));
    },
  };
}
