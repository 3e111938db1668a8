import { ApplicationFailure } from '@temporalio/common';
import type { Registry } from 'prom-client';
import type { AuditLogRepo } from '../db/repositories.js';
import type { Logger } from '../observability/logger.js';
import { registeredCounter } from '../observability/metrics.js';
import type { SlackPoster } from '../slack/activities.js';
import { currentAttempt } from '../temporal/attempt.js';
import type { FailureDetails } from '../temporal/failure-types.js';
import { buildOpsAlert } from './alert.js';
import { OPS_ALERT_PURPOSE, type PermanentFailureReport, type PermanentFailureReported } from './contract.js';

export interface OpsActivityDeps {
  /** The exactly-once poster (its Slack metadata lookup dedups a retried alert without Postgres). */
  poster: SlackPoster;
  audit: AuditLogRepo;
  /** The process's registry; the counters below are registered on it once. */
  registry: Registry;
  /** `config.slack.opsChannel` (SLACK_CHANNEL_OPS). */
  opsChannel: string;
  logger?: Logger;
}

/**
 * The loud-failure reporter. `reportPermanentFailure` is called by the workflow-side `tolerant`
 * (and the auditor) whenever a step will not happen, so every flow gets it without code of its own:
 * - counts it: `threadline_permanent_failures_total{system, method, type}` (once per failure: on
 *   the report's first attempt only, so retries of the report do not count again);
 * - announces it in the ops channel exactly once (idempotency key `<workflow id>:ops_alert:<step>`,
 *   found again by Slack metadata if an attempt's answer was lost);
 * - if the alert itself cannot be posted for good (ops channel missing, installation dead), says so
 *   in the audit trail (`ops.alert_failed`) and a counter, and returns: it never announces its own
 *   failure again, so a broken ops channel cannot loop. Transient alert failures are retried by the
 *   report's own bounded policy (OPS_ALERT_OPTIONS).
 * The audit row of the failure itself is written by the workflow (`<flow>.slack_failed`).
 */
export function createOpsActivities(deps: OpsActivityDeps) {
  const permanentFailures = registeredCounter(deps.registry, {
    name: 'threadline_permanent_failures_total',
    help: 'Lifecycle steps that will not happen (failed permanently, out of attempts or out of time), by system, method and type',
    labelNames: ['system', 'method', 'type'],
  });
  const alertFailures = registeredCounter(deps.registry, {
    name: 'threadline_ops_alert_failures_total',
    help: 'Ops-channel messages that could not be posted for good, by error',
    labelNames: ['error'],
  });

  return {
    async reportPermanentFailure(r: PermanentFailureReport): Promise<PermanentFailureReported> {
      if (currentAttempt() === 1) {
        permanentFailures.inc({ system: r.system, method: r.method, type: r.reason });
        deps.logger?.error(
          { subject: r.subject, step: r.step, system: r.system, method: r.method, error: r.error, reason: r.reason },
          'a lifecycle step will not happen; alerting the ops channel',
        );
      }
      const alert = buildOpsAlert(r);
      try {
        const posted = await deps.poster.postOnce({
          subject: r.subject,
          channel: deps.opsChannel,
          text: alert.text,
          blocks: alert.blocks,
          purpose: OPS_ALERT_PURPOSE,
          idempotencyKey: `${r.workflowId}:ops_alert:${r.step}`,
        });
        return { alerted: true, channel: posted.channel, ts: posted.ts };
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || !err.nonRetryable) throw err;
        const alertError = (err.details?.[0] as Partial<FailureDetails> | undefined)?.error ?? err.type ?? 'unknown';
        alertFailures.inc({ error: alertError });
        deps.logger?.error(
          { subject: r.subject, step: r.step, opsChannel: deps.opsChannel, alertError },
          'the ops-channel alert cannot be posted; recorded in the audit trail instead',
        );
        await deps.audit
          .append({
            subject: r.subject,
            action: 'ops.alert_failed',
            actor: { kind: 'system', id: 'ops-reporter' },
            targetSystem: 'slack',
            workflowId: r.workflowId,
            runId: r.runId,
            outcome: 'failed',
            details: { step: r.step, error: r.error, alertError, opsChannel: deps.opsChannel },
            idempotencyKey: `${r.workflowId}:ops_alert_failed:${r.step}:audit`,
            occurredAt: r.occurredAt,
          })
          .catch((auditErr: unknown) =>
            deps.logger?.error(
              { subject: r.subject, step: r.step, error: auditErr instanceof Error ? auditErr.message : 'unknown' },
              'could not record the failed alert in the audit trail either',
            ),
          );
        return { alerted: false, alertError };
      }
    },
  };
}
export type OpsActivities = ReturnType<typeof createOpsActivities>;
