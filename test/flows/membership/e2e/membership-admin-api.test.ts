import { describe, expect, it } from 'vitest';
import { SANDBOX_ADMIN_USER_TOKEN } from '../../../../emulators/slack/seed.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { eventsOf, scheduledActivities } from '../../../helpers/history.js';
import { useStack } from '../../../helpers/use-stack.js';
import { membershipHarness, membershipSyncs } from './helpers.js';

const DOMAIN = 'campus.example';
const email = (n: number) => `a${String(n).padStart(4, '0')}@${DOMAIN}`;
const ADMINS = 'C0ESCALATE';

describe('workspace membership with the Admin API (admin.users.invite under an org admin’s user token)', () => {
  const t = useStack(
    {
      MEMBERSHIP_ADMINS_CHANNEL: ADMINS,
      SLACK_ADMIN_USER_TOKEN: SANDBOX_ADMIN_USER_TOKEN,
      MEMBERSHIP_INVITE_CHANNELS: 'C0PAYMENTS,C0TICKETS',
    },
    membershipHarness,
  );
  const { sync, lastRun, member, requests, putDirectory } = membershipSyncs(t, ADMINS);
  const inviteCalls = async () => (await t.h.slack.calls()).filter((c) => c.method === 'admin.users.invite');
  const opsAlerts = async (code: string) =>
    (await t.h.slack.channelMessages(t.stack.config.slack.opsChannel)).filter(
      (m) => m.text.includes('admin.users.invite') && m.text.includes(code),
    );
  const transitions = async (id: string) =>
    (await auditLogRepo(t.pool).bySubject(`member:${id}`))
      .filter((a) => a.action === 'membership.transition')
      .map((a) => (a.after as { state: string }).state);

  it('a paged directory of 1,000 reconciles in one run under the rate limits: invites through the API, each answer classified', async () => {
    const { slack } = t.h;
    await slack.addUsers({ generate: { count: 1000, prefix: 'a', domain: DOMAIN } });
    const directory = [
      ...Array.from({ length: 1000 }, (_, i) => ({
        id: `a${i + 1}`,
        email: email(i + 1),
        status: i + 1 > 990 ? 'unenrolled' : 'enrolled',
      })),
      ...Array.from({ length: 5 }, (_, i) => ({ id: `fresh${i}`, email: `fresh${i}@${DOMAIN}`, status: 'enrolled' })),
    ];
    await putDirectory(directory);
    await slack.setRateLimits(true);
    // Member ids differ from the other membership file's: audit subjects (`member:<id>`) are not
    // per deployment, and the two files may run at once against one database.
    // In member-id order: fresh0 is refused with a 429, then Slack says they joined meanwhile;
    // fresh1's address is refused; fresh2–4 are invited.
    await slack.injectFault({ method: 'admin.users.invite', kind: 'ratelimit', retryAfter: 1, count: 1 });
    await slack.injectFault({ method: 'admin.users.invite', kind: 'error', error: 'already_in_team', count: 1 });
    await slack.injectFault({ method: 'admin.users.invite', kind: 'error', error: 'invalid_email', count: 1 });

    const first = await sync(0);
    await slack.setRateLimits(false);
    // 5 seed people + the bot + 1,000: 6 pages of at most 200.
    expect(first.pages).toBe(6);
    expect(first.invited).toEqual({ invited: 3, already_invited: 0, already_in_team: 1, failed: 1 });
    const calls = await inviteCalls();
    expect(calls.map((c) => c.status)).toEqual([429, 200, 200, 200, 200, 200]);
    // The 429 was answered by asking for the same person again, not the next one.
    expect(calls[0]!.args.email).toBe(calls[1]!.args.email);
    expect(calls.slice(1).map((c) => c.args.email)).toEqual([0, 1, 2, 3, 4].map((i) => `fresh${i}@${DOMAIN}`));
    expect(calls[2]!.args).toMatchObject({ team_id: 'T0THREADLN', real_name: 'Person fresh1' });

    // What Slack holds: three pending invites into the configured channels.
    const invites = await slack.invites();
    expect(invites.map((i) => i.email).sort()).toEqual([2, 3, 4].map((i) => `fresh${i}@${DOMAIN}`));
    expect(invites[0]!.channel_ids).toEqual(['C0PAYMENTS', 'C0TICKETS']);
    expect(await member('fresh0')).toMatchObject({ state: 'ACCEPTED' });
    expect(await member('fresh1')).toMatchObject({ state: 'PENDING', inviteError: 'invalid_email' });
    for (const id of ['fresh2', 'fresh3', 'fresh4']) expect(await member(id)).toMatchObject({ state: 'INVITED' });
    expect(await transitions('fresh0')).toEqual(['ACCEPTED']);
    expect(await transitions('fresh2')).toEqual(['INVITED']);

    // The refused address is loud (audit, ops alert) and goes to the admins as a request; the
    // unenrolled accounts are requested for deactivation (the API path only invites).
    const failed = (await auditLogRepo(t.pool).bySubject(lastRun().workflowId)).filter(
      (a) => a.action === 'membership.slack_failed',
    );
    expect(failed.map((a) => (a.details as { error?: string }).error)).toEqual(['invalid_email']);
    expect(await opsAlerts('invalid_email')).toHaveLength(1);
    const posted = (await requests()).map((m) => `${m.text}${JSON.stringify(m.blocks)}`);
    expect(posted).toHaveLength(2);
    const invite = posted.find((p) => p.includes('invite these enrolled'))!;
    expect(invite).toContain(`fresh1@${DOMAIN}`);
    expect(invite).not.toContain(`fresh2@${DOMAIN}`);
    expect(posted.find((p) => p.includes('deactivate these'))).toContain(email(995));
    const events = await eventsOf(lastRun());
    await recordFixture('membership-sync-admin-api', events);
    const activities = scheduledActivities(events);
    expect(activities.filter((a) => a === 'inviteMember')).toHaveLength(5);
    expect(activities.filter((a) => a === 'requestAdminAction')).toHaveLength(2);
    // Emails stay out of workflow history (member ids only).
    expect(JSON.stringify(events)).not.toContain(`fresh1@${DOMAIN}`);

    // People accept; the next sync moves them and invites nobody twice, asks admins nothing new.
    await slack.acceptInvite(`fresh2@${DOMAIN}`);
    await slack.addUsers({ users: [{ email: `fresh0@${DOMAIN}` }] });
    const second = await sync(1);
    expect(second.invited).toEqual({ invited: 0, already_invited: 0, already_in_team: 0, failed: 0 });
    expect(await inviteCalls()).toHaveLength(6);
    expect(await requests()).toHaveLength(2);
    expect(await member('fresh2')).toMatchObject({ state: 'ACCEPTED' });
    expect(await member('fresh3')).toMatchObject({ state: 'INVITED' });
    expect(await member('fresh0')).toMatchObject({ state: 'ACCEPTED' });
    expect(await transitions('fresh2')).toEqual(['INVITED', 'ACCEPTED']);
  }, 240_000);

  it('an Admin API that cannot work (feature_not_enabled) is reported once and everyone left is asked for in the channel', async () => {
    const { slack } = t.h;
    await slack.setTeamPrefs({ admin_api_enabled: false });
    await putDirectory([0, 1, 2].map((i) => ({ id: `late${i}`, email: `late${i}@${DOMAIN}`, status: 'enrolled' })));
    const before = (await inviteCalls()).length;
    const asked = (await requests()).length;
    const run = await sync(2);
    // One call tells the API is off; nobody else is tried.
    expect((await inviteCalls()).length - before).toBe(1);
    expect(run.invited).toMatchObject({ invited: 0, failed: 1 });
    expect(await opsAlerts('feature_not_enabled')).toHaveLength(1);
    const posted = (await requests()).slice(asked).map((m) => `${m.text}${JSON.stringify(m.blocks)}`);
    expect(posted).toHaveLength(1);
    for (const i of [0, 1, 2]) expect(posted[0]).toContain(`late${i}@${DOMAIN}`);
    for (const i of [0, 1, 2])
      expect(await member(`late${i}`)).toMatchObject({
        state: 'PENDING',
        requestedAction: 'invite',
        inviteError: null,
      });
  }, 120_000);
});
