import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFixture } from '../../../helpers/fixtures.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import type { TestStack } from '../../../helpers/stack.js';
import type { Projects } from '../../tickets/e2e/helpers.js';
import { JIRA_OF, SLACK_OF, startAssignmentStack, type assignmentHarness } from './helpers.js';

const buttons = (m: { blocks?: unknown[] }) =>
  JSON.stringify(m.blocks ?? [])
    .match(/tl:assignment\.\w+/g)
    ?.sort() ?? [];
const assigneeOf = (i: { fields: Record<string, unknown> }) =>
  (i.fields.assignee as { accountId?: string } | null)?.accountId;
const person = (row: { after?: unknown }) => (row.after as { person: string }).person;

describe('assignment routing, end to end (Jira and Slack emulators acting as people)', () => {
  let stack: TestStack;
  let p: Projects;
  let h: ReturnType<typeof assignmentHarness>;

  beforeAll(async () => {
    ({ stack, projects: p, h } = await startAssignmentStack());
  });
  afterAll(async () => {
    await h?.close();
    await stack?.stop();
  });

  it('routes an unassigned issue, takes a decline with its reason, routes to the next person, and Accept sets the Jira assignee', async () => {
    const key = await h.createIssue({ assignee: null, summary: 'Card payouts failing' });
    const [routed1] = await h.waitRows(key, 'assignment.routed');
    const first = person(routed1!);
    expect(['bob', 'carol', 'dave']).toContain(first);
    expect(routed1).toMatchObject({
      ruleId: 'ops',
      ruleVersion: expect.stringMatching(/^r-[0-9a-f]{12}$/),
      outcome: 'ok',
      correlationId: `assignment:${key}:decision:1`,
      details: { dm: 'ok', threadNote: 'ok', strategy: 'least_loaded', pool: 'ops' },
    });
    const ranked = (routed1!.details as { candidates: { person: string; rank: number; reasons: string[] }[] })
      .candidates;
    expect(ranked.map((c) => c.person).sort()).toEqual(['bob', 'carol', 'dave']);
    expect(ranked[0]!.person).toBe(first);
    for (const c of ranked) expect(c.reasons.length).toBeGreaterThan(1);

    const dm1 = await h.dm(key, 1);
    expect(dm1.channel.startsWith('D')).toBe(true);
    expect(buttons(dm1)).toEqual(['tl:assignment.accept', 'tl:assignment.reassign']);
    expect(dm1.text).toContain(key);

    // Someone else clicking the DM's Accept is refused and changes nothing.
    const other = ['bob', 'carol', 'dave'].find((x) => x !== first)!;
    await h.slack.clickButton({
      user: SLACK_OF[other]!,
      channel: dm1.channel,
      ts: dm1.ts,
      action_id: 'tl:assignment.accept',
    });

    await h.slack.clickButton({
      user: SLACK_OF[first]!,
      channel: dm1.channel,
      ts: dm1.ts,
      action_id: 'tl:assignment.reassign',
    });
    const modal = await h.slack.waitFor(
      async () => (await h.slack.views()).find((v) => JSON.stringify(v).includes(`assignment:${key}|1`)),
      20_000,
    );
    expect(modal).toBeDefined();
    await h.slack.submitView({ user: SLACK_OF[first]!, values: { reason: { reason: 'on leave this week' } } });

    const routed = await h.waitRows(key, 'assignment.routed', 2);
    const second = person(routed[1]!);
    expect(second).not.toBe(first);
    expect(routed[1]!.details).toMatchObject({
      inputs: { excluded: [{ person: first, why: 'declined: on leave this week' }] },
    });
    const [declined] = await h.rows(key, 'assignment.declined');
    expect(declined).toMatchObject({
      actor: { kind: 'slack_user', id: SLACK_OF[first] },
      details: { reason: 'on leave this week', attempt: 1 },
    });
    // The first DM lost its buttons and says it was passed on.
    const dm1After = await h.slack.message(dm1.channel, dm1.ts);
    expect(buttons(dm1After)).toEqual([]);
    expect(dm1After.text).toContain('passed');

    const dm2 = await h.dm(key, 2);
    await h.slack.clickButton({
      user: SLACK_OF[second]!,
      channel: dm2.channel,
      ts: dm2.ts,
      action_id: 'tl:assignment.accept',
    });
    await h.jira.waitFor(async () => assigneeOf(await h.jira.issue(key)) === JIRA_OF[second], 20_000);
    const [accepted] = await h.waitRows(key, 'assignment.accepted');
    expect(accepted).toMatchObject({
      actor: { kind: 'slack_user', id: SLACK_OF[second] },
      targetSystem: 'jira',
      outcome: 'ok',
      correlationId: `assignment:${key}:decision:2`,
      after: { status: 'claimed', jiraAssignee: JIRA_OF[second] },
    });

    // Jira status moves the assignment; our own assignee write coming back is no override.
    await h.jira.transitionIssue(key, `${second}@example.com`, 'In Progress');
    await h.waitRows(key, 'assignment.status_changed');
    await h.idle(key);
    const s = await h.state(key);
    expect(s).toMatchObject({ status: 'in_progress', overridden: false, owner: { person: second, by: 'threadline' } });
    expect(await h.dms(key)).toHaveLength(2);
    expect(await h.rows(key, 'assignment.routed')).toHaveLength(2);
    expect(await h.rows(key, 'assignment.accepted')).toHaveLength(1);
    expect(await h.rows(key, 'assignment.overridden')).toHaveLength(0);

    // The trail alone explains the assignment, in order.
    const actions = (await h.trail(key)).map((r) => r.action).filter((a) => a.startsWith('assignment.'));
    expect(actions).toEqual([
      'assignment.routed',
      'assignment.declined',
      'assignment.routed',
      'assignment.accepted',
      'assignment.status_changed',
    ]);

    // Done closes the assignment (and its workflow).
    await h.jira.transitionIssue(key, `${second}@example.com`, 'Done');
    expect(await h.result(key)).toMatchObject({ key, status: 'closed', owner: { jira: JIRA_OF[second] } });
    expect(await h.rows(key, 'assignment.closed')).toHaveLength(1);
    await recordFixture('assignment-decline-accept', await h.history(key));
  });

  it('"hand it to this person" in the Reassign form sets the Jira assignee of someone the rules know, and clears it for someone they do not', async () => {
    const handOver = async (to: string) => {
      const key = await h.createIssue({ assignee: null });
      const [routed] = await h.waitRows(key, 'assignment.routed');
      const dm = await h.dm(key, 1);
      const from = SLACK_OF[person(routed!)]!;
      await h.slack.clickButton({ user: from, channel: dm.channel, ts: dm.ts, action_id: 'tl:assignment.reassign' });
      await h.slack.waitFor(
        async () => (await h.slack.views()).find((v) => JSON.stringify(v).includes(`assignment:${key}|1`)),
        20_000,
      );
      await h.slack.submitView({
        user: from,
        values: { reason: { reason: 'Alice has the context' }, hand_to: { hand_to: to } },
      });
      const [handed] = await h.waitRows(key, 'assignment.handed_over');
      await h.idle(key);
      return { key, handed: handed!, from };
    };
    const known = await handOver(SLACK_OF.alice!);
    expect(known.handed).toMatchObject({
      actor: { kind: 'slack_user', id: known.from },
      outcome: 'ok',
      details: { to: SLACK_OF.alice, jiraAssignee: JIRA_OF.alice },
    });
    expect(assigneeOf(await h.jira.issue(known.key))).toBe(JIRA_OF.alice);
    expect(await h.state(known.key)).toMatchObject({
      status: 'claimed',
      overridden: true,
      owner: { slack: SLACK_OF.alice, jira: JIRA_OF.alice, by: 'person' },
    });
    expect(await h.rows(known.key, 'assignment.routed')).toHaveLength(1);

    const unknown = await handOver('U0ERIN');
    expect(unknown.handed).toMatchObject({ details: { to: 'U0ERIN', jiraAssignee: null } });
    expect(assigneeOf(await h.jira.issue(unknown.key))).toBeUndefined();
  });

  it('respects a person changing the assignee in Jira: the handoff is recorded and routing stops', async () => {
    const key = await h.createIssue({ assignee: null });
    const [routed] = await h.waitRows(key, 'assignment.routed');
    const dm = await h.dm(key, 1);
    await h.jira.assignIssue(key, 'alice@example.com', 'erin@example.com');
    const [override] = await h.waitRows(key, 'assignment.overridden');
    expect(override).toMatchObject({
      actor: { kind: 'jira_user', id: JIRA_OF.alice },
      sourceSystem: 'jira',
      before: { status: 'routed', routedTo: routed!.after && (routed!.after as { name: string }).name },
      after: { status: 'claimed', owner: { jira: '712020:erin', by: 'person' } },
    });
    await h.idle(key);
    expect(buttons(await h.slack.message(dm.channel, dm.ts))).toEqual([]);
    expect(assigneeOf(await h.jira.issue(key))).toBe('712020:erin');
    expect(await h.rows(key, 'assignment.routed')).toHaveLength(1);
    expect(await h.state(key)).toMatchObject({ status: 'claimed', overridden: true });
  });

  it('an issue created with an assignee keeps it: no routing, no DM', async () => {
    const key = await h.createIssue({ assignee: 'dave@example.com' });
    await h.waitRows(key, 'assignment.owner_at_creation');
    await h.idle(key);
    expect(await h.rows(key, 'assignment.routed')).toHaveLength(0);
    expect(await h.dms(key)).toHaveLength(0);
  });

  it('ack timeout: passes it to the next person and tells the lead channel; after the cap it escalates to the lead', async () => {
    const key = await h.createIssue({ assignee: null, labels: ['fast'] });
    const [escalated] = await h.waitRows(key, 'assignment.escalated', 1, 60_000);
    expect(escalated).toMatchObject({
      ruleId: 'fast',
      details: { why: 'ack_cap', timeouts: 2, leadDm: 'ok', leadChannel: 'ok' },
    });
    await h.idle(key);
    const routed = await h.rows(key, 'assignment.routed');
    expect(routed).toHaveLength(2);
    expect(person(routed[0]!)).not.toBe(person(routed[1]!));
    expect(await h.rows(key, 'assignment.ack_timeout')).toHaveLength(2);
    const lead = (await h.slack.channelMessages('C0ESCALATE')).filter((m) => m.text.includes(key));
    expect(lead.map((m) => (m.text.includes('escalated') ? 'final' : 'try'))).toEqual(['try', 'final']);
    expect(await h.state(key)).toMatchObject({ status: 'reassigned', escalated: true, timeouts: 2 });
    await recordFixture('assignment-ack-escalation', await h.history(key));
  });

  it('reconciliation repairs drift it finds in Jira (missed webhooks) as maintenance, respecting the person’s change', async () => {
    const key = await h.createIssue({ assignee: null });
    const [routed] = await h.waitRows(key, 'assignment.routed');
    const who = person(routed!);
    const dm = await h.dm(key, 1);
    await h.slack.clickButton({
      user: SLACK_OF[who]!,
      channel: dm.channel,
      ts: dm.ts,
      action_id: 'tl:assignment.accept',
    });
    await h.waitRows(key, 'assignment.accepted');
    await h.idle(key);
    // Webhooks lost: a person moves it to In Progress and gives it to Erin; Threadline hears nothing.
    await h.jira.config({ webhookUrls: [] });
    try {
      await h.jira.transitionIssue(key, 'alice@example.com', 'In Progress');
      await h.jira.assignIssue(key, 'alice@example.com', 'erin@example.com');
    } finally {
      await h.jira.config({ webhookUrls: [`${h.api}/webhooks/jira`] });
    }
    const summary = await h.reconcileNow();
    expect(summary).toMatchObject({ category: 'maintenance', action: 'assignment.reconciled' });
    expect((summary.details as { drifted: number }).drifted).toBeGreaterThanOrEqual(1);
    const repaired = await h.waitRows(key, 'assignment.repaired', 2);
    expect(repaired.map((r) => r.category)).toEqual(['maintenance', 'maintenance']);
    expect(repaired.map((r) => (r.details as { field: string }).field).sort()).toEqual(['assignee', 'status']);
    const [found] = await h.rows(key, 'assignment.drift_found');
    expect(found).toMatchObject({ category: 'maintenance', outcome: 'ok', correlationId: summary.correlationId });
    const [override] = await h.rows(key, 'assignment.overridden');
    expect(override).toMatchObject({ category: 'business', after: { owner: { jira: '712020:erin', by: 'person' } } });
    await h.idle(key);
    expect(await h.state(key)).toMatchObject({
      status: 'in_progress',
      overridden: true,
      owner: { jira: '712020:erin' },
    });
    expect(assigneeOf(await h.jira.issue(key))).toBe('712020:erin');
    // The API tells maintenance from business rows.
    const res = await fetch(`${h.api}/v1/audit?subject=ticket:${key}&category=maintenance`, { headers: h.auth });
    const body = (await res.json()) as { entries: { action: string }[] };
    expect(body.entries.map((e) => e.action)).toEqual([
      'assignment.drift_found',
      'assignment.repaired',
      'assignment.repaired',
    ]);
    const [wfId, runId] = [
      summary.correlationId!.slice(0, summary.correlationId!.lastIndexOf(':')),
      summary.correlationId!.slice(summary.correlationId!.lastIndexOf(':') + 1),
    ];
    await recordFixture('assignment-reconcile-pass', await h.runHistory(wfId, runId));
    await recordFixture('assignment-reconcile-repair', await h.history(key));
    // A second pass finds nothing left to repair.
    await h.reconcileNow();
    await h.idle(key);
    expect(await h.rows(key, 'assignment.repaired')).toHaveLength(2);
    expect(await h.rows(key, 'assignment.drift_found')).toHaveLength(1);
  });

  /** A run-time switch through the API, as an operator makes it. */
  const switchFlag = async (flag: string, scope: string, enabled: boolean | null) => {
    const res = await fetch(`${h.api}/v1/flags/${flag}`, {
      method: 'PUT',
      headers: { ...h.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ scope, enabled, reason: 'e2e test' }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { changed: boolean };
  };

  it('a project switched off stops new routing (audited), and switching it back on routes the issue', async () => {
    const scope = `project:${p.sup}`;
    expect(await switchFlag('assignment', scope, false)).toMatchObject({ changed: true });
    try {
      const switched = await auditLogRepo(h.pool).bySubject('flag:assignment');
      expect(switched.filter((r) => (r.details as { scope?: string }).scope === scope).at(-1)).toMatchObject({
        action: 'flag.switched',
        actor: { kind: 'api_client' },
        after: { scope, enabled: false },
        details: { reason: 'e2e test' },
      });
      const key = await h.createIssue({ project: p.sup, assignee: null });
      const [paused] = await h.waitRows(key, 'assignment.routing_paused');
      expect(paused).toMatchObject({ outcome: 'skipped', details: { scope } });
      // Observable point: the workflow checked the flag again (still off) after pausing.
      await h.slack.waitFor(async () => {
        const s = await h.state(key);
        return s.paused && s.paused.checkedAtMs > s.paused.sinceMs ? s : undefined;
      }, 30_000);
      expect(await h.dms(key)).toHaveLength(0);
      expect(await h.rows(key, 'assignment.routed')).toHaveLength(0);
      await switchFlag('assignment', scope, null);
      await h.waitRows(key, 'assignment.routed');
      expect(await h.rows(key, 'assignment.routing_paused')).toHaveLength(1);
    } finally {
      await switchFlag('assignment', scope, null);
    }
  });

  it('ticket sync switched off for a project starts no thread (and no assignment) for its issues', async () => {
    const scope = `project:${p.sup}`;
    await switchFlag('ticket_sync', scope, false);
    try {
      const key = await h.createIssue({ project: p.sup, assignee: null });
      await h.deliveriesDone();
      const answered = (await h.jira.deliveries()).filter((d) => d.body.includes(`"${key}"`));
      expect(answered.length).toBeGreaterThan(0);
      // Our endpoint answered each delivery as out of scope: nothing was started.
      for (const d of answered) expect(d.response).toMatchObject({ key, scope: 'out' });
      const threads = await h.pool.query('SELECT 1 FROM ticket_threads WHERE issue_key = $1', [key]);
      expect(threads.rowCount).toBe(0);
    } finally {
      await switchFlag('ticket_sync', scope, null);
    }
  });
});
