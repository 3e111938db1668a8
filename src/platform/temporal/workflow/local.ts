import { RetryState } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  // The one place that may call it (eslint bans it elsewhere in sandboxed code).
  // eslint-disable-next-line no-restricted-imports
  proxyLocalActivities,
  TimeoutFailure,
  type LocalActivityInterfaceFor,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../failure-types.js';

/**
 * `proxyLocalActivities` whose final failures are always an `ActivityFailure`, live and on replay.
 *
 * Why: the SDK's core writes a local activity's final failure into its marker as the bare cause
 * (sdk-core#449: not wrapped in `ActivityFailureInfo`). The live run sees an `ActivityFailure`
 * whose cause is a `TimeoutFailure` after schedule-to-close; replaying the same history (a query
 * on a closed workflow, a worker restart, a cache eviction) hands the workflow that bare
 * `TimeoutFailure`. (An `ApplicationFailure` after the last attempt replays wrapped in SDK 1.24;
 * a bare one is handled alike.) Code that handles `instanceof ActivityFailure` and rethrows
 * anything else then fails the workflow on replay where the live run went on: a nondeterminism
 * error, and a workflow that no worker can advance or query (a query on a closed workflow whose
 * lookup had timed out answered 503 instead of its state).
 *
 * The wrapper gives the bare cause its `ActivityFailure` back (activity type from the call; retry
 * state from the cause), so every catch site and `finalActivityFailure` see one shape. It changes
 * no command: only what a rejected promise holds.
 */
export function localActivities<A extends object>(options: LocalActivityOptions): LocalActivityInterfaceFor<A> {
  const inner = proxyLocalActivities<A>(options) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return new Proxy({} as LocalActivityInterfaceFor<A>, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      return async (...args: unknown[]) => {
        try {
          return await inner[name]!(...args);
        } catch (err) {
          throw asActivityFailure(err, name);
        }
      };
    },
  });
}

/** The failure of a local activity call, as an `ActivityFailure` (see `localActivities`). */
export function asActivityFailure(err: unknown, activityType: string): unknown {
  if (err instanceof ActivityFailure) return err;
  if (err instanceof TimeoutFailure)
    return new ActivityFailure(err.message, activityType, undefined, RetryState.TIMEOUT, undefined, err);
  if (err instanceof ApplicationFailure) {
    const final = err.nonRetryable || NON_RETRYABLE_FAILURE_TYPES.includes(err.type ?? '');
    return new ActivityFailure(
      err.message,
      activityType,
      undefined,
      final ? RetryState.NON_RETRYABLE_FAILURE : RetryState.MAXIMUM_ATTEMPTS_REACHED,
      undefined,
      err,
    );
  }
  return err;
}
