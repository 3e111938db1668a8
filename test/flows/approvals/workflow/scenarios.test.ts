import { describe, expect, it } from 'vitest';
import { approvalWorkflowId } from '../../../../src/flows/approvals/contract.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import type { PostSlackMessageInput } from '../../../../src/platform/slack/contract.js';
import { FailureType } from '../../../../src/platform/temporal/failure-types.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { activityInputs, timerDeadlines, eventsOf } from '../../../helpers/history.js';
import { useStack } from '../../../helpers/use-stack.js';
import { approvalsHarness, seen } from '../e2e/helpers.js';

/**
 * Whole approval lifecycles through the real stack, each asserted from what Slack received and
 * from the closed workflow's history, which is also what the replay fixtures are recorded from
 * (`THREADLINE_RECORD_HISTORIES`, see test/fixtures/histories/README.md).
 */
describe('approval lifecycles, recorded for replay', () => {
  const t = useStack({ APPROVAL_DECIDED_GRACE: '500ms' }, approvalsHarness);
  /** The audit rows the lifecycle wrote (local activities carry no inputs in history: read the table). */
  const auditOf = (approvalId: string) => auditLogRepo(t.pool).bySubject(approvalWorkflowId(approvalId));

  /** The closed workflow's history (waits for it to end). */
  async function closedHistory(approvalId: string) {
    const handle = t.client.workflow.getHandle(approvalWorkflowId(approvalId));
    await handle.result();
    return await eventsOf(handle);
  }

  it('votes and levels: 2 of 2 at level 1 advances to level 2, whose approver rejects with a reason', async () => {
    const id = await t.h.created(
      t.h.body({
        approvers: ['U0BOB', 'U0CAROL'],
        policy: { required: 2, levels: [{ approvers: ['U0DAVE'] }] },
        channel: 'C0APPROVAL',
      }),
    );
    const channelPost = (await t.h.posted(id, 3)).find((m) => m.purpose === 'channel')!;
    await t.h.click('U0BOB', channelPost, 'approve');
    await t.h.slack.waitFor(async () => ((await t.h.get(id)).votes.length === 1 ? true : undefined));
    await t.h.click('U0CAROL', channelPost, 'approve');
    const daveDm = await t.h.slack.waitFor(async () =>
      (await t.h.get(id)).slack.find((m) => m.purpose === 'dm' && m.user === 'U0DAVE'),
    );
    await t.h.click('U0DAVE', daveDm, 'reject');
    const modal = await t.h.slack.waitFor(async () =>
      (await t.h.slack.views()).find(
        (v) => v.user === 'U0DAVE' && v.open && v.callback_id === 'tl:approval.reject_reason',
      ),
    );
    await t.h.slack.submitView({
      user: 'U0DAVE',
      view_id: modal.id,
      values: { reason: { reason: 'No rollback plan' } },
    });
    const events = await closedHistory(id);

    const view = await t.h.get(id);
    expect(view).toMatchObject({
      status: 'rejected',
      decidedBy: 'U0DAVE',
      reason: 'No rollback plan',
      currentLevel: 2,
    });
    expect(view.votes.map((v) => [v.user, v.decision, v.level])).toEqual([
      ['U0BOB', 'approve', 0],
      ['U0CAROL', 'approve', 0],
      ['U0DAVE', 'reject', 1],
    ]);
    const actions = (await auditOf(id)).map((a) => a.action);
    expect(actions.filter((a) => a === 'approval.vote')).toHaveLength(1);
    expect(actions.filter((a) => a === 'approval.level_advanced')).toHaveLength(1);
    expect(actions.filter((a) => a === 'approval.decided')).toHaveLength(1);
    expect(seen(await t.h.locked(channelPost))).toContain('Rejected');
    await recordFixture('approval-votes-levels', events);
  });

  it('SLA: reminds, escalates (channel + DM), then expires; every timer fires once, at its deadline', async () => {
    const id = await t.h.created(
      t.h.body({
        approvers: ['U0BOB'],
        sla: {
          // Apart enough that each is still in the future when the previous step is done posting.
          remindAfter: '3s',
          escalateAfter: '5s',
          escalateTo: { approvers: ['erin@example.com'], channel: 'C0ESCALATE' },
          expireAfter: '7s',
        },
      }),
    );
    const events = await closedHistory(id);
    const view = await t.h.get(id);
    expect(view).toMatchObject({ status: 'expired', reminded: true, escalated: true, escalationApprovers: ['U0ERIN'] });
    const keys = activityInputs<PostSlackMessageInput>(events, 'postSlackMessage').map((p) => p.idempotencyKey);
    const wf = approvalWorkflowId(id);
    // Thread replies are keyed per home thread (`<step>:<channel>:<ts>`); the posts have one key each.
    for (const step of ['reminder:', 'escalation:', 'decision:'])
      expect(
        keys.filter((k) => k.startsWith(`${wf}:${step}`)),
        step,
      ).toHaveLength(1);
    for (const step of ['post:escalation', 'post:escalation_dm:U0ERIN'])
      expect(
        keys.filter((k) => k === `${wf}:${step}`),
        step,
      ).toHaveLength(1);
    const sla = timerDeadlines(events).filter((t) => t.fired);
    expect(sla.length).toBeGreaterThanOrEqual(2);
    const channelPost = view.slack.find((m) => m.purpose === 'channel')!;
    expect(seen(await t.h.locked(channelPost))).toMatch(/expired/i);
    await recordFixture('approval-sla-expired', events);
  });

  it('a permanent Slack failure (channel post refused): audited, the DMs still work and the request is decided', async () => {
    // The bot is not in this private channel: chat.postMessage answers not_in_channel.
    const id = await t.h.created(t.h.body({ approvers: ['U0BOB'], channel: 'G0FINANCE' }));
    const [dm] = await t.h.posted(id, 1);
    expect(dm!.purpose).toBe('dm');
    await t.h.click('U0BOB', dm!, 'approve');
    const events = await closedHistory(id);
    expect((await t.h.get(id)).status).toBe('approved');
    const failed = (await auditOf(id)).filter((a) => a.action === 'approval.slack_failed');
    expect(failed.map((a) => (a.details as { step: string }).step)).toEqual(['post:channel']);
    expect((failed[0]!.details as { failureType: string }).failureType).toBe(FailureType.Permanent);
    expect(await t.h.slack.channelMessages('G0FINANCE')).toHaveLength(0);
    await recordFixture('approval-slack-failure', events);
  });
});
