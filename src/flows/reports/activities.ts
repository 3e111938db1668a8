import { createHash } from 'node:crypto';
import { classifiedFailure } from '../../platform/temporal/failure-types.js';
import { offsetMs } from '../../platform/time/zones.js';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { ReportsConfig } from './config.js';
import type {
  ClaimReportWindowInput,
  ClaimReportWindowResult,
  CollectReportDigestInput,
  CompleteReportRunInput,
  ReportDigest,
  ReportWindow,
} from './contract.js';
import { digestWindow, type AggregatedRecord } from './domain/aggregate.js';
import { reportWindow } from './domain/window.js';
import { pullRecords } from './pull.js';
import { reportsRepo, type ReportsRepo } from './repo.js';

export interface ReportActivityDeps {
  repo: ReportsRepo;
  config: ReportsConfig;
  metrics?: Metrics;
  fetch?: typeof fetch;
}

/** The window in the report's time zone: "Mon, 2 Mar 2026, 09:00 → Mon, 9 Mar 2026, 09:00 (Asia/Kolkata)". */
export function windowLabel(w: ReportWindow, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return `${f.format(new Date(w.start))} → ${f.format(new Date(w.end))} (${timeZone})`;
}

/** A group value's key in idempotency keys: stable, short, and free of whatever the value contains. */
const groupKey = (g: string) => createHash('sha256').update(g).digest('hex').slice(0, 12);

/**
 * Report activities: claiming a window, collecting its records (pushed to a dataset, or pulled
 * from the customer's endpoint) into a bounded digest, recording the run's outcome. Records never
 * reach the workflow: only the digest does (counts, averages, the ranked and highlighted items).
 */
export function createReportActivities(deps: ReportActivityDeps) {
  const count = (outcome: string) =>
    deps.metrics?.externalCalls.inc({ system: 'report_pull', method: 'POST', outcome });

  return {
    async claimReportWindow(input: ClaimReportWindowInput): Promise<ClaimReportWindowResult> {
      const report = await deps.repo.get(input.reportId);
      if (!report) return { status: 'report_missing' };
      const def = report.definition;
      const window = reportWindow(Date.parse(input.windowEnd), def.window, (t) => offsetMs(def.schedule.timezone, t));
      const claim = await deps.repo.claimWindow({
        reportId: input.reportId,
        windowStart: window.start,
        windowEnd: window.end,
        workflowId: input.workflowId,
        runId: input.runId,
      });
      // A run is its run id: a backfill of the same time again reuses the workflow id.
      if (claim.status === 'posted' && claim.runId !== input.runId)
        return { status: 'already_posted', window, claims: claim.claims, postedBy: claim.workflowId };
      return {
        status: 'claimed',
        window,
        definition: report.definition,
        version: report.version,
        claims: claim.claims,
      };
    },

    /** Reads the window's records and digests them. Too many records is permanent (never a partial digest). */
    async collectReportDigest(input: CollectReportDigestInput): Promise<ReportDigest> {
      const def = input.definition;
      const { start, end } = input.window;
      let records: AggregatedRecord[];
      if (def.source.kind === 'dataset') {
        records = await deps.repo.recordsIn(def.source.dataset, start, end, deps.config.maxRecords);
        if (records.length > deps.config.maxRecords)
          throw classifiedFailure(
            { system: 'postgres', method: 'report_records', label: 'report dataset' },
            { kind: 'permanent', error: 'too_many_records' },
          );
      } else {
        if (!deps.config.pullSecret)
          throw classifiedFailure(
            { system: 'report_pull', method: 'POST', label: 'report pull (REPORT_PULL_SECRET is not set)' },
            { kind: 'permanent', error: 'no_pull_secret' },
          );
        const pulled = await pullRecords(
          {
            secret: deps.config.pullSecret,
            allowHttp: deps.config.allowHttpPull,
            timeoutMs: deps.config.pullTimeoutMs,
            maxPages: deps.config.pullMaxPages,
            maxRecords: deps.config.maxRecords,
            fetch: deps.fetch,
            count,
          },
          { url: def.source.url, reportId: input.reportId, window: input.window },
        );
        // The endpoint was asked for the window; what it sends outside it is not counted, and
        // an id sent twice counts once (the later copy wins, as for pushed records).
        const startMs = Date.parse(start);
        const endMs = Date.parse(end);
        const byId = new Map<string, { id: string; at: number; data: Record<string, unknown> }>();
        for (const r of pulled) {
          const at = Date.parse(r.timestamp);
          if (at >= startMs && at < endMs) byId.set(r.id, { id: r.id, at, data: r.data });
        }
        records = [...byId.values()]
          .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .map((r) => ({ id: r.id, data: r.data }));
      }
      const { groups, omittedGroups } = digestWindow(records, def, groupKey);
      return {
        reportId: input.reportId,
        name: def.name,
        window: input.window,
        windowLabel: windowLabel(input.window, def.schedule.timezone),
        totalRecords: records.length,
        groups,
        omittedGroups,
        emptyMessage: def.emptyMessage,
        ...(def.aggregation.rank ? { rankLabel: def.aggregation.rank.label } : {}),
      };
    },

    async completeReportRun(input: CompleteReportRunInput): Promise<void> {
      await deps.repo.completeRun(input);
    },
  };
}
export type ReportActivities = ReturnType<typeof createReportActivities>;

/** The worker's factory (flow.ts). */
export function reportActivities(ctx: FlowWorkerContext<ReportsConfig>) {
  return createReportActivities({ repo: reportsRepo(ctx.pool), config: ctx.flowConfig, metrics: ctx.metrics });
}
