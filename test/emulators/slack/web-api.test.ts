import { ErrorCode } from '@slack/web-api';
import type { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultSlackSeed } from '../../../emulators/slack/seed.js';
import { BOT_TOKEN, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

/** Runs a call expected to fail and returns the Slack platform error code. */
async function slackError(
  p: Promise<unknown>,
): Promise<{ code: string; error: string; data: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: string; data?: { error?: string } & Record<string, unknown> };
    return { code: e.code, error: e.data?.error ?? '', data: e.data ?? {} };
  }
  throw new Error('expected the call to fail');
}

describe('Slack emulator Web API (through @slack/web-api)', () => {
  let h: Harness;
  let client: WebClient;

  beforeAll(async () => {
    h = await startHarness({
      seed: {
        ...defaultSlackSeed,
        tokens: [
          { token: 'xoxb-read-only', scopes: ['channels:read'] },
          { token: 'xoxb-revoked', scopes: ['chat:write'], revoked: true },
        ],
      },
    });
    client = h.client;
  });
  afterAll(async () => h.emu.stop());
  beforeEach(async () => {
    await h.admin.reset();
  });

  it('auth.test returns the bot identity', async () => {
    const r = await client.auth.test();
    expect(r).toMatchObject({
      ok: true,
      url: 'https://threadline-sandbox.slack.com/',
      team: 'Threadline Sandbox',
      user: 'threadline',
      team_id: 'T0THREADLN',
      user_id: 'U0TLBOT',
      bot_id: 'B0TLBOT',
      is_enterprise_install: false,
    });
  });

  it('answers with x-slack-req-id and 404 unknown_method', async () => {
    const res = await fetch(`${h.emu.apiUrl}nope.method`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-slack-req-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(await res.json()).toMatchObject({ ok: false, error: 'unknown_method' });
  });

  it('accepts JSON bodies with a bearer token', async () => {
    const res = await fetch(`${h.emu.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C0PAYMENTS', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    const body = (await res.json()) as { ok: boolean; message: { blocks: unknown[] } };
    expect(body.ok).toBe(true);
    expect(body.message.blocks).toHaveLength(1);
  });

  it('posts, threads, paginates history and replies, and returns metadata on request', async () => {
    const parent = await client.chat.postMessage({
      channel: 'C0PAYMENTS',
      text: 'Payment pay_1 captured',
      metadata: { event_type: 'payment_thread', event_payload: { payment_id: 'pay_1' } },
      unfurl_links: false,
      unfurl_media: false,
    });
    expect(parent.ok).toBe(true);
    expect(parent.channel).toBe('C0PAYMENTS');
    expect(parent.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(parent.message).toMatchObject({
      type: 'message',
      bot_id: 'B0TLBOT',
      user: 'U0TLBOT',
      text: 'Payment pay_1 captured',
    });
    const parentTs = parent.ts!;

    const replyTs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: `update ${i}`, thread_ts: parentTs });
      expect(r.message?.thread_ts).toBe(parentTs);
      replyTs.push(r.ts!);
    }
    // Timestamps are unique and increase.
    expect([...replyTs].sort()).toEqual(replyTs);
    expect(new Set([parentTs, ...replyTs]).size).toBe(4);
    await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'bob reply', thread_ts: parentTs });
    await client.chat.postMessage({ channel: '#payments', text: 'second top-level' });

    const page1 = await client.conversations.replies({ channel: 'C0PAYMENTS', ts: parentTs, limit: 2 });
    expect(page1.messages?.map((m) => m.text)).toEqual(['Payment pay_1 captured', 'update 0']);
    expect(page1.has_more).toBe(true);
    expect(page1.messages?.[0]).toMatchObject({ reply_count: 4, latest_reply: expect.any(String) });
    expect(page1.messages?.[0]?.reply_users).toEqual(['U0TLBOT', 'U0BOB']);
    expect(page1.messages?.[1]).toMatchObject({ thread_ts: parentTs, parent_user_id: 'U0TLBOT' });
    const cursor = page1.response_metadata?.next_cursor;
    expect(cursor).toBeTruthy();
    const page2 = await client.conversations.replies({
      channel: 'C0PAYMENTS',
      ts: parentTs,
      limit: 10,
      cursor: cursor!,
    });
    expect(page2.messages?.map((m) => m.text)).toEqual(['update 1', 'update 2', 'bob reply']);
    expect(page2.has_more).toBe(false);
    expect(page2.response_metadata?.next_cursor).toBe('');

    const hist1 = await client.conversations.history({ channel: 'C0PAYMENTS', limit: 1 });
    expect(hist1.messages?.map((m) => m.text)).toEqual(['second top-level']);
    expect(hist1.has_more).toBe(true);
    const hist2 = await client.conversations.history({
      channel: 'C0PAYMENTS',
      limit: 1,
      cursor: hist1.response_metadata!.next_cursor!,
      include_all_metadata: true,
    });
    expect(hist2.messages?.[0]).toMatchObject({
      ts: parentTs,
      metadata: { event_type: 'payment_thread', event_payload: { payment_id: 'pay_1' } },
    });
    expect(hist2.response_metadata?.next_cursor).toBe('');
    const noMeta = await client.conversations.history({ channel: 'C0PAYMENTS', latest: hist1.messages![0]!.ts! });
    expect(noMeta.messages?.[0]?.metadata).toBeUndefined();
  });

  it('a thread_ts that never named a message is accepted but shown nowhere; reply_broadcast shows in the channel', async () => {
    // chat.postMessage documents no error for a thread_ts that never named a message
    // (https://docs.slack.dev/reference/methods/chat.postMessage, errors list): answered ok, never shown.
    const orphan = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'x', thread_ts: '1.000001' });
    expect(orphan.ok).toBe(true);
    expect((await client.conversations.history({ channel: 'C0PAYMENTS' })).messages).toEqual([]);
    const p = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'root' });
    await client.chat.postMessage({
      channel: 'C0PAYMENTS',
      text: 'also in channel',
      thread_ts: p.ts!,
      reply_broadcast: true,
    });
    const hist = await client.conversations.history({ channel: 'C0PAYMENTS' });
    expect(hist.messages?.[0]).toMatchObject({ subtype: 'thread_broadcast', text: 'also in channel', thread_ts: p.ts });
  });

  it('opens a DM when the channel is a user id', async () => {
    const r = await client.chat.postMessage({ channel: 'U0CAROL', text: 'hi Carol' });
    expect(r.channel).toMatch(/^D/);
    const again = await client.chat.postMessage({ channel: 'U0CAROL', text: 'again' });
    expect(again.channel).toBe(r.channel);
    const info = await client.conversations.info({ channel: r.channel! });
    expect(info.channel).toMatchObject({ is_im: true, user: 'U0CAROL' });
  });

  it('chat.update: blocks kept only when text is omitted too, [] removes them, marks edited', async () => {
    const blocks = [{ type: 'section', block_id: 'b1', text: { type: 'mrkdwn', text: '*Approve?*' } }];
    const p = await client.chat.postMessage({ channel: 'C0APPROVAL', text: 'approve?', blocks });
    const ts = p.ts!;
    // Neither text nor blocks: the client's types forbid it, Slack accepts it (metadata-only update).
    await client.chat.update({ channel: 'C0APPROVAL', ts, metadata: { event_type: 'x', event_payload: {} } } as never);
    expect((await h.admin.message('C0APPROVAL', ts)).blocks).toHaveLength(1);
    const u1 = await client.chat.update({ channel: 'C0APPROVAL', ts, text: 'approved' });
    expect(u1).toMatchObject({ ok: true, channel: 'C0APPROVAL', ts, text: 'approved' });
    expect(u1.message?.edited).toBeDefined();
    let stored = await h.admin.message('C0APPROVAL', ts);
    expect(stored.blocks).toBeUndefined();
    expect(stored.history.map((x) => x.text)).toEqual(['approve?', 'approve?']);
    await client.chat.update({ channel: 'C0APPROVAL', ts, text: 'again', blocks });
    expect((await h.admin.message('C0APPROVAL', ts)).blocks).toHaveLength(1);
    await client.chat.update({ channel: 'C0APPROVAL', ts, text: 'no blocks', blocks: [] });
    stored = await h.admin.message('C0APPROVAL', ts);
    expect(stored.blocks).toBeUndefined();
    expect(stored.text).toBe('no blocks');
  });

  it('chat.update/delete only for the bot’s own messages; message_not_found otherwise', async () => {
    const bob = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'mine' });
    expect((await slackError(client.chat.update({ channel: 'C0PAYMENTS', ts: bob.ts, text: 'x' }))).error).toBe(
      'cant_update_message',
    );
    expect((await slackError(client.chat.delete({ channel: 'C0PAYMENTS', ts: bob.ts }))).error).toBe(
      'cant_delete_message',
    );
    expect((await slackError(client.chat.update({ channel: 'C0PAYMENTS', ts: '1.000002', text: 'x' }))).error).toBe(
      'message_not_found',
    );
    const own = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'temp' });
    await client.chat.delete({ channel: 'C0PAYMENTS', ts: own.ts! });
    expect(
      (await slackError(client.reactions.add({ channel: 'C0PAYMENTS', timestamp: own.ts!, name: 'x' }))).error,
    ).toBe('message_not_found');
  });

  it('channel errors: channel_not_found (also a private channel the bot is not in), is_archived, no_text', async () => {
    const err = (channel: string, text = 'x') =>
      slackError(client.chat.postMessage({ channel, text })).then((e) => e.error);
    expect(await err('C0NOPE')).toBe('channel_not_found');
    expect(await err('G0FINANCE')).toBe('channel_not_found');
    expect(await err('C0ARCHIVED')).toBe('is_archived');
    expect((await slackError(client.chat.postMessage({ channel: 'C0PAYMENTS' } as never))).error).toBe('no_text');
    // A platform error is a WebAPIPlatformError for the client.
    expect((await slackError(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).code).toBe(
      ErrorCode.PlatformError,
    );
  });

  it('invalid_blocks with response_metadata.messages', async () => {
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    const e1 = await slackError(client.chat.postMessage({ channel: 'C0PAYMENTS', text: 't', blocks: tooMany }));
    expect(e1.error).toBe('invalid_blocks');
    expect((e1.data.response_metadata as { messages: string[] }).messages[0]).toContain('json-pointer:/blocks');
    const bad = [
      [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }],
      [{ type: 'bogus' }],
      [
        { type: 'divider', block_id: 'a' },
        { type: 'divider', block_id: 'a' },
      ],
      [
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'b' }, value: 'v'.repeat(2001) },
          ],
        },
      ],
      [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }],
      [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }],
    ];
    for (const blocks of bad) {
      expect(
        (await slackError(client.chat.postMessage({ channel: 'C0PAYMENTS', text: 't', blocks: blocks as never })))
          .error,
      ).toBe('invalid_blocks');
    }
  });

  it('auth errors: not_authed, invalid_auth, token_revoked, missing_scope with needed/provided', async () => {
    const res = await fetch(`${h.emu.apiUrl}auth.test`, { method: 'POST' });
    expect(await res.json()).toMatchObject({ ok: false, error: 'not_authed' });
    expect((await slackError(h.clientFor('xoxb-unknown').auth.test())).error).toBe('invalid_auth');
    expect((await slackError(h.clientFor('xoxb-revoked').auth.test())).error).toBe('token_revoked');
    const e = await slackError(h.clientFor('xoxb-read-only').chat.postMessage({ channel: 'C0PAYMENTS', text: 'x' }));
    expect(e.error).toBe('missing_scope');
    expect(e.data).toMatchObject({ needed: 'chat:write', provided: 'channels:read' });
  });

  it('reactions: add, already_reacted, get, remove, no_reaction', async () => {
    const p = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'react to me' });
    await client.reactions.add({ channel: 'C0PAYMENTS', timestamp: p.ts!, name: 'white_check_mark' });
    expect(
      (await slackError(client.reactions.add({ channel: 'C0PAYMENTS', timestamp: p.ts!, name: 'white_check_mark' })))
        .error,
    ).toBe('already_reacted');
    const got = await client.reactions.get({ channel: 'C0PAYMENTS', timestamp: p.ts! });
    expect(got.message?.reactions).toEqual([{ name: 'white_check_mark', users: ['U0TLBOT'], count: 1 }]);
    await client.reactions.remove({ channel: 'C0PAYMENTS', timestamp: p.ts!, name: 'white_check_mark' });
    expect(
      (await slackError(client.reactions.remove({ channel: 'C0PAYMENTS', timestamp: p.ts!, name: 'white_check_mark' })))
        .error,
    ).toBe('no_reaction');
  });

  it('ephemeral, permalink and users', async () => {
    const e = await client.chat.postEphemeral({ channel: 'C0TICKETS', user: 'U0DAVE', text: 'only you' });
    expect(e.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect((await h.admin.ephemerals()).map((x) => [x.user, x.text])).toEqual([['U0DAVE', 'only you']]);
    await client.conversations.kick({ channel: 'C0TICKETS', user: 'U0DAVE' });
    expect(
      (await slackError(client.chat.postEphemeral({ channel: 'C0TICKETS', user: 'U0DAVE', text: 'x' }))).error,
    ).toBe('user_not_in_channel');
    const p = await client.chat.postMessage({ channel: 'C0TICKETS', text: 'link me' });
    const link = await client.chat.getPermalink({ channel: 'C0TICKETS', message_ts: p.ts! });
    expect(link.permalink).toBe(`https://threadline-sandbox.slack.com/archives/C0TICKETS/p${p.ts!.replace('.', '')}`);
    const u = await client.users.lookupByEmail({ email: 'bob@example.com' });
    expect(u.user).toMatchObject({ id: 'U0BOB', real_name: 'Bob Banker', profile: { email: 'bob@example.com' } });
    expect((await slackError(client.users.lookupByEmail({ email: 'nobody@example.com' }))).error).toBe(
      'users_not_found',
    );
    expect((await slackError(client.users.info({ user: 'U0NOBODY' }))).error).toBe('user_not_found');
    const list = await client.users.list({});
    expect(list.members?.map((m) => m.id)).toContain('U0ERIN');
  });

  it('conversations: list, create, name_taken, join, invite, kick, members', async () => {
    const list = await client.conversations.list({
      types: 'public_channel,private_channel',
      exclude_archived: true,
      limit: 3,
    });
    expect(list.channels).toHaveLength(3);
    expect(list.response_metadata?.next_cursor).not.toBe('');
    const created = await client.conversations.create({ name: 'pay-incident-1' });
    const id = created.channel!.id!;
    expect(id).toMatch(/^C/);
    expect((await slackError(client.conversations.create({ name: 'pay-incident-1' }))).error).toBe('name_taken');
    await client.conversations.invite({ channel: id, users: 'U0ALICE,U0BOB' });
    expect((await slackError(client.conversations.invite({ channel: id, users: 'U0ALICE' }))).error).toBe(
      'already_in_channel',
    );
    expect((await slackError(client.conversations.invite({ channel: id, users: 'U0TLBOT' }))).error).toBe(
      'cant_invite_self',
    );
    expect((await slackError(client.conversations.kick({ channel: id, user: 'U0TLBOT' }))).error).toBe(
      'cant_kick_self',
    );
    await client.conversations.kick({ channel: id, user: 'U0BOB' });
    const members = await client.conversations.members({ channel: id });
    expect(members.members).toEqual(['U0TLBOT', 'U0ALICE']);
    const joined = await client.conversations.join({ channel: 'C0PAYMENTS' });
    expect(joined.ok).toBe(true);
    const info = await client.conversations.info({ channel: 'C0ARCHIVED' });
    expect(info.channel).toMatchObject({ name: 'old-announcements', is_archived: true });
  });

  it('team.info and oauth.v2.access with an admin-issued code', async () => {
    expect((await client.team.info()).team).toMatchObject({ id: 'T0THREADLN', domain: 'threadline-sandbox' });
    const code = await h.admin.issueOAuthCode('U0ALICE');
    const anon = h.clientFor('');
    const r = await anon.oauth.v2.access({ code, client_id: 'cid', client_secret: 'secret' });
    expect(r).toMatchObject({
      ok: true,
      access_token: BOT_TOKEN,
      token_type: 'bot',
      bot_user_id: 'U0TLBOT',
      app_id: 'A0THREADLN',
      team: { id: 'T0THREADLN', name: 'Threadline Sandbox' },
      enterprise: null,
      authed_user: { id: 'U0ALICE' },
    });
    expect(r.scope).toContain('chat:write');
    expect((await slackError(anon.oauth.v2.access({ code, client_id: 'cid', client_secret: 'secret' }))).error).toBe(
      'invalid_code',
    );
  });

  it('views: trigger ids work once and expire; update by id/external_id with hash_conflict', async () => {
    const modal = (title: string) => ({
      type: 'modal' as const,
      callback_id: 'approve_modal',
      external_id: 'ext-1',
      title: { type: 'plain_text' as const, text: title },
      blocks: [
        {
          type: 'input',
          block_id: 'reason',
          label: { type: 'plain_text', text: 'Reason' },
          element: { type: 'plain_text_input', action_id: 'v' },
        },
      ],
    });
    const p = await client.chat.postMessage({
      channel: 'C0APPROVAL',
      text: 'approve',
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'open', text: { type: 'plain_text', text: 'Open' } }],
        },
      ],
    });
    const click = await h.admin.clickButton({ user: 'U0ALICE', channel: 'C0APPROVAL', ts: p.ts!, action_id: 'open' });
    const opened = await client.views.open({ trigger_id: click.trigger_id, view: modal('Approve') as never });
    expect(opened.view).toMatchObject({ type: 'modal', callback_id: 'approve_modal', root_view_id: opened.view!.id });
    expect(opened.view?.id).toMatch(/^V/);
    expect(
      (await slackError(client.views.open({ trigger_id: click.trigger_id, view: modal('Again') as never }))).error,
    ).toBe('exchanged_trigger_id');
    const late = await h.admin.clickButton({ user: 'U0ALICE', channel: 'C0APPROVAL', ts: p.ts!, action_id: 'open' });
    // Shrink the 3 s lifetime instead of waiting it out; a short sleep lets the 1 ms lifetime pass.
    await h.admin.config({ triggerTtlMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(
      (await slackError(client.views.open({ trigger_id: late.trigger_id, view: modal('Late') as never }))).error,
    ).toBe('expired_trigger_id');
    await h.admin.config({ triggerTtlMs: 3000 });
    const upd = await client.views.update({
      view_id: opened.view!.id!,
      hash: opened.view!.hash!,
      view: modal('Updated') as never,
    });
    expect(upd.view?.hash).not.toBe(opened.view?.hash);
    expect(
      (
        await slackError(
          client.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view: modal('Stale') as never }),
        )
      ).error,
    ).toBe('hash_conflict');
    const byExt = await client.views.update({ external_id: 'ext-1', view: modal('By ext') as never });
    expect(byExt.view?.id).toBe(opened.view?.id);
    const long = await slackError(
      client.views.update({ view_id: opened.view!.id!, view: modal('x'.repeat(25)) as never }),
    );
    expect(long.error).toBe('invalid_arguments');
    const home = await client.views.publish({
      user_id: 'U0BOB',
      view: { type: 'home', blocks: [{ type: 'divider' }] },
    });
    expect(home.view?.type).toBe('home');
  });

  it('logs calls without the token', async () => {
    await client.auth.test();
    const calls = await h.admin.calls();
    expect(calls.at(-1)).toMatchObject({ method: 'auth.test', ok: true, status: 200 });
    expect(JSON.stringify(calls)).not.toContain(BOT_TOKEN);
  });
});
