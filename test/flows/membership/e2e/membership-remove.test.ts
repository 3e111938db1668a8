import { describe, expect, it } from 'vitest';
import { SANDBOX_ADMIN_USER_TOKEN } from '../../../../emulators/slack/seed.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { useStack } from '../../../helpers/use-stack.js';
import { membershipHarness, membershipSyncs } from './helpers.js';

const DOMAIN = 'leavers.example';
const ADMINS = 'C0ESCALATE';

/**
 * `MEMBERSHIP_UNENROLLED=remove`: unenrolled people with an account are removed through
 * `admin.users.remove` (the emulator deactivates them, as Slack does), each answer classified; a
 * removal Slack refuses for good is reported and asked for in the admins channel instead.
 */
describe('workspace membership: unenrolled people removed through admin.users.remove', () => {
  const t = useStack(
    {
      MEMBERSHIP_ADMINS_CHANNEL: ADMINS,
      SLACK_ADMIN_USER_TOKEN: SANDBOX_ADMIN_USER_TOKEN,
      MEMBERSHIP_INVITE_CHANNELS: 'C0PAYMENTS',
      MEMBERSHIP_UNENROLLED: 'remove',
    },
    membershipHarness,
  );
  const { sync, member, requests, putDirectory } = membershipSyncs(t, ADMINS);

  it('removes each unenrolled account once (DEACTIVATED, audited); a refused removal is loud and asked for in the channel', async () => {
    const { slack } = t.h;
    await slack.addUsers({ generate: { count: 3, prefix: 'lv', domain: DOMAIN } });
    const email = (n: number) => `lv000${n}@${DOMAIN}`;
    await putDirectory([
      { id: 'leaver1', email: email(1), status: 'enrolled' },
      { id: 'leaver2', email: email(2), status: 'enrolled' },
      { id: 'stayer3', email: email(3), status: 'enrolled' },
    ]);
    const joined = await sync(0);
    expect(joined.removed).toEqual({ removed: 0, already_gone: 0, failed: 0 });
    expect(await member('leaver1')).toMatchObject({ state: 'ACCEPTED' });

    for (const id of ['leaver1', 'leaver2']) {
      const n = Number(id.slice(-1));
      const r = await t.h.call('PUT', `/v1/members/${id}`, {
        email: email(n),
        name: `Person ${id}`,
        status: 'unenrolled',
      });
      expect(r.status).toBe(200);
    }
    const asked = (await requests()).length;
    // In member-id order: leaver1 is refused for good, leaver2 is removed.
    await slack.injectFault({
      method: 'admin.users.remove',
      kind: 'error',
      error: 'cant_remove_primary_owner',
      count: 1,
    });
    const run = await sync(1);
    expect(run.removed).toEqual({ removed: 1, already_gone: 0, failed: 1 });

    const calls = (await slack.calls()).filter((c) => c.method === 'admin.users.remove');
    expect(calls.map((c) => c.status)).toEqual([200, 200]);
    const users = await slack.users();
    const byEmail = (e: string) => users.find((u) => u.email === e);
    expect(byEmail(email(2))?.deleted).toBe(true);
    expect(byEmail(email(1))?.deleted).toBeFalsy();
    expect(byEmail(email(3))?.deleted).toBeFalsy();
    expect(await member('leaver2')).toMatchObject({ state: 'DEACTIVATED' });
    const audits = (await auditLogRepo(t.pool).bySubject('member:leaver2')).filter(
      (a) => a.action === 'membership.transition',
    );
    expect(audits.at(-1)).toMatchObject({
      after: { state: 'DEACTIVATED' },
      details: { via: 'admin.users.remove', outcome: 'removed' },
    });
    // The refused one: one ops alert, one request in the admins channel naming only them.
    const alerts = (await slack.channelMessages(t.stack.config.slack.opsChannel)).filter(
      (m) => m.text.includes('admin.users.remove') && m.text.includes('cant_remove_primary_owner'),
    );
    expect(alerts).toHaveLength(1);
    const posted = (await requests()).slice(asked).map((m) => `${m.text}${JSON.stringify(m.blocks)}`);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain(email(1));
    expect(posted[0]).not.toContain(email(2));

    // The next sync finds leaver2's account deactivated: nothing more to do for them.
    const again = await sync(2);
    expect(again.removed).toEqual({ removed: 0, already_gone: 0, failed: 0 });
    expect((await slack.calls()).filter((c) => c.method === 'admin.users.remove')).toHaveLength(2);
    expect(await member('leaver2')).toMatchObject({ state: 'DEACTIVATED' });
  }, 180_000);
});
