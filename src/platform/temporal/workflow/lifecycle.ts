import { log, patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AuditEntry } from '../../audit/contract.js';
import type { OpsActivities } from '../../ops/activities.js';
import type { PermanentFailureReport } from '../../ops/contract.js';
import { createFailedSteps, finalActivityFailure, permanentActivityFailure, type StepFailure } from './failures.js';
import { OPS_ALERT_OPTIONS } from './presets.js';
import { SA_KIND, SA_STATUS, SA_SUBJECT } from './search-attributes.js';

/**
 * Workflow-side helpers every lifecycle workflow shares: the auditor (one audit row per step,
 * keyed by workflow id + step so retries and replays write once), the tolerant call (a step that
 * will not happen is audited, counted and alerted, and the lifecycle goes on), and the
 * search-attribute status. Sandbox code: no I/O, Temporal's clock only.
 */

const ops = proxyActivities<Pick<OpsActivities, 'reportPermanentFailure'>>(OPS_ALERT_OPTIONS);

/**
 * Patch ids (docs/architecture.md, "Versioning workflows"): histories recorded before them replay
 * the old behaviour. `loud-step-failures`: `tolerant` also catches steps that ran out of attempts
 * or time, and announces every caught failure. `loud-audit-failures`: an audit row that cannot be
 * written within its bound is reported instead of failing the run.
 */
const LOUD_STEP_FAILURES = 'loud-step-failures';
const LOUD_AUDIT_FAILURES = 'loud-audit-failures';

export type Auditor = (action: string, step: string, extra?: Partial<AuditEntry>) => Promise<boolean>;

/** `recordAudit` activity, as a workflow sees it (proxied with DB_ACTIVITY_OPTIONS by the caller). */
export type RecordAudit = (entry: AuditEntry) => Promise<boolean>;

/** In words, what a failed step's activity would have done (the alert's "not delivered" line). */
const NOT_DELIVERED: Readonly<Record<string, string>> = {
  postSlackMessage: 'a Slack message',
  updateSlackMessage: 'an update of a Slack message (it shows an older state)',
  openSlackView: 'a Slack modal',
  postSlackEphemeral: 'a message only one person would see',
  respondToSlack: 'an answer to the person who clicked or typed a command',
  recordAudit: 'an audit row',
};

/**
 * Announces a step that will not happen (metric + ops alert, exactly once per step). Never throws:
 * if the report itself cannot be made within its bound, the caller records that and goes on,
 * and a failed announcement is never announced in turn (no loop).
 */
async function report(step: string, f: StepFailure, notDelivered: string | undefined): Promise<boolean> {
  const info = workflowInfo();
  const input: PermanentFailureReport = {
    subject: info.workflowId,
    workflowId: info.workflowId,
    runId: info.runId,
    step,
    reason: f.reason,
    system: f.system,
    method: f.method,
    activityType: f.activityType,
    error: f.error,
    message: f.message,
    retryState: f.retryState,
    notDelivered: notDelivered ?? NOT_DELIVERED[f.activityType] ?? `the effect of ${f.activityType}`,
    occurredAt: new Date(Date.now()).toISOString(),
  };
  try {
    await ops.reportPermanentFailure(input);
    return true;
  } catch (err) {
    log.error('could not report a failed step (metric/ops alert)', {
      step,
      error: err instanceof Error ? err.message : String(err),
    });
    return false;
  }
}

/**
 * One audit row per call, keyed `<workflow id>:<step>:audit`. An audit write that cannot be made
 * within DB_ACTIVITY_OPTIONS' bound (Postgres down for half an hour) is reported loudly (metric +
 * ops alert naming the lost row) and answered `false`, so the audit trail's outage does not end
 * the lifecycle; cancellations and bugs still propagate.
 */
