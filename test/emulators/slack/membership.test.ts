import { ErrorCode } from '@slack/web-api';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_USER_SCOPES, SANDBOX_ADMIN_USER_TOKEN } from '../../../emulators/slack/seed.js';
import { startHarness, startReceiver, waitUntil } from './helpers.js';
import type { Harness, Received } from './helpers.js';

// Parsed wire payloads are inspected field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

/** The platform error code of a failed call (fails the test when the call succeeds). */
async function slackError(p: Promise<unknown>): Promise<Obj> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as { data?: Obj },
  );
  if (!e) throw new Error('expected the call to fail');
  return e.data ?? {};
}

describe('Slack emulator: people, invites and private-channel membership', () => {
  let h: Harness;
  let app: Awaited<ReturnType<typeof startReceiver>>;
  const admin = () => h.clientFor(SANDBOX_ADMIN_USER_TOKEN);
  const events = (): Obj[] =>
    app.received.map((r: Received) => JSON.parse(r.body) as Obj).filter((b) => b.type === 'event_callback');

  beforeAll(async () => {
    app = await startReceiver((_r, res: ServerResponse) => res.end());
    h = await startHarness({
      userTokens: [{ token: SANDBOX_ADMIN_USER_TOKEN, user: 'U0ALICE', scopes: ADMIN_USER_SCOPES }],
    });
    h.emu.setAppUrls({ events: `${app.url}/slack/events` });
  });
  afterAll(async () => {
    await h.emu.stop();
    await app.close();
  });
  beforeEach(async () => {
    await h.admin.reset();
    app.received.length = 0;
  });

  it('admin.users.invite: bot tokens are refused, an admin user token invites, duplicates have their own errors', async () => {
    const invite = (email: string, extra: Obj = {}) =>
      admin().admin.users.invite({ team_id: 'T0THREADLN', email, channel_ids: ['C0PAYMENTS', 'C0TICKETS'], ...extra });
    expect(
      (
        await slackError(
          h.client.admin.users.invite({ team_id: 'T0THREADLN', email: 'x@example.com', channel_ids: ['C0PAYMENTS'] }),
        )
      ).error,
    ).toBe('not_allowed_token_type');
    expect((await invite('frank@example.com', { real_name: 'Frank New' })).ok).toBe(true);
    expect((await slackError(invite('frank@example.com'))).error).toBe('already_in_team_invited_user');
    expect((await slackError(invite('bob@example.com'))).error).toBe('already_in_team');
    expect((await slackError(invite('not-an-email'))).error).toBe('invalid_email');
    expect((await slackError(invite('g@example.com', { channel_ids: ['C0NOPE'] }))).error).toBe(
      'failed_to_validate_channels',
    );
    // Archived channels cannot be joined; an expiry is for guests only, and in the future.
    expect((await slackError(invite('g@example.com', { channel_ids: ['C0ARCHIVED'] }))).error).toBe(
      'failed_to_validate_channels',
    );
    const inAWeek = String(Math.floor(Date.now() / 1000) + 7 * 86_400);
    expect((await slackError(invite('g@example.com', { guest_expiration_ts: inAWeek }))).error).toBe(
      'failed_to_validate_expiration',
    );
    expect(
      (await slackError(invite('g@example.com', { is_restricted: true, guest_expiration_ts: '1000000000' }))).error,
    ).toBe('failed_to_validate_expiration');
    expect((await invite('g@example.com', { is_restricted: true, guest_expiration_ts: inAWeek })).ok).toBe(true);
    // A token of this workspace cannot invite into another one.
    expect((await slackError(invite('g@example.com', { team_id: 'T0ACMECORP' }))).error).toBe('team_not_found');

    // The pending account is listed with is_invited_user until the person accepts.
    const pending = (await h.client.users.lookupByEmail({ email: 'frank@example.com' })).user as Obj;
    expect(pending).toMatchObject({ is_invited_user: true, deleted: false, real_name: 'Frank New' });
    const accepted = await h.admin.acceptInvite('frank@example.com');
    expect(accepted.user.is_invited_user).toBeUndefined();
    const joined = await waitUntil(() => events().find((e) => e.event.type === 'team_join'));
    expect(joined.event.user).toMatchObject({ id: pending.id, profile: { email: 'frank@example.com' } });
    expect((await h.client.conversations.members({ channel: 'C0TICKETS' })).members).toContain(pending.id);
    expect((await h.admin.invites()).map((i) => [i.email, i.state])).toEqual([
      ['frank@example.com', 'accepted'],
      ['g@example.com', 'pending'],
    ]);
    expect((await slackError(invite('frank@example.com'))).error).toBe('already_in_team');
  });

  it('admin.users.invite needs the Admin API and an admin; deactivated people are user_disabled', async () => {
    const bobToken = 'xoxp-bob-token';
    await h.emu.stop();
    h = await startHarness({
      userTokens: [
        { token: SANDBOX_ADMIN_USER_TOKEN, user: 'U0ALICE', scopes: ADMIN_USER_SCOPES },
        { token: bobToken, user: 'U0BOB', scopes: ADMIN_USER_SCOPES },
      ],
    });
    h.emu.setAppUrls({ events: `${app.url}/slack/events` });
    const args = { team_id: 'T0THREADLN', email: 'n@example.com', channel_ids: ['C0PAYMENTS'] as [string] };
    expect((await slackError(h.clientFor(bobToken).admin.users.invite(args))).error).toBe('failed_to_validate_caller');
    await h.admin.deactivateUser('U0ERIN');
    expect((await slackError(admin().admin.users.invite({ ...args, email: 'erin@example.com' }))).error).toBe(
      'user_disabled',
    );
    await h.admin.setTeamPrefs({ admin_api_enabled: false });
    expect((await slackError(admin().admin.users.invite(args))).error).toBe('feature_not_enabled');
    // A deactivated person's own user token stops working.
    await h.admin.deactivateUser('U0BOB');
    expect((await slackError(h.clientFor(bobToken).auth.test())).error).toBe('account_inactive');
  });

  it('users.list pages 1,000 people with cursors (≤200 a page) and shows every flag', async () => {
    await h.admin.addUsers({ generate: { count: 990, prefix: 'student', domain: 'school.example' } });
    await h.admin.addUsers({
      users: [
        { email: 'gone@example.com', deleted: true },
        { email: 'guest@example.com', is_restricted: true },
        { email: 'single@example.com', is_ultra_restricted: true },
        { email: 'pending@example.com', is_invited_user: true },
        { email: 'otherbot@example.com', name: 'otherbot', is_bot: true },
      ],
    });
    const seen: Obj[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await h.client.users.list({ limit: 500, ...(cursor ? { cursor } : {}) });
      expect(r.members!.length).toBeLessThanOrEqual(200);
      seen.push(...(r.members as Obj[]));
      cursor = r.response_metadata?.next_cursor || undefined;
      pages++;
    } while (cursor);
    // Our bot + 5 seeded people + 990 + 5.
    expect(seen).toHaveLength(1001);
    expect(new Set(seen.map((m) => m.id)).size).toBe(1001);
    expect(pages).toBe(6);
    const by = (email: string) => seen.find((m) => m.profile?.email === email)!;
    expect(by('gone@example.com')).toMatchObject({ deleted: true });
    expect(by('guest@example.com')).toMatchObject({ is_restricted: true, is_ultra_restricted: false });
    expect(by('single@example.com')).toMatchObject({ is_restricted: true, is_ultra_restricted: true });
    expect(by('pending@example.com')).toMatchObject({ is_invited_user: true });
    expect(by('otherbot@example.com')).toMatchObject({ is_bot: true, profile: { bot_id: expect.any(String) } });
    expect(by('bob@example.com').is_invited_user).toBeUndefined();
    expect(seen.find((m) => m.id === 'U0TLBOT')).toMatchObject({ is_bot: true });
    expect((await slackError(h.client.users.list({ cursor: 'bm9wZQ==' }))).error).toBe('invalid_cursor');
  });

  it('users.list is Tier 2: paging fast gets HTTP 429 with Retry-After', async () => {
    await h.admin.addUsers({ generate: { count: 300, prefix: 'm' } });
    await h.admin.setRateLimits(true);
    let limited: Obj | undefined;
    let cursor: string | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await h.client.users.list({ limit: 20, ...(cursor ? { cursor } : {}) }).catch((e: Obj) => {
        limited = e;
        return undefined;
      });
      cursor = r?.response_metadata?.next_cursor || cursor;
    }
    expect(limited).toMatchObject({ code: ErrorCode.RateLimitedError });
    expect(limited!.retryAfter).toBeGreaterThanOrEqual(1);
  });

  it('private channels: create, invite and kick with Slack’s error codes, and membership events', async () => {
    const created = await h.client.conversations.create({ name: 'agent-17', is_private: true });
    const id = created.channel!.id!;
    expect(id).toMatch(/^C/);
    expect(created.channel).toMatchObject({ is_private: true, is_channel: false, is_member: true });
    await h.admin.addUsers({ users: [{ id: 'U0GUEST', email: 'g@example.com', is_ultra_restricted: true }] });
    await h.admin.joinChannel({ user: 'U0GUEST', channel: 'C0TICKETS' });
    await h.admin.deactivateUser('U0DAVE');

    const invite = (users: string, force?: boolean) =>
      slackError(h.client.conversations.invite({ channel: id, users, ...(force ? { force } : {}) }));
    expect((await invite('U0TLBOT,U0BOB')).error).toBe('cant_invite_self');
    expect((await invite('U0NOBODY')).error).toBe('user_not_found');
    expect((await invite('U0DAVE')).error).toBe('cant_invite');
    expect((await invite('U0GUEST')).error).toBe('ura_max_channels');
    // Without force one bad id fails the call and nobody is added.
    const mixed = await invite('U0BOB,U0NOBODY');
    expect(mixed).toMatchObject({
      error: 'user_not_found',
      errors: [{ user: 'U0NOBODY', ok: false, error: 'user_not_found' }],
    });
    expect((await h.client.conversations.members({ channel: id })).members).toEqual(['U0TLBOT']);
    // With force the valid ones are added and the others reported.
    const forced = (await h.client.conversations.invite({ channel: id, users: 'U0BOB,U0NOBODY', force: true })) as Obj;
    expect(forced.errors).toEqual([{ user: 'U0NOBODY', ok: false, error: 'user_not_found' }]);
    await h.client.conversations.invite({ channel: id, users: 'U0CAROL' });
    expect((await invite('U0CAROL')).error).toBe('already_in_channel');
    expect((await h.client.conversations.members({ channel: id })).members).toEqual(['U0TLBOT', 'U0BOB', 'U0CAROL']);

    const kick = (user: string) => slackError(h.client.conversations.kick({ channel: id, user }));
    expect((await kick('U0TLBOT')).error).toBe('cant_kick_self');
    expect((await kick('U0NOBODY')).error).toBe('user_not_found');
    expect((await kick('U0ERIN')).error).toBe('not_in_channel');
    await h.admin.setTeamPrefs({ who_can_kick_groups: 'admins' });
    expect((await kick('U0BOB')).error).toBe('restricted_action');
    await h.admin.setTeamPrefs({ who_can_kick_groups: 'everyone' });
    await h.client.conversations.kick({ channel: id, user: 'U0BOB' });
    expect((await h.client.conversations.members({ channel: id })).members).toEqual(['U0TLBOT', 'U0CAROL']);

    const joinedEv = await waitUntil(() =>
      events().find((e) => e.event.type === 'member_joined_channel' && e.event.user === 'U0CAROL'),
    );
    expect(joinedEv.event).toMatchObject({ channel: id, channel_type: 'G', inviter: 'U0TLBOT', team: 'T0THREADLN' });
    const leftEv = await waitUntil(() =>
      events().find((e) => e.event.type === 'member_left_channel' && e.event.channel === id),
    );
    expect(leftEv.event).toMatchObject({ user: 'U0BOB', channel: id, channel_type: 'G' });

    // A channel the bot left is invisible to it; another workspace's bot never sees it at all.
    expect((await slackError(h.client.conversations.info({ channel: 'G0FINANCE' }))).error).toBe('channel_not_found');
    expect((await slackError(h.client.conversations.members({ channel: 'G0FINANCE' }))).error).toBe(
      'channel_not_found',
    );
  });

  it('a person leaving or being deactivated changes the member list the app reads', async () => {
    const id = (await h.client.conversations.create({ name: 'agent-18', is_private: true })).channel!.id!;
    await h.client.conversations.invite({ channel: id, users: 'U0BOB,U0CAROL' });
    await h.admin.leaveChannel({ user: 'U0BOB', channel: id });
    await h.admin.deactivateUser('U0CAROL');
    expect((await h.client.conversations.members({ channel: id })).members).toEqual(['U0TLBOT']);
    const change = await waitUntil(() => events().find((e) => e.event.type === 'user_change'));
    expect(change.event.user).toMatchObject({ id: 'U0CAROL', deleted: true });
    const info = await h.client.users.info({ user: 'U0CAROL' });
    expect(info.user).toMatchObject({ deleted: true });
  });
});
