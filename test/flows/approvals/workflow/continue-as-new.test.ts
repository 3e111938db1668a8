import { WithStartWorkflowOperation } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import {
  approvalReadyUpdate,
  approvalStateQuery,
  approvalWorkflowId,
  type ApprovalRequestSpec,
} from '../../../../src/flows/approvals/contract.js';
import { approvalsFlow } from '../../../../src/flows/approvals/flow.js';
import { approvalInput, newApprovalId } from '../../../../src/flows/approvals/start.js';
import type { approvalWorkflow } from '../../../../src/flows/approvals/workflow.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { flowConfigOf } from '../../../../src/platform/flow.js';
import type { PostSlackMessageInput, SlackThreadEvent } from '../../../../src/platform/slack/contract.js';
import { CONTINUE_AS_NEW_IN_WAIT_PATCH } from '../../../../src/platform/temporal/workflow/continue-as-new.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import {
  activityInputs,
  eventTimeMs,
  patchMarkers,
  runsOf,
  threadEventArgs,
  timerDeadlines,
} from '../../../helpers/history.js';
import { useStack } from '../../../helpers/use-stack.js';
import { approvalsHarness, seen } from '../e2e/helpers.js';

const REMIND_AFTER_MS = 15_000;
const GRACE_MS = 6_000;

/**
 * Continue-as-new forced with the test threshold, through the real stack: comments in the
 * request's thread (signals that only change state) and clicks (updates) arrive across several
 * handovers; votes, the level change, the reminder (at its original deadline) and the decision
 * each happen exactly once, and the decided-grace period survives a handover too.
 */
