import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { FailureType } from '../temporal/failure-types.js';
import { subjectStatusQuery, type SubjectStatus } from './contract.js';
import type { AuditLogRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';

export interface SlackResponseDeps {
  temporal: Client;
  audit: AuditLogRepo;
  /** URL prefixes a response_url may have (Slack's hooks host; the emulator in sandbox mode). */
  responseUrlPrefixes: string[];
  metrics?: Metrics;
  fetch?: typeof fetch;
  /** Workflow ids to try for what a person typed after `/threadline status` (from the flows). */
  statusCandidates: (query: string) => string[];
}

/** Activities behind `slackResponseWorkflow`: answers that come after the 3-second ack. */
export function createSlackResponseActivities(deps: SlackResponseDeps) {
  const doFetch = deps.fetch ?? fetch;
  return {
    /**
     * POSTs to a response_url (works up to 5 times within 30 min). 404/410: expired → permanent;
     * 429 → retry after Retry-After; 5xx/network → retried by policy.
     */
    async respondToSlack(input: {
      responseUrl: string;
      text: string;
      responseType?: 'ephemeral' | 'in_channel';
      replaceOriginal?: boolean;
    }): Promise<void> {
      if (!deps.responseUrlPrefixes.some((p) => input.responseUrl.startsWith(p))) {
        throw ApplicationFailure.nonRetryable('response_url is not a Slack URL', FailureType.Permanent);
      }
      const res = await doFetch(input.responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          text: input.text,
          response_type: input.responseType ?? 'ephemeral',
          replace_original: input.replaceOriginal ?? false,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const outcome = res.ok
        ? 'ok'
        : res.status === 429
          ? 'rate_limited'
          : res.status >= 500
            ? 'transient'
            : 'permanent';
      deps.metrics?.externalCalls.inc({ system: 'slack', method: 'response_url', outcome });
      if (res.ok) return;
      if (res.status === 429) {
        const after = Number(res.headers.get('retry-after') ?? '1');
        throw ApplicationFailure.create({
          type: FailureType.RateLimited,
          message: 'response_url rate limited',
          nextRetryDelay: `${Math.max(1, after)}s`,
        });
      }
      if (res.status >= 500)
        throw ApplicationFailure.create({ type: FailureType.Transient, message: `response_url ${res.status}` });
      throw ApplicationFailure.nonRetryable(
        `response_url answered ${res.status} (expired or used up)`,
        FailureType.Permanent,
      );
    },

    /** Current state of a lifecycle: its workflow's `threadlineStatus` query, else the last audit row. */
    async lookupSubjectStatus(input: { query: string }): Promise<SubjectStatus | null> {
      for (const id of deps.statusCandidates(input.query.trim())) {
        try {
          return await deps.temporal.workflow.getHandle(id).query(subjectStatusQuery);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) continue;
          const rows = await deps.audit.bySubject(id);
          const last = rows.at(-1);
          if (last) {
            return {
              subject: id,
              kind: id.split(':')[0]!,
              status: last.action,
              summary: `last recorded: ${last.action}`,
              updatedAt: last.occurredAt,
            };
          }
        }
      }
      return null;
    },
  };
}
export type SlackResponseActivities = ReturnType<typeof createSlackResponseActivities>;
