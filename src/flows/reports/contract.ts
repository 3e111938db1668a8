import type { ReportDefinition } from './schema.js';

export type { ReportDefinition } from './schema.js';

/**
 * The reports flow's wire contract. A report is a Temporal Schedule (`report:<reportId>`) whose
 * action starts `reportRunWorkflow`; the schedule names each run `report:<reportId>-<scheduled time>`.
 * History stores every type here: evolve fields additively, never rename.
 */

/** Input of `reportRunWorkflow`, fixed in the schedule's action (the definition is read at run time). */
export interface ReportRunInput {
  reportId: string;
  /**
   * The window's end (ISO), for runs started outside a schedule (tests, tools). Scheduled runs
   * take it from the `TemporalScheduledStartTime` search attribute the schedule sets.
   */
  windowEnd?: string;
}

export type ReportRunOutcome = 'posted' | 'already_posted' | 'report_missing' | 'failed';

export interface ReportRunResult {
  reportId: string;
  windowStart?: string;
  windowEnd: string;
  outcome: ReportRunOutcome;
  messages: number;
  records: number;
}

/** A window: `[start, end)`, whole minutes (ISO strings). */
export interface ReportWindow {
  start: string;
  end: string;
}

export interface ClaimReportWindowInput {
  reportId: string;
  windowEnd: string;
  workflowId: string;
  runId: string;
}

/**
 * `claimed`: this run owns the window (first claim, or taking over one that never posted);
 * `already_posted`: an earlier run posted this window (a second trigger, a repeated backfill);
 * `report_missing`: the report was deleted.
 */
export type ClaimReportWindowResult =
  | { status: 'claimed'; window: ReportWindow; definition: ReportDefinition; version: number; claims: number }
  | { status: 'already_posted'; window: ReportWindow; claims: number; postedBy: string }
  | { status: 'report_missing' };

export interface CollectReportDigestInput {
  reportId: string;
  definition: ReportDefinition;
  window: ReportWindow;
}

export interface RankedItem {
  item: string;
  score: number;
  count: number;
}

export interface HighlightItem {
  /** The `show` fields' values, as text, in the definition's order. */
  values: string[];
  /** The compared field's value. */
  matched: string;
}

/** One group's numbers (or the whole window's, without groupBy). */
export interface GroupDigest {
  /** The group's value; null without groupBy, or for the default channel's empty notice. */
  group: string | null;
  /** Stable across runs of a window (hash of the group value): part of the posts' idempotency keys. */
  key: string;
  channel: string;
  records: number;
  distinct: { label: string; count: number }[];
  averages: { label: string; value: number | null; count: number; decimals: number }[];
  top: RankedItem[];
  bottom: RankedItem[];
  highlight?: { title: string; field: string; total: number; items: HighlightItem[] };
}

export interface ReportDigest {
  reportId: string;
  name: string;
  window: ReportWindow;
  /** The window in the report's time zone, for people (formatted outside the workflow sandbox). */
  windowLabel: string;
  totalRecords: number;
  /** At most `MAX_REPORT_GROUPS`; the rest are counted in `omittedGroups`. */
  groups: GroupDigest[];
  omittedGroups: number;
  emptyMessage: string;
  /** Groups by rank label (e.g. "Sessions"), when ranking is configured. */
  rankLabel?: string;
}

export interface CompleteReportRunInput {
  reportId: string;
  windowEnd: string;
  workflowId: string;
  status: 'posted' | 'failed';
  records: number;
  messages: number;
  error?: string;
}

/** Digests per run: a group-by on an unbounded field must not post thousands of messages. */
export const MAX_REPORT_GROUPS = 50;

/** Schedule id of a report; history and the schedule store it: never change the format. */
export const reportScheduleId = (reportId: string): string => `report:${reportId}`;
/** The subject of a report's audit rows and Slack posts. */
export const reportSubject = reportScheduleId;
