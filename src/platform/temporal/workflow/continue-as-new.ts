import { allHandlersFinished, condition, patched, workflowInfo } from '@temporalio/workflow';

/**
 * Continue-as-new for long-lived lifecycle workflows, checked where the workflow waits.
 *
 * A lifecycle spends almost all its life inside one `condition(…, timeout)`; signals that only
 * change state (people's replies, reactions) add history there without ever leaving the wait, so
 * a check placed after the work loop is never reached by a chatty thread. The check therefore
 * belongs in the wait condition itself (Temporal's `safe-message-handlers` sample), and before
 * continuing the run waits for every handler to finish and carries only bounded state.
 *
 * Sandbox code: Temporal's APIs only.
 */

/** Patch id of "the continue-as-new check is part of the wait condition" (see docs/architecture.md, Versioning). */
export const CONTINUE_AS_NEW_IN_WAIT_PATCH = 'threadline-continue-as-new-in-wait';

/** Part of a long-lived workflow's input. */
export interface ContinueAsNewOptions {
  /**
   * Test hook: continue as new once this run's history holds at least this many events. Unset in
   * production, where the server's suggestion (4,096 events or 4 MiB) decides.
   */
  continueAsNewAfterEvents?: number;
}

export interface ContinueAsNewCheck {
  /** False in runs whose history predates the check in the wait: they keep their old waits too. */
  readonly inWait: boolean;
  /** True when this run should hand over to a new one (server suggestion or the test threshold). */
  due(): boolean;
  /**
   * `due()` for use inside a wait condition. Always false in runs whose history was written before
   * the check moved into the wait (they never continued there; replaying them must not either).
   */
  dueWhileWaiting(): boolean;
}

/**
 * Builds the check for one run. Call it once, before the first `await`, so the patch marker is
 * the run's first command and every later decision of the run sees the same answer.
 */
export function continueAsNewCheck(opts: ContinueAsNewOptions): ContinueAsNewCheck {
  const inWait = patched(CONTINUE_AS_NEW_IN_WAIT_PATCH);
  const threshold = opts.continueAsNewAfterEvents;
  const due = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (threshold !== undefined && info.historyLength >= threshold);
  };
  return { inWait, due, dueWhileWaiting: () => inWait && due() };
}

/**
 * Waits until no signal or update handler is running (and `idle()`, e.g. no background work),
 * so continuing as new never abandons a handler half-way. Signals accepted meanwhile are already
 * in the state the caller is about to carry.
 */
export async function untilHandlersFinished(idle: () => boolean = () => true): Promise<void> {
  await condition(() => allHandlersFinished() && idle());
}