describe('approval: continue-as-new checked inside the wait', () => {
  const t = useStack({ APPROVAL_DECIDED_GRACE: `${GRACE_MS}ms` }, approvalsHarness);

  it('comments and clicks across several handovers: nothing lost or doubled, timers keep their deadlines', async () => {
    const approvalId = newApprovalId();
    const workflowId = approvalWorkflowId(approvalId);
    const spec: ApprovalRequestSpec = {
      approvalId,
      title: 'Continue-as-new drill',
      fields: [],
      requester: 'U0ALICE',
      levels: [
        { approvers: ['U0BOB', 'U0CAROL'], required: 2 },
        { approvers: ['U0DAVE'], required: 1 },
      ],
      channel: 'C0APPROVAL',
      sla: { remindAfterMs: REMIND_AFTER_MS, expireAfterMs: 3_600_000 },
      source: 'api',
      createdBy: 'continue-as-new-test',
      receivedAt: new Date().toISOString(),
    };
    const input = { ...approvalInput(flowConfigOf(t.stack.config, approvalsFlow), spec), continueAsNewAfterEvents: 40 };
    const ready = await t.client.workflow.executeUpdateWithStart(approvalReadyUpdate, {
      startWorkflowOperation: new WithStartWorkflowOperation<typeof approvalWorkflow>('approvalWorkflow', {
        workflowId,
        taskQueue: t.stack.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
      }),
    });
    expect(ready).toMatchObject({ ok: true });
    const [channelPost] = (await t.h.posted(approvalId, 3, 30_000)).filter((m) => m.purpose === 'channel');

    let said = 0;
    const comment = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          t.h.slack.postMessage({
            user: 'U0ERIN',
            channel: channelPost!.channel,
            thread_ts: channelPost!.ts,
            text: `comment ${said++}`,
          }),
        ),
      );
    const commentsApplied = async (n: number) =>
      t.h.slack.waitFor(async () => {
        const s = await t.client.workflow.getHandle(workflowId).query(approvalStateQuery);
        return s.timeline.filter((t) => t.kind === 'comment').length >= n ? s : undefined;
      }, 20_000);

    /**
     * A click as a person makes it: an acknowledged click (200) must count; one Slack could not
     * deliver (the app answered an error or too late) shows the person an error, so they click again.
     */
    const click = async (user: string, m: { channel: string; ts: string }) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const c = await t.h.click(user, m, 'approve');
        if (c.delivery.status === 200) return c;
      }
      throw new Error(`${user}'s click was never acknowledged`);
    };
    // Comments and a click in the same burst: the click (an update) may land while a run hands over.
    await Promise.all([comment(10), click('U0BOB', channelPost!)]);
    await comment(10);
    await Promise.all([comment(5), click('U0CAROL', channelPost!)]);
    await comment(5);
    // More talk until it has handed over at least twice (task batching varies with load).
    while (said < 60 && (await runsOf(t.client, workflowId)).length < 3) await comment(5);
    await commentsApplied(said);
    // Level 2 was asked (one DM to Dave), then the reminder fired at its original deadline.
    const daveDm = await t.h.slack.waitFor(
      async () => (await t.h.get(approvalId)).slack.find((m) => m.purpose === 'dm' && m.user === 'U0DAVE'),
      20_000,
    );
    await t.h.slack.waitFor(async () => {
      const r = await t.h.slack.threadReplies(channelPost!.channel, channelPost!.ts);
      return r.some((m) => m.bot_id && m.text.includes('Reminder')) ? true : undefined;
    }, REMIND_AFTER_MS + 30_000);

    await click('U0DAVE', daveDm);
    await t.h.waitStatus(approvalId, 'approved', 30_000);
    const closedAt = Date.now();
    // Talk during the decided-grace period: it continues as new there too, and still ends on time.
    await comment(15);
    const result = await t.client.workflow.getHandle(workflowId).result();
    expect(result).toEqual({ approvalId, status: 'approved' });
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 1500);

    const runs = await runsOf(t.client, workflowId);
    expect(runs.length, 'continued as new several times').toBeGreaterThanOrEqual(3);
    for (const run of runs.slice(0, -1)) {
      expect(run.events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      expect(patchMarkers(run.events)).toContain(CONTINUE_AS_NEW_IN_WAIT_PATCH);
    }
    const all = runs.flatMap((r) => r.events);
    const finalState = await t.h.get(approvalId);

    // Comments: each reached the workflow (a slow ack may hand one off twice: signals are
    // at-least-once) and is in the timeline exactly once.
    const comments = threadEventArgs<SlackThreadEvent>(all);
    expect(new Set(comments.map((c) => c.eventId)).size).toBe(said);
    expect(finalState.timeline.filter((t) => t.kind === 'comment')).toHaveLength(said);

    // Votes and the level change exactly once; each post once.
    expect(finalState.votes.map((v) => [v.user, v.level])).toEqual([
      ['U0BOB', 0],
      ['U0CAROL', 0],
      ['U0DAVE', 1],
    ]);
    const posts = activityInputs<PostSlackMessageInput>(all, 'postSlackMessage').map((p) => p.idempotencyKey);
    expect(new Set(posts).size).toBe(posts.length);
    expect(posts.filter((k) => k === `${workflowId}:post:dm:L1:U0DAVE`)).toHaveLength(1);
    expect(posts.filter((k) => k.startsWith(`${workflowId}:reminder:`))).toHaveLength(1);
    expect(posts.filter((k) => k.startsWith(`${workflowId}:decision:`))).toHaveLength(1);
    // Audit rows are local activities (no inputs in history): what the table holds, across runs.
    const actions = (await auditLogRepo(t.pool).bySubject(workflowId)).map((a) => a.action);
    expect(actions.filter((a) => a === 'approval.level_advanced')).toHaveLength(1);
    expect(actions.filter((a) => a === 'approval.vote')).toHaveLength(1);
    expect(actions.filter((a) => a === 'approval.decided')).toHaveLength(1);
    const replies = await t.h.slack.threadReplies(channelPost!.channel, channelPost!.ts);
    expect(replies.filter((m) => m.bot_id && m.text.includes('Reminder'))).toHaveLength(1);
    expect(seen(await t.h.locked(channelPost!))).toContain('Approved');

    // The reminder timer was re-armed in later runs for the same instant, and fired there.
    const state = await t.client.workflow.getHandle(workflowId, runs[0]!.runId).query(approvalStateQuery);
    const due = state.createdAtMs + REMIND_AFTER_MS;
    const reminderTimers = runs
      .flatMap((r) => timerDeadlines(r.events))
      .filter((t) => Math.abs(t.dueAtMs - due) < 5_000);
    expect(reminderTimers.length).toBeGreaterThanOrEqual(2);
    for (const t of reminderTimers) expect(Math.abs(t.dueAtMs - due)).toBeLessThan(1500);
    // The reminder is posted by the run its deadline fell in: from that run's timer firing at the
    // deadline, or, when a handover straddled the deadline, at once by the next run (started after it).
    const postedIn = runs.findIndex((r) =>
      r.events.some((e) =>
        activityInputs<PostSlackMessageInput>([e], 'postSlackMessage')[0]?.idempotencyKey.startsWith(
          `${workflowId}:reminder:`,
        ),
      ),
    );
    expect(postedIn).toBeGreaterThanOrEqual(0);
    const firedThere = timerDeadlines(runs[postedIn]!.events).some((t) => t.fired && Math.abs(t.dueAtMs - due) < 1500);
    if (!firedThere) expect(eventTimeMs(runs[postedIn]!.events[0]!)).toBeGreaterThanOrEqual(due - 1500);
    expect(postedIn, 'posted by a later run than the first (the deadline was carried over)').toBeGreaterThan(0);
    const reminderPost = runs[postedIn]!.events.find((e) =>
      activityInputs<PostSlackMessageInput>([e], 'postSlackMessage')[0]?.idempotencyKey.startsWith(
        `${workflowId}:reminder:`,
      ),
    );
    expect(eventTimeMs(reminderPost!)).toBeGreaterThanOrEqual(due - 1000);

    // The first run (ends by continuing as new) and the last (starts from the carried state).
    await recordFixture('approval-continue-as-new', runs[0]!.events);
    await recordFixture('approval-carried', runs.at(-1)!.events);
  });
});
