import { log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AuditEntry } from '../../audit/contract.js';
import { permanentActivityFailure } from './failures.js';
import { SA_KIND, SA_STATUS, SA_SUBJECT } from './search-attributes.js';

/**
 * Workflow-side helpers every lifecycle workflow shares: the auditor (one audit row per step,
 * keyed by workflow id + step so retries and replays write once), the tolerant call (a permanent
 * failure of one Slack step is audited and the lifecycle goes on), and the search-attribute
 * status. Sandbox code: no I/O, Temporal's clock only.
 */

export type Auditor = (action: string, step: string, extra?: Partial<AuditEntry>) => Promise<boolean>;

/** `recordAudit` activity, as a workflow sees it (proxied with DB_ACTIVITY_OPTIONS by the caller). */
export type RecordAudit = (entry: AuditEntry) => Promise<boolean>;

export function createAuditor(recordAudit: RecordAudit, opts: { actorId: string }): Auditor {
  const info = workflowInfo();
  return (action, step, extra = {}) =>
    recordAudit({
      subject: info.workflowId,
      action,
      actor: { kind: 'system', id: opts.actorId },
      workflowId: info.workflowId,
      runId: info.runId,
      idempotencyKey: `${info.workflowId}:${step}:audit`,
      occurredAt: new Date(Date.now()).toISOString(),
      ...extra,
    });
}

/**
 * Runs one externally visible step. Transient failures are retried by the activity's policy; a
 * permanent one (the channel is archived, the root was deleted) is audited as
 * `<auditPrefix>.slack_failed` and answered `undefined`, so a single failed post never ends a
 * lifecycle. Anything else (a bug, a cancellation) still fails the workflow task loudly.
 */
export function createTolerant(audit: Auditor, auditPrefix: string) {
  return async function tolerant<T>(step: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
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
  };
}

/** Upserts ThreadlineSubject / Kind / Status (ids and states only: search attributes are not encrypted). */
export function upsertLifecycleStatus(kind: string, status: string): void {
  upsertSearchAttributes([
    { key: SA_SUBJECT, value: workflowInfo().workflowId },
    { key: SA_KIND, value: kind },
    { key: SA_STATUS, value: status },
  ]);
}
