import { describe, expect, it } from 'vitest';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { recordFixture } from '../../helpers/fixtures.js';
import { scheduledActivities, eventsOf } from '../../helpers/history.js';
import { useStack } from '../../helpers/use-stack.js';

/**
 * `slackResponseWorkflow`, the answers Slack gets after the 3-second ack, driven through the real
 * ingress: a refused click (notice), `/threadline status` (lookup then answer), and a modal Slack
 * would not open (the permanent failure path: the user is told instead). Each closed history is
 * also what its replay fixture is recorded from.
 */
describe('slackResponseWorkflow through the ingress', () => {
  const t = useStack({}, approvalsHarness);

  /** The closed history of the response workflow started for `triggerId` (the ingress keys it so). */
  async function responseHistory(triggerId: string) {
    const handle = t.client.workflow.getHandle(`slack-response:${triggerId}`);
    await t.h.slack.waitFor(async () => (await handle.describe().catch(() => undefined)) ?? undefined, 15_000);
    await handle.result();
    return await eventsOf(handle);
  }

  it('a refused click: the person is told why through the response_url', async () => {
    const id = await t.h.created(t.h.body({ approvers: ['U0BOB'] }));
    const channelPost = (await t.h.posted(id, 2)).find((m) => m.purpose === 'channel')!;
    const click = await t.h.click('U0DAVE', channelPost, 'approve');
    expect(await t.h.responseTo(click.response_url)).toContain('not an approver');
    const events = await responseHistory(click.trigger_id);
    expect(scheduledActivities(events)).toEqual(['respondToSlack']);
    await recordFixture('slack-response-notice', events);
  });

  it('/threadline status: looks the subject up, then answers', async () => {
    const id = await t.h.created(t.h.body({ approvers: ['U0BOB'], requester: 'U0ALICE' }));
    const cmd = await t.h.slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0APPROVAL',
      command: '/threadline',
      text: `status approval:${id}`,
    });
    expect(await t.h.responseTo(cmd.response_url)).toContain('pending');
    const events = await responseHistory(cmd.trigger_id);
    expect(scheduledActivities(events)).toEqual(['lookupSubjectStatus', 'respondToSlack']);
    await recordFixture('slack-response-status', events);
  });

  it('a modal Slack refuses to open: the command is answered with a retry hint instead', async () => {
    await t.h.slack.injectFault({ method: 'views.open', kind: 'error', error: 'expired_trigger_id', count: 2 });
    const cmd = await t.h.slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0APPROVAL',
      command: '/threadline',
      text: 'approval',
    });
    expect(await t.h.responseTo(cmd.response_url)).toContain('did not let me open the form');
    const events = await responseHistory(cmd.trigger_id);
    expect(scheduledActivities(events)).toEqual(['openSlackView', 'respondToSlack']);
    expect(events.some((e) => e.activityTaskFailedEventAttributes)).toBe(true);
    await recordFixture('slack-response-open-view-failed', events);
  });
});
