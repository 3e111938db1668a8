import { z } from 'zod';
import { duration, optionalString } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';

/** Sandbox-only key for signing pull requests to customers' endpoints; set your own outside the sandbox. */
export const SANDBOX_REPORT_PULL_SECRET = 'threadline-sandbox-report-pull-secret';

export interface ReportsConfig {
  /** Signs pull requests (`X-Threadline-Signature`); unset outside the sandbox: pull sources are refused. */
  pullSecret: string | undefined;
  /** Pull endpoints must be https, except in the sandbox (local test receivers). */
  allowHttpPull: boolean;
  pullTimeoutMs: number;
  pullMaxPages: number;
  /** Records one run reads at most (pushed or pulled); more fails the run loudly instead of truncating. */
  maxRecords: number;
  /** Default catch-up window of a report's schedule (missed runs later than this are skipped). */
  catchupWindowMs: number;
}

export const reportsConfig = defineFlowConfig(
  {
    REPORT_PULL_SECRET: optionalString,
    REPORT_PULL_TIMEOUT: duration('15s'),
    REPORT_PULL_MAX_PAGES: z.coerce.number().int().min(1).max(10_000).default(200),
    REPORT_MAX_RECORDS: z.coerce.number().int().min(1).max(1_000_000).default(100_000),
    REPORT_CATCHUP_WINDOW: duration('1h'),
  },
  (e, ctx): ReportsConfig => {
    if (e.REPORT_CATCHUP_WINDOW < 60_000) ctx.problem('REPORT_CATCHUP_WINDOW: at least 1m');
    return {
      pullSecret: e.REPORT_PULL_SECRET ?? (ctx.sandbox ? SANDBOX_REPORT_PULL_SECRET : undefined),
      allowHttpPull: ctx.sandbox,
      pullTimeoutMs: e.REPORT_PULL_TIMEOUT,
      pullMaxPages: e.REPORT_PULL_MAX_PAGES,
      maxRecords: e.REPORT_MAX_RECORDS,
      catchupWindowMs: e.REPORT_CATCHUP_WINDOW,
    };
  },
);
