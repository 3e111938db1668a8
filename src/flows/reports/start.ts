import { randomUUID } from 'node:crypto';
import {
  ScheduleOverlapPolicy,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { ReportsConfig } from './config.js';
import { reportScheduleId, type ReportRunInput } from './contract.js';
import type { ReportDefinition } from './schema.js';
import type { reportRunWorkflow } from './workflow.js';
import { parseDuration } from '../../platform/time/duration.js';

/** A new report id: opaque, URL-safe. */
export function newReportId(): string {
  return `rpt_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

/**
 * The Temporal Schedule behind a report. Its action fixes only the report id: each run reads the
 * definition as it is then, so editing a report never leaves a schedule running stale logic.
 * - overlap SKIP: a run still going when the next time comes makes that time skip (recorded by
 *   the schedule), never two digests of one report at once;
 * - catch-up window: after downtime, runs at most this late still fire; older ones are skipped
 *   (backfill them through the API).
 */
export function reportScheduleOptions(
  reportId: string,
  def: ReportDefinition,
  taskQueue: string,
  cfg: ReportsConfig,
): ScheduleOptions<ScheduleOptionsStartWorkflowAction<typeof reportRunWorkflow>> {
  const catchup = def.schedule.catchupWindow ? parseDuration(def.schedule.catchupWindow) : undefined;
  return {
    scheduleId: reportScheduleId(reportId),
    spec: {
      timezone: def.schedule.timezone,
      ...(def.schedule.cron ? { cronExpressions: def.schedule.cron } : {}),
      ...(def.schedule.calendars
        ? { calendars: def.schedule.calendars.map((c) => ({ second: 0, minute: 0, hour: 0, ...c })) }
        : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'reportRunWorkflow',
      workflowId: reportScheduleId(reportId),
      taskQueue,
      args: [{ reportId } satisfies ReportRunInput],
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: catchup?.ok ? catchup.ms : cfg.catchupWindowMs,
    },
  };
}
