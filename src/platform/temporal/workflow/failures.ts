import { RetryState } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  setHandler,
  TimeoutFailure,
} from '@temporalio/workflow';
import {
  RETRY_REFUSED,
  retryFailedDeliveryUpdate,
  type RetryDeliveryRequest,
  type RetryDeliveryResult,
} from '../../ops/contract.js';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES, type FailureDetails } from '../failure-types.js';

/**
 * The ApplicationFailure behind an activity failure when retrying cannot help (non-retryable, or
 * one of our permanent types), else undefined. Kept for the pre-`loud-step-failures` path of
 * `tolerant` (running workflows replay it) and for flows that only care about this case.
 */
export function permanentActivityFailure(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure &&
    (cause.nonRetryable || NON_RETRYABLE_FAILURE_TYPES.includes(cause.type ?? ''))
    ? cause
    : undefined;
}

/** Why a step ended without its effect. */
export type StepFailureReason = 'permanent' | 'installation_dead' | 'retries_exhausted' | 'timed_out';

/** A step's activity that will not be retried any more, as the workflow describes it. */
export interface StepFailure {
  reason: StepFailureReason;
  activityType: string;
  /** `ActivityFailure.retryState`: NON_RETRYABLE_FAILURE, MAXIMUM_ATTEMPTS_REACHED, TIMEOUT, … */
  retryState: string;
  /** The last attempt's `ApplicationFailure.type`, when there was one. */
  failureType?: string;
  /** From the classified failure's details when the activity classified it (else inferred). */
  system: string;
  method: string;
  error: string;
  /** The last attempt's message, bounded (error codes and ids only: our failures carry no PII). */
  message: string;
}

const SYSTEM_OF_ACTIVITY: Readonly<Record<string, string>> = {
  postSlackMessage: 'slack',
  updateSlackMessage: 'slack',
  openSlackView: 'slack',
  postSlackEphemeral: 'slack',
  respondToSlack: 'slack',
  recordAudit: 'postgres',
};

/** Walks `cause` links to the innermost ApplicationFailure (a timeout's cause is the last attempt's failure). */
function lastApplicationFailure(err: Error | undefined): ApplicationFailure | undefined {
  for (let e: Error | undefined = err, depth = 0; e && depth < 5; e = (e as { cause?: Error }).cause, depth++) {
    if (e instanceof ApplicationFailure) return e;
  }
  return undefined;
}

/**
 * Describes an activity failure that reached workflow code, i.e. the activity's retry policy is
 * done with it: it failed permanently, ran out of attempts, or ran out of time (schedule-to-close).
 * Each of these means the step's effect will not happen, so all of them are reported the same
 * way. Cancellation is not a failure of the step (the workflow asked for it): undefined, as for
 * anything that is not an activity failure (a bug must still fail the workflow task loudly).
 */
export function finalActivityFailure(err: unknown): StepFailure | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  if (err.retryState === RetryState.CANCEL_REQUESTED || err.cause instanceof CancelledFailure) return undefined;
  const app = lastApplicationFailure(err.cause);
  const details = app?.details?.[0] as Partial<FailureDetails> | undefined;
  const timedOut = err.cause instanceof TimeoutFailure || err.retryState === RetryState.TIMEOUT;
  const reason: StepFailureReason =
    app?.type === FailureType.AuthRevoked
      ? 'installation_dead'
      : err.retryState === RetryState.NON_RETRYABLE_FAILURE ||
          app?.nonRetryable ||
          NON_RETRYABLE_FAILURE_TYPES.includes(app?.type ?? '')
        ? 'permanent'
        : timedOut
          ? 'timed_out'
          : 'retries_exhausted';
  const timeout = err.cause instanceof TimeoutFailure ? `timeout_${err.cause.timeoutType ?? 'unknown'}` : undefined;
  return {
    reason,
    activityType: err.activityType,
    retryState: err.retryState ?? 'UNSPECIFIED',
    ...(app?.type ? { failureType: app.type } : {}),
    system: details?.system ?? SYSTEM_OF_ACTIVITY[err.activityType] ?? 'unknown',
    method: details?.method ?? err.activityType,
    error: details?.error ?? timeout ?? app?.type ?? 'unknown',
    message: (app?.message ?? err.cause?.message ?? err.message).slice(0, 300),
  };
}

/** How many failed steps one run remembers for a retry (the oldest is forgotten first). */
export const REMEMBERED_FAILED_STEPS = 50;

/** Writes one audit row (the lifecycle's auditor; typed here so this file needs no import of it). */
type AuditRow = (
  action: string,
  step: string,
  extra?: {
    actor?: { kind: 'api_client'; id: string };
    targetSystem?: string;
    outcome?: 'ok' | 'failed';
    details?: Record<string, unknown>;
  },
) => Promise<boolean>;

