import { describe, expect, it } from 'vitest';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import type { MembershipSyncResult } from '../../../../src/flows/membership/contract.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { eventsOf, scheduledActivities } from '../../../helpers/history.js';
import { useStack } from '../../../helpers/use-stack.js';
import { membershipHarness, membershipSyncs } from './helpers.js';

const DOMAIN = 'school.example';
const email = (n: number) => `m${String(n).padStart(4, '0')}@${DOMAIN}`;

describe('workspace membership follows the directory (HTTP → Temporal Schedule → users.list → admins channel)', () => {
  const t = useStack({ MEMBERSHIP_ADMINS_CHANNEL: 'C0ESCALATE' }, membershipHarness);

  const { sync, lastRun, member, requests, putDirectory } = membershipSyncs(t, 'C0ESCALATE');

  it('a directory of 1,000 people reconciles in one run, paged under Tier 2 limits, with the right requests and transitions', async () => {
    const { slack } = t.h;
    await slack.addUsers({ generate: { count: 1000, prefix: 'm', domain: DOMAIN } });
    for (const n of [10, 11, 12]) {
      const u = (await slack.users()).find((x) => x.email === email(n));
      await slack.setUserFlags(u!.id, { is_restricted: true });
    }
    for (const n of [20, 21]) {
      const u = (await slack.users()).find((x) => x.email === email(n));
      await slack.deactivateUser(u!.id);
    }
    for (let i = 0; i < 5; i++) await slack.invite({ email: `invited${i}@${DOMAIN}`, channel_ids: ['C0PAYMENTS'] });
    await slack.setRateLimits(true);
    // One page is refused with a 429 first: only that page is asked again, after Retry-After.
    await slack.injectFault({ method: 'users.list', kind: 'ratelimit', retryAfter: 2, count: 1 });

    const directory = [
      // The emulator numbers generated people from 1.
      ...Array.from({ length: 1000 }, (_, i) => ({
        id: `m${i + 1}`,
        email: email(i + 1),
        status: i + 1 > 990 ? 'unenrolled' : 'enrolled',
      })),
      ...Array.from({ length: 5 }, (_, i) => ({ id: `inv${i}`, email: `invited${i}@${DOMAIN}`, status: 'enrolled' })),
      ...Array.from({ length: 5 }, (_, i) => ({ id: `new${i}`, email: `new${i}@${DOMAIN}`, status: 'enrolled' })),
    ];
    await putDirectory(directory);

    const first = await sync(0);
    const listCalls = (await slack.calls()).filter((c) => c.method === 'users.list');
    // 5 seed people + the bot + 1,000 + 5 invited = 1,011 accounts: 6 pages of at most 200.
    expect(first.pages).toBe(6);
    // The injected 429 first; any further 429s are the emulator's own Tier 2 limit. Each refused
    // page is asked again with the same cursor, and no page is read twice.
    const statuses = listCalls.map((c) => c.status);
    expect(statuses[0]).toBe(429);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    listCalls.forEach((c, i) => {
      if (c.status === 429) expect(listCalls[i + 1]?.args.cursor).toBe(c.args.cursor);
    });
    const read = listCalls.filter((c) => c.status === 200).map((c) => (c.args.cursor as string | undefined) ?? '');
    expect(new Set(read).size).toBe(6);
    expect(first.accounts).toBe(1010);
    const states = async () => {
      const { rows } = await t.pool.query<{ state: string; n: number }>(
        `SELECT state, count(*)::int AS n FROM directory_members WHERE scope = $2 AND member_id = ANY($1) GROUP BY state`,
        [directory.map((d) => d.id), t.stack.taskQueue],
      );
      return Object.fromEntries(rows.map((r) => [r.state, r.n]));
    };
    expect(await states()).toEqual({ ACCEPTED: 998, DEACTIVATED: 2, INVITED: 5, PENDING: 5 });
    expect(first.requested.invite).toBeGreaterThanOrEqual(5);
    expect(first.requested.deactivate).toBeGreaterThanOrEqual(10);
    expect(first.requested.reactivate).toBeGreaterThanOrEqual(2);
    const transitions = async () =>
      (
        await t.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_log WHERE action = 'membership.transition' AND subject = ANY($1)`,
          [directory.map((d) => `member:${d.id}`)],
        )
      ).rows[0]!.n;
    expect(await transitions()).toBe(1005);
    const events = await eventsOf(lastRun());
    // Exactly once: one activity per page read, one reconciliation, one post per request.
    const activities = scheduledActivities(events);
    expect(activities.filter((a) => a === 'membershipAccountsPage')).toHaveLength(6);
    expect(activities.filter((a) => a === 'requestAdminAction')).toHaveLength(3);
    await recordFixture('membership-sync', events);
    const posted = (await requests()).map((m) => `${m.text}${JSON.stringify(m.blocks)}`);
    expect(posted).toHaveLength(3);
    const invite = posted.find((p) => p.includes('invite these enrolled'))!;
    for (let i = 0; i < 5; i++) expect(invite).toContain(`new${i}@${DOMAIN}`);
    expect(invite).not.toContain('invited0@');
    const deactivate = posted.find((p) => p.includes('deactivate these'))!;
    expect(deactivate).toContain(email(995));
    expect(deactivate).not.toContain(email(989));
    expect(await member('m10')).toMatchObject({ state: 'ACCEPTED' });
    expect(await member('inv0')).toMatchObject({ state: 'INVITED' });
    expect(await member('new0')).toMatchObject({ state: 'PENDING' });
    expect(await member('m20')).toMatchObject({ state: 'DEACTIVATED' });

    // The admins act: an invite is accepted, an unenrolled account deactivated, a new person invited.
    await slack.setRateLimits(false);
    await slack.acceptInvite(`invited0@${DOMAIN}`);
    const gone = (await slack.users()).find((x) => x.email === email(995));
    await slack.deactivateUser(gone!.id);
    await slack.invite({ email: `new0@${DOMAIN}`, channel_ids: ['C0PAYMENTS'] });
    const second = await sync(1);
    expect(second.pages).toBe(6);
    expect(await transitions()).toBe(1005 + 3);
    expect(await member('inv0')).toMatchObject({ state: 'ACCEPTED' });
    expect(await member('m995')).toMatchObject({ state: 'DEACTIVATED' });
    expect(await member('new0')).toMatchObject({ state: 'INVITED' });
    const audit = await auditLogRepo(t.pool).bySubject('member:inv0');
    expect(
      audit.filter((a) => a.action === 'membership.transition').map((a) => (a.after as { state: string }).state),
    ).toEqual(['INVITED', 'ACCEPTED']);
    // People still waiting (new1–4 to invite, 9 to deactivate, 2 to reactivate) were asked once:
    // the second sync posted no request (the run is closed, so nothing more will come from it).
    expect(await requests()).toHaveLength(3);
    expect(second.requested).toEqual({ invite: 0, deactivate: 0, reactivate: 0 });
    expect(second.alreadyAsked).toBe(4 + 9 + 2);

    // Past the reminder interval (MEMBERSHIP_REMINDER_INTERVAL, 7 days) a person is asked again, alone.
    await t.pool.query(
      `UPDATE directory_members SET requested_at = requested_at - interval '8 days' WHERE scope = $1 AND member_id = 'new1'`,
      [t.stack.taskQueue],
    );
    const third = await sync(2);
    expect(third.requested).toEqual({ invite: 1, deactivate: 0, reactivate: 0 });
    const all = await requests();
    expect(all).toHaveLength(4);
    const reminder = `${all[3]!.text}${JSON.stringify(all[3]!.blocks)}`;
    expect(reminder).toContain(`new1@${DOMAIN}`);
    expect(reminder).not.toContain(`new2@${DOMAIN}`);
  }, 240_000);

  it('two runs under one workflow id (a schedule starting two in the same second) each sync anew', async () => {
    const { slack, call } = t.h;
    const who = `same-second@${DOMAIN}`;
    expect((await call('PUT', '/v1/members/sec1', { email: who, status: 'enrolled' })).status).toBe(201);
    // What the schedule does for two triggers in one second: the same workflow id, one run after the other.
    const workflowId = `membersync:${t.stack.taskQueue}-2026-12-01T09:00:00Z`;
    const run = () =>
      t.client.workflow.execute('membershipSyncWorkflow', {
        workflowId,
        taskQueue: t.stack.taskQueue,
        args: [{}],
      }) as Promise<MembershipSyncResult>;
    const first = await run();
    expect(await member('sec1')).toMatchObject({ state: 'PENDING' });
    await slack.invite({ email: who, channel_ids: ['C0PAYMENTS'] });
    const second = await run();
    // Before the fix the second run answered the first one's stored reconciliation: still PENDING.
    expect(await member('sec1')).toMatchObject({ state: 'INVITED' });
    expect(second.syncId).not.toBe(first.syncId);
  }, 120_000);

  it('bad input: 400 naming the field, 409 for an email another member has, 404, 401', async () => {
    const { call } = t.h;
    const bad = await call('PUT', '/v1/members/x1', { email: 'not-an-email', status: 'enrolled' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('email');
    const badStatus = await call('PUT', '/v1/members/x1', { email: 'x1@example.com', status: 'maybe' });
    expect(await badStatus.text()).toContain('status');
    expect((await call('PUT', '/v1/members/x1', { email: 'x1@example.com', status: 'enrolled' })).status).toBe(201);
    const taken = await call('PUT', '/v1/members/x2', { email: 'X1@example.com', status: 'enrolled' });
    expect(taken.status).toBe(409);
    expect((await call('GET', '/v1/members/none')).status).toBe(404);
    expect((await fetch(`${t.stack.urls.api}/v1/members/x1`)).status).toBe(401);
  });
});
