import { describe, expect, it } from 'vitest';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { personChannelWorkflowId } from '../../../../src/flows/hierarchy/contract.js';
import { eventsOf, scheduledActivities, waitIdle } from '../../../helpers/history.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { useStack } from '../../../helpers/use-stack.js';
import { hierarchyHarness } from './helpers.js';

const summary = (id: string, person: string, text = `Call summary ${id}`) => ({
  notificationId: id,
  audience: { person, includeReportingChain: true },
  title: 'Call summary',
  text,
  fields: [
    { label: 'Customer', value: 'ACME' },
    { label: 'Outcome', value: 'Resolved' },
  ],
});

describe('notifications through the org hierarchy, end to end (HTTP → Temporal → Slack emulator)', () => {
  const t = useStack({}, hierarchyHarness);

  /** director (Alice) ← manager (Bob) ← agent (Carol); a second manager (Dave) under the director. */
  let orgs = 0;
  async function org() {
    const { h } = t;
    const k = ++orgs;
    const ids = {
      director: h.pid(`director${k}`),
      manager: h.pid(`manager${k}`),
      other: h.pid(`other${k}`),
      agent: h.pid(`agent${k}`),
    };
    await h.put(ids.director, { name: 'Alice', slackUser: 'U0ALICE' }, 201);
    await h.put(ids.manager, { name: 'Bob', manager: ids.director, slackUser: 'U0BOB' }, 201);
    await h.put(ids.other, { name: 'Dave', manager: ids.director, slackUser: 'U0DAVE' }, 201);
    await h.put(ids.agent, { name: 'Carol', manager: ids.manager, slackUser: 'U0CAROL' }, 201);
    return ids;
  }

  it("a call summary reaches the agent's private channel with the whole chain as members, once", async () => {
    const { h, client } = t;
    const ids = await org();
    const id = `call_${ids.agent}_1`;
    const accepted = await h.notify(summary(id, ids.agent));
    expect(accepted).toMatchObject({ notificationId: id, status: 'accepted' });
    const n = await h.delivered(id);
    const channel = await h.channel(n.channel!);
    expect(channel).toMatchObject({ name: `team-${ids.agent}`, is_private: true });
    expect(await h.members(n.channel!)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);
    expect(n.members).toBe(3);

    // The same notification again (a client retry): answered from the ledger, nothing posted.
    const again = await h.ok(await h.call('POST', '/v1/notifications', summary(id, ids.agent)));
    expect(again).toMatchObject({ notificationId: id, status: 'delivered' });
    const other = await h.call('POST', '/v1/notifications', summary(id, ids.agent, 'another text'));
    expect(other.status).toBe(409);
    expect(await other.text()).toContain('notificationId');

    const handle = client.workflow.getHandle(personChannelWorkflowId(ids.agent));
    await waitIdle(handle);
    const posts = await h.posts(n.channel!);
    expect(posts).toHaveLength(1);
    expect(`${posts[0]!.text}${JSON.stringify(posts[0]!.blocks)}`).toContain('ACME');
    const events = await eventsOf(handle);
    expect(scheduledActivities(events).filter((a) => a === 'postSlackMessage')).toHaveLength(1);
    expect(scheduledActivities(events).filter((a) => a === 'ensurePersonChannel')).toHaveLength(1);
    const audit = (await auditLogRepo(t.pool).bySubject(personChannelWorkflowId(ids.agent))).map((a) => a.action);
    expect(audit.filter((a) => a === 'org.notification_delivered')).toHaveLength(1);
    expect(audit).toContain('org.channel_created');
    expect(await h.opsAlerts(personChannelWorkflowId(ids.agent))).toEqual([]);
    await recordFixture('org-channel', events);
  });

  it('a manager change moves membership on the next post; notifications keep their order', async () => {
    const { h, client } = t;
    const ids = await org();
    const first = await h.delivered((await h.notify(summary(`c1_${ids.agent}`, ids.agent))).notificationId as string);
    expect(await h.members(first.channel!)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);

    // Carol now reports to Dave: Bob leaves her channel, Dave joins it, on the next post.
    await h.put(ids.agent, { name: 'Carol', manager: ids.other, slackUser: 'U0CAROL' });
    const person = await h.ok<{ reportingChain: { personId: string }[] }>(
      await h.call('GET', `/v1/org/people/${ids.agent}`),
    );
    expect(person.reportingChain.map((l) => l.personId)).toEqual([ids.other, ids.director]);
    expect(await h.members(first.channel!)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);

    // Three more in a burst: delivered in the order they were accepted.
    for (const k of [2, 3, 4]) await h.notify(summary(`c${k}_${ids.agent}`, ids.agent, `Summary number ${k}`));
    const last = await h.delivered(`c4_${ids.agent}`);
    expect(last.channel).toBe(first.channel);
    expect(await h.members(first.channel!)).toEqual(['U0ALICE', 'U0CAROL', 'U0DAVE']);
    await waitIdle(client.workflow.getHandle(personChannelWorkflowId(ids.agent)));
    const texts = (await h.posts(first.channel!)).map((m) => /Summary number (\d)|c1_/.exec(m.text)?.[0]);
    expect(texts).toEqual(['c1_', 'Summary number 2', 'Summary number 3', 'Summary number 4']);
    const reconciled = (await auditLogRepo(t.pool).bySubject(personChannelWorkflowId(ids.agent))).filter(
      (a) => a.action === 'org.membership_reconciled',
    );
    expect(reconciled.map((a) => [a.details?.added, a.details?.removed])).toEqual([
      [['U0CAROL', 'U0BOB', 'U0ALICE'], []],
      [['U0DAVE'], ['U0BOB']],
    ]);
  });

  it("Slack's refusals are handled one by one: a kicked-self or already-in answer is fine, user_not_found and restricted_action are reported once, the post goes on", async () => {
    const { h, client } = t;
    const ids = await org();
    const ghost = h.pid('ghost');
    // A manager whose Slack account does not exist: invites fail with user_not_found.
    await h.put(ghost, { name: 'Ghost', manager: ids.director, slackUser: 'U0NOSUCH' }, 201);
    await h.put(ids.agent, { name: 'Carol', manager: ghost, slackUser: 'U0CAROL' });
    const n1 = await h.delivered((await h.notify(summary(`k1_${ids.agent}`, ids.agent))).notificationId as string);
    expect(await h.members(n1.channel!)).toEqual(['U0ALICE', 'U0CAROL']);
    const subject = personChannelWorkflowId(ids.agent);
    const ghostAlerts = await h.slack.waitFor(async () => {
      const a = await h.opsAlerts(subject);
      return a.length ? a : undefined;
    });
    expect(`${ghostAlerts[0]!.text}${JSON.stringify(ghostAlerts[0]!.blocks)}`).toContain('user_not_found');

    // Someone added by hand who is not in the chain must leave, but Slack refuses the removal
    // (only admins may remove people from private channels); Bob joins back by hand too.
    await h.slack.joinChannel({ user: 'U0ERIN', channel: n1.channel!, by: 'U0CAROL' });
    await h.slack.setTeamPrefs({ who_can_kick_groups: 'admins' });
    try {
      const n2 = await h.delivered((await h.notify(summary(`k2_${ids.agent}`, ids.agent))).notificationId as string);
      expect(n2.channel).toBe(n1.channel);
      expect(await h.members(n1.channel!)).toEqual(['U0ALICE', 'U0CAROL', 'U0ERIN']);
    } finally {
      await h.slack.setTeamPrefs({ who_can_kick_groups: 'everyone' });
    }
    // Now the removal answers cant_kick_self (a fault): success for us, nothing reported.
    await h.slack.injectFault({ method: 'conversations.kick', kind: 'error', error: 'cant_kick_self', count: 1 });
    try {
      await h.delivered((await h.notify(summary(`k3_${ids.agent}`, ids.agent))).notificationId as string);
    } finally {
      await h.slack.clearFaults();
    }
    await waitIdle(client.workflow.getHandle(subject));
    expect(await h.posts(n1.channel!)).toHaveLength(3);
    // Slack really answered each refusal (the calls are the emulator's record, not ours).
    const refusals = (await h.slack.calls())
      .filter((c) => ['conversations.invite', 'conversations.kick'].includes(c.method) && c.args.channel === n1.channel)
      .map((c) => `${c.method}:${c.error ?? 'ok'}`);
    expect(refusals).toEqual(
      expect.arrayContaining([
        'conversations.invite:user_not_found',
        'conversations.kick:restricted_action',
        'conversations.kick:cant_kick_self',
      ]),
    );
    const alerts = (await h.opsAlerts(subject)).map((m) => `${m.text}${JSON.stringify(m.blocks)}`);
    // One alert per problem, not per post: the ghost's invite (three posts) and Erin's removal.
    expect(alerts).toHaveLength(2);
    expect(alerts.filter((a) => a.includes('user_not_found'))).toHaveLength(1);
    expect(alerts.filter((a) => a.includes('restricted_action'))).toHaveLength(1);
    const failed = (await auditLogRepo(t.pool).bySubject(subject)).filter((a) => a.action === 'org.membership_failed');
    expect(failed.map((a) => [a.details?.user, a.details?.op, a.details?.error]).sort()).toEqual([
      ['U0ERIN', 'remove', 'restricted_action'],
      ['U0NOSUCH', 'invite', 'user_not_found'],
    ]);
  });

  it('a person made inactive leaves every channel of their reports on the next post; a reactivated one comes back', async () => {
    const { h } = t;
    const ids = await org();
    const n1 = await h.delivered((await h.notify(summary(`a1_${ids.agent}`, ids.agent))).notificationId as string);
    expect(await h.members(n1.channel!)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);
    await h.put(ids.director, { name: 'Alice', slackUser: 'U0ALICE', active: false });
    await h.delivered((await h.notify(summary(`a2_${ids.agent}`, ids.agent))).notificationId as string);
    expect(await h.members(n1.channel!)).toEqual(['U0BOB', 'U0CAROL']);
    await h.put(ids.director, { name: 'Alice', slackUser: 'U0ALICE', active: true });
    await h.delivered((await h.notify(summary(`a3_${ids.agent}`, ids.agent))).notificationId as string);
    expect(await h.members(n1.channel!)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);
    const left = (await auditLogRepo(t.pool).bySubject(personChannelWorkflowId(ids.agent))).find(
      (a) => a.action === 'org.membership_reconciled' && (a.details?.removed as string[]).includes('U0ALICE'),
    );
    expect(left?.details?.leftOut).toEqual([{ personId: ids.director, reason: 'inactive' }]);
  });

  it('two moves at once that would together form a cycle: one wins, the other is refused', async () => {
    const { h } = t;
    const a = h.pid('race_a');
    const b = h.pid('race_b');
    await h.put(a, { slackUser: 'U0ALICE' }, 201);
    await h.put(b, { slackUser: 'U0BOB' }, 201);
    const [ra, rb] = await Promise.all([
      h.call('PUT', `/v1/org/people/${a}`, { manager: b, slackUser: 'U0ALICE' }),
      h.call('PUT', `/v1/org/people/${b}`, { manager: a, slackUser: 'U0BOB' }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const { rows } = await t.pool.query<{ ancestor: string; descendant: string; depth: number }>(
      'SELECT ancestor, descendant, depth FROM org_closure WHERE descendant = ANY($1) AND depth > 0',
      [[a, b]],
    );
    expect(rows).toHaveLength(1);
  });

  it('a channel lost to the bot (channel_not_found) is replaced by a new one with the same members', async () => {
    const { h } = t;
    const ids = await org();
    const n1 = await h.delivered((await h.notify(summary(`g1_${ids.agent}`, ids.agent))).notificationId as string);
    await h.slack.injectFault({
      method: 'conversations.info',
      kind: 'error',
      error: 'channel_not_found',
      count: 1,
      channel: n1.channel!,
    });
    try {
      const n2 = await h.delivered((await h.notify(summary(`g2_${ids.agent}`, ids.agent))).notificationId as string);
      expect(n2.channel).not.toBe(n1.channel);
      expect(await h.channel(n2.channel!)).toMatchObject({ name: `team-${ids.agent}-2`, is_private: true });
      expect(await h.members(n2.channel!)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);
      expect(await h.posts(n2.channel!)).toHaveLength(1);
    } finally {
      await h.slack.clearFaults();
    }
    const person = await h.ok<{ channel: { id: string } }>(await h.call('GET', `/v1/org/people/${ids.agent}`));
    const n2 = await h.notification(`g2_${ids.agent}`);
    expect(person.channel.id).toBe(n2.channel);
  });

  it('reporting lines: a subtree moves with its head, a cycle is refused naming the loop, bad input is a 400', async () => {
    const { h } = t;
    const ids = await org();
    // The manager (with the agent under them) moves under the other manager.
    await h.put(ids.manager, { name: 'Bob', manager: ids.other, slackUser: 'U0BOB' });
    const agent = await h.ok<{ reportingChain: { personId: string; depth: number }[] }>(
      await h.call('GET', `/v1/org/people/${ids.agent}`),
    );
    expect(agent.reportingChain.map((l) => [l.personId, l.depth])).toEqual([
      [ids.manager, 1],
      [ids.other, 2],
      [ids.director, 3],
    ]);
    const { rows } = await t.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM org_closure WHERE descendant = ANY($1)',
      [[ids.agent, ids.manager, ids.other, ids.director]],
    );
    expect(Number(rows[0]!.n)).toBe(4 + 3 + 2 + 1);

    // The director under the agent: director → other → manager → agent → director.
    const cycle = await h.call('PUT', `/v1/org/people/${ids.director}`, { manager: ids.agent, slackUser: 'U0ALICE' });
    expect(cycle.status).toBe(409);
    const body = (await cycle.json()) as { error: string; message: string };
    expect(body.message).toContain(`${ids.director} → ${ids.agent} → ${ids.manager} → ${ids.other} → ${ids.director}`);
    const self = await h.call('PUT', `/v1/org/people/${ids.agent}`, { manager: ids.agent });
    expect(self.status).toBe(409);
    // Nothing changed.
    const director = await h.ok<{ manager: string | null }>(await h.call('GET', `/v1/org/people/${ids.director}`));
    expect(director.manager).toBeNull();

    const unknown = await h.call('PUT', `/v1/org/people/${h.pid('x')}`, { manager: 'nobody_here' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('manager');
    const badUser = await h.call('PUT', `/v1/org/people/${h.pid('y')}`, { slackUser: 'alice' });
    expect(await badUser.text()).toContain('slackUser');
    expect((await fetch(`${t.stack.urls.api}/v1/notifications`, { method: 'POST' })).status).toBe(401);
    const noPerson = await h.call('POST', '/v1/notifications', summary('n_x', h.pid('nobody')));
    expect(noPerson.status).toBe(400);
    expect(await noPerson.text()).toContain('audience.person');
    const noText = await h.call('POST', '/v1/notifications', { ...summary('n_y', ids.agent), text: '' });
    expect(await noText.text()).toContain('text');
    expect((await h.call('GET', '/v1/notifications/none_such')).status).toBe(404);
    const huge = await h.call('POST', '/v1/notifications', {
      ...summary('n_z', ids.agent),
      text: 'x'.repeat(2_000_000),
    });
    expect(huge.status).toBe(413);
    const page = await h.ok<{ items: unknown[]; nextCursor: string | null }>(
      await h.call('GET', '/v1/org/people?limit=2'),
    );
    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).not.toBeNull();
  });

  it('a long summary is split into sections within Block Kit limits (never a failed post)', async () => {
    const { h } = t;
    const ids = await org();
    const text = Array.from({ length: 130 }, (_, i) => `Line ${i}: ${'detail '.repeat(40)}`).join('\n');
    const fields = Array.from({ length: 25 }, (_, i) => ({ label: `Field ${i}`, value: `value ${i}` }));
    const n = await h.delivered(
      (await h.notify({ ...summary(`long_${ids.agent}`, ids.agent, text), fields })).notificationId as string,
    );
    const posts = await h.posts(n.channel!);
    expect(posts).toHaveLength(1);
    const blocks = posts[0]!.blocks as { type: string; text?: { text: string }; fields?: unknown[] }[];
    const sections = blocks.filter((b) => b.type === 'section' && b.text);
    expect(sections.length).toBeGreaterThan(10);
    for (const s of sections) expect(s.text!.text.length).toBeLessThanOrEqual(3000);
    expect(blocks.filter((b) => b.fields).map((b) => b.fields!.length)).toEqual([10, 10, 5]);
    const all = JSON.stringify(blocks);
    expect(all).toContain('Line 0:');
    expect(all).toContain('Line 129:');
    expect(await h.notification(n.notificationId)).toMatchObject({ ts: posts[0]!.ts });
  });
});
