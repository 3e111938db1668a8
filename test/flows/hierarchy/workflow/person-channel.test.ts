import { describe, expect, it } from 'vitest';
import {
  personChannelStateQuery,
  personChannelWorkflowId,
  type PersonChannelInput,
} from '../../../../src/flows/hierarchy/contract.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { runsOf, scheduledActivities, waitIdle } from '../../../helpers/history.js';
import { useStack } from '../../../helpers/use-stack.js';
import { hierarchyHarness } from '../e2e/helpers.js';

const policy = { channelNamePattern: 'team-{person}', retryAfterMs: 900_000, idleCloseAfterMs: 600_000 };
const note = (id: string, person: string, text: string) => ({
  notificationId: id,
  audience: { person, includeReportingChain: true },
  text,
});

describe('personChannelWorkflow: continue-as-new and idle close, through the real stack', () => {
  const t = useStack({}, hierarchyHarness);

  async function person(name: string) {
    const { h } = t;
    const lead = h.pid(`${name}_lead`);
    const agent = h.pid(name);
    await h.put(lead, { slackUser: 'U0BOB' }, 201);
    await h.put(agent, { manager: lead, slackUser: 'U0CAROL' }, 201);
    return agent;
  }

  it('continues as new while notifications keep coming; each is posted once, in order, into the same channel', async () => {
    const { h, client, stack } = t;
    const agent = await person('can');
    const workflowId = personChannelWorkflowId(agent);
    const input: PersonChannelInput = { personId: agent, policy, continueAsNewAfterEvents: 40 };
    await client.workflow.start('personChannelWorkflow', { workflowId, taskQueue: stack.taskQueue, args: [input] });
    const ids = Array.from({ length: 6 }, (_, i) => `can_${agent}_${i}`);
    for (const [i, id] of ids.entries()) {
      await h.notify(note(id, agent, `Update ${i}`));
      // Half of them wait for the one before: handovers happen both mid-burst and between posts.
      if (i % 2 === 1) await h.delivered(id);
    }
    const last = await h.delivered(ids[5]!);
    await waitIdle(client.workflow.getHandle(workflowId));
    const runs = await runsOf(client, workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const posts = await h.posts(last.channel!);
    expect(posts.map((p) => /Update (\d)/.exec(p.text)?.[1])).toEqual(['0', '1', '2', '3', '4', '5']);
    for (const id of ids) expect((await h.notification(id)).channel).toBe(last.channel);
    const posted = runs.flatMap((r) => scheduledActivities(r.events)).filter((a) => a === 'postSlackMessage');
    expect(posted).toHaveLength(6);
    // The channel was made once; later runs carried it.
    const ensured = runs.flatMap((r) => scheduledActivities(r.events)).filter((a) => a === 'ensurePersonChannel');
    expect(ensured).toHaveLength(1);
    const state = await client.workflow.getHandle(workflowId).query(personChannelStateQuery);
    expect(state).toMatchObject({ deliveredCount: expect.any(Number), queue: [], channel: { id: last.channel } });
    expect(state.delivered.slice(-1)).toEqual([ids[5]]);
    await recordFixture('org-channel-continue-as-new', runs[0]!.events);
    await recordFixture('org-channel-carried', runs[runs.length - 1]!.events);
  });

  it('closes when idle; the next notification starts it again into the channel on record', async () => {
    const { h, client, stack } = t;
    const agent = await person('idle');
    const workflowId = personChannelWorkflowId(agent);
    const input: PersonChannelInput = { personId: agent, policy: { ...policy, idleCloseAfterMs: 1000 } };
    const first = await client.workflow.start('personChannelWorkflow', {
      workflowId,
      taskQueue: stack.taskQueue,
      args: [input],
    });
    await h.notify(note(`idle_${agent}_1`, agent, 'Before the pause'));
    const closed = await first.result();
    expect(closed.deliveredCount).toBe(1);
    await h.notify(note(`idle_${agent}_2`, agent, 'After the pause'));
    const second = await h.delivered(`idle_${agent}_2`);
    expect(second.channel).toBe(closed.channel!.id);
    await waitIdle(client.workflow.getHandle(workflowId));
    expect((await h.posts(second.channel!)).map((p) => p.text)).toEqual(['Before the pause', 'After the pause']);
    const channels = (await h.slack.channels()).filter((c) => String(c.name).startsWith(`team-${agent}`));
    expect(channels).toHaveLength(1);
  });

  it('a post Slack refuses is reported once and retried; the notification behind it waits its turn', async () => {
    const { h, client, stack } = t;
    const agent = await person('retry');
    const workflowId = personChannelWorkflowId(agent);
    const input: PersonChannelInput = { personId: agent, policy: { ...policy, retryAfterMs: 1500 } };
    await client.workflow.start('personChannelWorkflow', { workflowId, taskQueue: stack.taskQueue, args: [input] });
    const first = await h.delivered((await h.notify(note(`r0_${agent}`, agent, 'Zero'))).notificationId as string);
    // The next post is refused for good once (as if the channel were briefly locked); then Slack recovers.
    await h.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'restricted_action',
      count: 1,
      channel: first.channel!,
    });
    await h.notify(note(`r1_${agent}`, agent, 'One'));
    await h.notify(note(`r2_${agent}`, agent, 'Two'));
    const failed = await h.slack.waitFor(async () => {
      const n = await h.notification(`r1_${agent}`);
      return n.status === 'undelivered' ? n : undefined;
    }, 30_000);
    expect(failed.error).toBe('post_failed');
    expect((await h.notification(`r2_${agent}`)).status).toBe('accepted');
    await h.delivered(`r2_${agent}`);
    expect((await h.notification(`r1_${agent}`)).status).toBe('delivered');
    await waitIdle(client.workflow.getHandle(workflowId));
    expect((await h.posts(first.channel!)).map((p) => p.text)).toEqual(['Zero', 'One', 'Two']);
    const alerts = await h.opsAlerts(workflowId);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toContain('restricted_action');
  });
});