export function createAuditor(recordAudit: RecordAudit, opts: { actorId: string }): Auditor {
  const info = workflowInfo();
  return async (action, step, extra = {}) => {
    try {
      return await recordAudit({
        subject: info.workflowId,
        action,
        actor: { kind: 'system', id: opts.actorId },
        workflowId: info.workflowId,
        runId: info.runId,
        idempotencyKey: `${info.workflowId}:${step}:audit`,
        occurredAt: new Date(Date.now()).toISOString(),
        ...extra,
      });
    } catch (err) {
      const failure = finalActivityFailure(err);
      if (!failure || !patched(LOUD_AUDIT_FAILURES)) throw err;
      log.error('an audit row could not be written; reporting it', { step, action, error: failure.error });
      await report(`audit:${step}`, failure, `the audit row "${action}" (step ${step})`);
      return false;
    }
  };
}

/**
 * Runs one externally visible step. Transient failures are retried by the activity's (bounded)
 * policy. When the step will not happen (it failed permanently, e.g. the channel is archived or
 * the root was deleted, or its retries ran out of attempts or time) it is audited as
 * `<auditPrefix>.slack_failed`, counted and announced in the ops channel once
 * (`reportPermanentFailure`), and answered `undefined`, so a single failed step never ends or
 * stalls a lifecycle. Anything else (a bug, a cancellation) still fails the workflow task loudly.
 *
 * `notDelivered` (optional) says in words what did not happen, for the alert; by default it is
 * derived from the activity type. A failed step is remembered for this run, so an operator can
 * retry it once the cause is fixed (the `retryFailedDelivery` update, `failures.ts`); `onRetried`
 * puts a retried step's result where the workflow uses it (e.g. the root post: the thread starts).
 */
export function createTolerant(audit: Auditor, auditPrefix: string) {
  const failed = createFailedSteps(audit);
  return async function tolerant<T>(
    step: string,
    call: () => Promise<T>,
    opts?: string | TolerantOptions<T>,
  ): Promise<T | undefined> {
    const { notDelivered, onRetried } =
      typeof opts === 'string' ? { notDelivered: opts, onRetried: undefined } : (opts ?? {});
    try {
      const result = await call();
      failed.delivered(step);
      return result;
    } catch (err) {
      if (!finalActivityFailure(err) && !permanentActivityFailure(err)) throw err;
      if (!patched(LOUD_STEP_FAILURES)) {
        // The behaviour histories recorded before the patch replay: permanent failures only, audit only.
        const cause = permanentActivityFailure(err);
        if (!cause) throw err;
        log.warn('a step failed permanently; the lifecycle continues', { step, type: cause.type });
        await audit(`${auditPrefix}.slack_failed`, `slack_failed:${step}`, {
          targetSystem: 'slack',
          outcome: 'failed',
          details: { step, failureType: cause.type ?? null, message: cause.message.slice(0, 300) },
        });
        return undefined;
      }
      const failure = finalActivityFailure(err)!;
      failed.remember(step, failure, call, onRetried as ((result: unknown) => Promise<void> | void) | undefined);
      log.warn('a step will not happen; the lifecycle continues', {
        step,
        reason: failure.reason,
        error: failure.error,
      });
      await audit(`${auditPrefix}.slack_failed`, `slack_failed:${step}`, {
        targetSystem: failure.system,
        outcome: 'failed',
        details: {
          step,
          reason: failure.reason,
          failureType: failure.failureType ?? null,
          method: failure.method,
          error: failure.error,
          retryState: failure.retryState,
          message: failure.message,
        },
      });
      if (!(await report(step, failure, notDelivered))) {
        await audit(`${auditPrefix}.ops_alert_failed`, `ops_alert_failed:${step}`, {
          targetSystem: 'slack',
          outcome: 'failed',
          details: { step, error: failure.error },
        });
      }
      return undefined;
    }
  };
}

/** Options of one tolerant step (a string is `notDelivered` alone). */
export interface TolerantOptions<T> {
  /** In words, what did not happen, for the alert. */
  notDelivered?: string;
  /** Called with the result when an operator's retry of this step succeeds (state only, or more steps). */
  onRetried?: (result: T) => Promise<void> | void;
}

/** Upserts ThreadlineSubject / Kind / Status (ids and states only: search attributes are not encrypted). */
export function upsertLifecycleStatus(kind: string, status: string): void {
  upsertSearchAttributes([
    { key: SA_SUBJECT, value: workflowInfo().workflowId },
    { key: SA_KIND, value: kind },
    { key: SA_STATUS, value: status },
  ]);
}
