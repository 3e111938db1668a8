import { log, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import type { SlackActivities } from '../../platform/slack/activities.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../platform/temporal/failure-types.js';
import { createAuditor, createTolerant } from '../../platform/temporal/workflow/lifecycle.js';
import { DB_ACTIVITY_OPTIONS, SLACK_ACTIVITY_OPTIONS } from '../../platform/temporal/workflow/presets.js';
import type { ReportActivities } from './activities.js';
import { reportSubject, type ReportDigest, type ReportRunInput, type ReportRunResult } from './contract.js';
import { buildDigestMessages } from './domain/blocks.js';
import { reportWindow, windowKey } from './domain/window.js';

const slack = proxyActivities<Pick<SlackActivities, 'postSlackMessage'>>(SLACK_ACTIVITY_OPTIONS);
const store = proxyActivities<
  Pick<ReportActivities, 'claimReportWindow' | 'completeReportRun'> & ReturnType<typeof createAuditActivities>
>(DB_ACTIVITY_OPTIONS);

/**
 * Collecting a window: a dataset query or a pull from the customer's endpoint (paged, each page
 * bounded by REPORT_PULL_TIMEOUT). Transient failures and 429s (after Retry-After) are retried for
 * up to 30 minutes, within the report's own period; past that, or on a permanent failure, the
 * run is reported in the ops channel and nothing partial is posted.
 */
const REPORT_COLLECT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};
const collector = proxyActivities<Pick<ReportActivities, 'collectReportDigest'>>(REPORT_COLLECT_OPTIONS);

/** Set by the Temporal Schedule on every run it starts (scheduled, triggered or backfilled). */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** When this run was scheduled for: the schedule's search attribute, else the input, else the start. */
function scheduledAtMs(input: ReportRunInput): number {
  const info = workflowInfo();
  const typed = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  // Older servers send it untyped (the deprecated untyped map still has it).
  const legacy = info.searchAttributes?.TemporalScheduledStartTime?.[0];
  const at = typed ?? legacy ?? input.windowEnd ?? info.startTime;
  return new Date(at as string | Date).getTime();
}

/**
 * One report run: the digest of one window, posted once.
 *
 * - Started by the report's Temporal Schedule (`report:<id>`) at each scheduled time, by
 *   trigger-now, or for each scheduled time of a backfill; the window ends at the scheduled time
 *   (whole minutes) and reaches back the report's `window`.
 * - The window is claimed first (`report_runs`): a window an earlier run posted is not posted
 *   again (a second trigger in the same minute, a backfill repeated), and every post is keyed
 *   `report:<id>:<window end>:<group>:<part>`, so a retried activity, a retried run or a run that
 *   takes over a window never posts twice.
 * - Records stay in activities; the workflow sees the digest only (bounded: 50 groups, top/bottom
 *   10, highlights limited per report), and splits it into valid Block Kit messages.
 * - A post that will not happen is reported (audit, metric, ops channel) and the run goes on; a
 *   window whose records cannot be collected is reported and recorded as failed, so a backfill
 *   can run it again.
 */
export async function reportRunWorkflow(input: ReportRunInput): Promise<ReportRunResult> {
  const info = workflowInfo();
  const subject = reportSubject(input.reportId);
  const audit = createAuditor(store.recordAudit, { actorId: 'report-run' });
  const tolerant = createTolerant(audit, 'report');
  const provisional = reportWindow(scheduledAtMs(input), 0);
  const windowEnd = provisional.end;
  const key = `${subject}:${windowKey(windowEnd)}`;

  const claim = await store.claimReportWindow({
    reportId: input.reportId,
    windowEnd,
    workflowId: info.workflowId,
    runId: info.runId,
  });
  if (claim.status === 'report_missing') {
    log.info('the report was deleted; nothing to run', { reportId: input.reportId });
    return { reportId: input.reportId, windowEnd, outcome: 'report_missing', messages: 0, records: 0 };
  }
  if (claim.status === 'already_posted') {
    await audit('report.already_posted', `window:${windowKey(windowEnd)}:claim:${claim.claims}`, {
      subject,
      outcome: 'skipped',
      details: { windowStart: claim.window.start, windowEnd, claims: claim.claims, postedBy: claim.postedBy },
    });
    return {
      reportId: input.reportId,
      windowStart: claim.window.start,
      windowEnd,
      outcome: 'already_posted',
      messages: 0,
      records: 0,
    };
  }
  const window = claim.window;

  // A window whose records cannot be collected is reported like a failed step (audit row, metric,
  // one ops alert) and recorded as failed; nothing partial is posted.
  const digest: ReportDigest | undefined = await tolerant(
    `collect:${windowKey(windowEnd)}`,
    () => collector.collectReportDigest({ reportId: input.reportId, definition: claim.definition, window }),
    `the digest of ${subject} for ${window.start} → ${window.end} (its records could not be collected)`,
  );
  if (!digest) {
    await store.completeReportRun({
      reportId: input.reportId,
      windowEnd,
      workflowId: info.workflowId,
      status: 'failed',
      records: 0,
      messages: 0,
      error: 'collect_failed',
    });
    return {
      reportId: input.reportId,
      windowStart: window.start,
      windowEnd,
      outcome: 'failed',
      messages: 0,
      records: 0,
    };
  }

  let messages = 0;
  let failed = 0;
  for (const group of digest.groups) {
    const content = buildDigestMessages(digest, group);
    const step = `${windowKey(windowEnd)}:${group.key}`;
    const root = await tolerant(`post:${step}:root`, () =>
      slack.postSlackMessage({
        subject,
        channel: group.channel,
        text: content.root.text,
        blocks: content.root.blocks,
        purpose: 'report_digest',
        idempotencyKey: `${key}:${group.key}:root`,
      }),
    );
    if (!root) {
      failed++;
      continue;
    }
    messages++;
    // Replies in order: a thread reads top to bottom.
    for (const [n, reply] of content.replies.entries()) {
      const posted = await tolerant(`post:${step}:reply:${n}`, () =>
        slack.postSlackMessage({
          subject,
          channel: root.channel,
          threadTs: root.ts,
          text: reply.text,
          blocks: reply.blocks,
          purpose: 'report_highlight',
          idempotencyKey: `${key}:${group.key}:reply:${n}`,
        }),
      );
      if (posted) messages++;
      else failed++;
    }
  }

  await store.completeReportRun({
    reportId: input.reportId,
    windowEnd,
    workflowId: info.workflowId,
    status: 'posted',
    records: digest.totalRecords,
    messages,
    ...(failed ? { error: `${failed} message(s) not posted` } : {}),
  });
  await audit('report.posted', `window:${windowKey(windowEnd)}:posted`, {
    subject,
    targetSystem: 'slack',
    outcome: failed ? 'failed' : 'ok',
    details: {
      windowStart: window.start,
      windowEnd,
      records: digest.totalRecords,
      groups: digest.groups.length,
      omittedGroups: digest.omittedGroups,
      messages,
      failed,
      definitionVersion: claim.version,
    },
  });
  return {
    reportId: input.reportId,
    windowStart: window.start,
    windowEnd,
    outcome: 'posted',
    messages,
    records: digest.totalRecords,
  };
}