interface FailedStep {
  /** The step's call, exactly as the workflow made it: same activity, same arguments, same idempotency key. */
  call: () => Promise<unknown>;
  /** Puts a retried step's result where the workflow uses it (a root post that failed: the thread starts now). */
  onRetried: ((result: unknown) => Promise<void> | void) | undefined;
  /** The failed activity, for the audit row and the supersede rule. */
  activityType: string;
  system: string;
  state: 'failed' | 'retrying' | 'delivered';
  attempts: number;
  /** When it failed, in tolerant calls of this run (for the supersede rule). */
  seq: number;
}

/** What `createFailedSteps` gives `tolerant`. */
export interface FailedSteps {
  /** Remembers a step that will not happen, so an operator can retry it in this run. */
  remember(
    step: string,
    f: StepFailure,
    call: () => Promise<unknown>,
    onRetried?: (result: unknown) => Promise<void> | void,
  ): void;
  /** A tolerant step succeeded; if it had failed before under that name, nothing is left to retry. */
  delivered(step: string): void;
}

const refuse = (message: string) => ApplicationFailure.create({ type: RETRY_REFUSED, message, nonRetryable: true });

/**
 * The failed steps of one run and the `retryFailedDelivery` update that runs one again.
 *
 * Why an update and not a signal: the operator who clicks Retry gets the outcome (delivered, or
 * failed again and why), and a refusal (an unknown step, one still retrying, one already
 * delivered) is a rejected update, which writes nothing into history. Registering the handler
 * adds no command, so histories recorded before it replay unchanged; a worker without the handler
 * rejects the update, so no history can hold an accepted retry that older code would not replay.
 *
 * What is remembered is the step's call itself (a closure: same activity, same arguments, so the
 * same idempotency key and the exactly-once poster finds a message that landed after all), bounded
 * to REMEMBERED_FAILED_STEPS, and only for this run: continue-as-new cannot carry a closure, so
 * the console offers no Retry for a failure of an earlier run. A message update is retried only
 * while it is the newest failed update and no step of the run has succeeded since: a later success
 * may have been a newer update, and re-running an older one would show an older state than the
 * thread already shows (refusing is safe; the console says why).
 */
export function createFailedSteps(audit: AuditRow): FailedSteps {
  const steps = new Map<string, FailedStep>();
  /** The newest failed `updateSlackMessage` step, and tolerant outcomes so far: the supersede rule. */
  let newestUpdate: string | undefined;
  let seq = 0;
  let lastSuccess = 0;

  setHandler(
    retryFailedDeliveryUpdate,
    async (req: RetryDeliveryRequest): Promise<RetryDeliveryResult> => {
      const f = steps.get(req.step)!;
      f.state = 'retrying';
      const attempt = ++f.attempts;
      const actor = { kind: 'api_client' as const, id: req.requestedBy };
      try {
        const result = await f.call();
        f.state = 'delivered';
        await f.onRetried?.(result);
        await audit('delivery.retried', `delivery_retried:${req.step}:${attempt}`, {
          actor,
          targetSystem: f.system,
          outcome: 'ok',
          details: { step: req.step, attempt, activityType: f.activityType },
        });
        return { outcome: 'delivered', step: req.step, attempt };
      } catch (err) {
        f.state = 'failed';
        const failure = finalActivityFailure(err);
        // A bug (not an activity failure) must still fail the workflow task loudly.
        if (!failure) throw err;
        await audit('delivery.retried', `delivery_retried:${req.step}:${attempt}`, {
          actor,
          targetSystem: failure.system,
          outcome: 'failed',
          details: { step: req.step, attempt, reason: failure.reason, error: failure.error, message: failure.message },
        });
        return { outcome: 'failed', step: req.step, attempt, reason: failure.reason, error: failure.error };
      }
    },
    {
      validator: (req: RetryDeliveryRequest) => {
        const f = steps.get(req.step);
        if (!f)
          throw refuse(
            'this run has no failed step by that name: it was never remembered here (an earlier run, or more than ' +
              `${REMEMBERED_FAILED_STEPS} failures since)`,
          );
        if (f.state === 'retrying') throw refuse('a retry of this step is already running');
        if (f.state === 'delivered') throw refuse('this step has been delivered already');
        if (f.activityType === 'updateSlackMessage' && (newestUpdate !== req.step || lastSuccess > f.seq))
          throw refuse('a newer update of the thread was made since; retrying this one would show an older state');
      },
    },
  );

  return {
    remember(step, f, call, onRetried) {
      if (f.activityType === 'updateSlackMessage') newestUpdate = step;
      steps.delete(step);
      const { activityType, system } = f;
      steps.set(step, { call, onRetried, activityType, system, state: 'failed', attempts: 0, seq: ++seq });
      if (steps.size > REMEMBERED_FAILED_STEPS) steps.delete(steps.keys().next().value!);
    },
    delivered(step) {
      lastSuccess = ++seq;
      const f = steps.get(step);
      if (f) f.state = 'delivered';
    },
  };
}
