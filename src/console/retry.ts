import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { AuditEntry } from '../platform/audit/contract.js';
import type { AuditLogRepo } from '../platform/db/repositories.js';
import { RETRY_REFUSED, retryFailedDeliveryUpdate, type RetryDeliveryResult } from '../platform/ops/contract.js';
import type { FailureRow } from './audit.js';

/**
 * Whether the console offers Retry for a failed delivery, and if not, why (in words for the page).
 * Only a lifecycle step that `tolerant` gave up on (`<flow>.slack_failed`) can run again, and only
 * in the run that failed it, while that run is open: the run holds the step's call in memory.
 */
export type Retryability =
  { kind: 'retryable' } | { kind: 'retried'; at: string } | { kind: 'not_retryable'; why: string };

/** How long the console waits for a retry's outcome before saying it is still running. */
export const RETRY_WAIT_MS = 20_000;

/** The failure's retryability, given the run id of its lifecycle's open run (undefined: closed). */
export function retryability(row: FailureRow, openRunId: string | undefined): Retryability {
  if (row.retry?.outcome === 'ok') return { kind: 'retried', at: row.retry.at };
  if (!row.action.endsWith('.slack_failed') || !row.step)
    return {
      kind: 'not_retryable',
      why: row.action.endsWith('alert_failed')
        ? 'An ops alert that could not be sent is not retried: the failure it announced is listed on its own.'
        : 'Only a lifecycle step can be retried from here.',
    };
  if (!openRunId) return { kind: 'not_retryable', why: 'The lifecycle is closed: nothing is left to retry it.' };
  if (row.runId && openRunId !== row.runId)
    return {
      kind: 'not_retryable',
      why: 'The lifecycle has continued in a new run since; the failed step stayed with the earlier run.',
    };
  return { kind: 'retryable' };
}

/** What one Retry click did, as the page says it. */
export type RetryAnswer =
  | { kind: 'delivered'; step: string }
  | { kind: 'failed'; step: string; error: string; reason: string }
  | { kind: 'running'; step: string }
  | { kind: 'refused'; why: string };

/** A refused update's reason (our RetryRefused failures) or undefined for anything else. */
function refusal(err: unknown): string | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === RETRY_REFUSED) return cause.message;
  // A worker that predates the handler rejects the update by name.
  if (cause instanceof ApplicationFailure && /update type .* not found|unknown update/i.test(cause.message))
    return "This lifecycle's worker does not know how to retry yet (it runs older code).";
  return undefined;
}

/**
 * Retries one failed delivery through its lifecycle's `retryFailedDelivery` update, audits who
 * asked and what came of it (`delivery.retry_requested`, actor = the console key's fingerprint;
 * the lifecycle writes `delivery.retried` itself), and answers the outcome. Waits RETRY_WAIT_MS at
 * most: a step whose own retry policy is still at work is reported as running, never waited for
 * without bound. Temporal being down is thrown (the route answers 503).
 */
export async function retryDelivery(deps: {
  temporal: Client;
  audit: AuditLogRepo;
  failure: FailureRow & { step: string; runId: string | undefined };
  requestedBy: string;
}): Promise<RetryAnswer> {
  const { failure: f } = deps;
  const answer = await (async (): Promise<RetryAnswer> => {
    try {
      const update = await deps.temporal.workflow.getHandle(f.subject, f.runId).startUpdate(retryFailedDeliveryUpdate, {
        args: [{ step: f.step, requestedBy: deps.requestedBy }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        update.result(),
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), RETRY_WAIT_MS))),
      ]).finally(() => clearTimeout(timer));
      return toAnswer(f.step, outcome);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        return { kind: 'refused', why: 'The lifecycle is closed: nothing is left to retry it.' };
      const why = refusal(err);
      if (why) return { kind: 'refused', why: `${why[0]!.toUpperCase()}${why.slice(1)}.` };
      throw err;
    }
  })();
  await deps.audit.append(retryRequestAudit(f, deps.requestedBy, answer));
  return answer;
}

function toAnswer(step: string, r: RetryDeliveryResult | undefined): RetryAnswer {
  if (!r) return { kind: 'running', step };
  return r.outcome === 'delivered'
    ? { kind: 'delivered', step }
    : { kind: 'failed', step, error: r.error, reason: r.reason };
}

/**
 * The audit row of one Retry click: who asked (the console key's fingerprint), which failure, and
 * what came of it. One row per click (clicks are distinct requests), refused ones included.
 */
export function retryRequestAudit(f: FailureRow, requestedBy: string, answer: RetryAnswer): AuditEntry {
  const outcome = answer.kind === 'failed' ? 'failed' : answer.kind === 'refused' ? 'skipped' : 'ok';
  return {
    subject: f.subject,
    action: 'delivery.retry_requested',
    actor: { kind: 'api_client', id: requestedBy },
    sourceSystem: 'console',
    ...(f.targetSystem ? { targetSystem: f.targetSystem } : {}),
    workflowId: f.subject,
    ...(f.runId ? { runId: f.runId } : {}),
    outcome,
    details: {
      failureId: f.id,
      step: f.step ?? null,
      answer: answer.kind,
      ...(answer.kind === 'failed' ? { error: answer.error } : {}),
      ...(answer.kind === 'refused' ? { why: answer.why } : {}),
    },
    idempotencyKey: `console:retry:${f.id}:${randomUUID()}`,
  };
}
