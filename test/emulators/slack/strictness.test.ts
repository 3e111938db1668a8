import type { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultSlackSeed } from '../../../emulators/slack/seed.js';
import { BOT_TOKEN, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

/** The Slack error code of a call expected to fail (a call that succeeds fails the test). */
async function slackError(p: Promise<unknown>): Promise<string> {
  const outcome = await p.then(
    () => 'succeeded',
    (err: unknown) => (err as { data?: { error?: string } }).data?.error ?? 'no error code',
  );
  if (outcome === 'succeeded') throw new Error('expected the call to fail');
  return outcome;
}

/**
 * The emulator refuses what Slack refuses, and accepts what Slack accepts, where the method
 * reference pages (https://docs.slack.dev/reference/methods/<method>) or changelogs say so. Each
 * case quotes the sentence it follows.
 */
describe('Slack emulator strictness (issue 15)', () => {
  let h: Harness;
  let client: WebClient;

  beforeAll(async () => {
    h = await startHarness({ seed: { ...defaultSlackSeed, custom_emoji: ['threadline-ok'] } });
    client = h.client;
  });
  afterAll(async () => h.emu.stop());
  beforeEach(async () => {
    await h.admin.reset();
  });

  it('reactions.add/remove: invalid_name for a name that is no emoji; skin tones, colons and custom emoji pass', async () => {
    // https://docs.slack.dev/reference/methods/reactions.add: "invalid_name: Value passed for `name` was invalid."
    // "already_reacted: The specified item already has the user/reaction combination."
    // https://docs.slack.dev/reference/methods/reactions.remove: "no_reaction: The specified reaction does not
    // exist, or the requestor is not the original reaction author."
    const { ts } = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'react to me' });
    const add = (name: string) => client.reactions.add({ channel: 'C0PAYMENTS', timestamp: ts!, name });
    const remove = (name: string) => client.reactions.remove({ channel: 'C0PAYMENTS', timestamp: ts!, name });
    expect(await slackError(add('definitely_not_an_emoji'))).toBe('invalid_name');
    expect(await slackError(add('+1::skin-tone-9'))).toBe('invalid_name');
    expect(await slackError(remove('definitely_not_an_emoji'))).toBe('invalid_name');
    for (const name of ['white_check_mark', ':eyes:', '+1::skin-tone-3', 'threadline-ok']) {
      expect((await add(name)).ok).toBe(true);
    }
    expect(await slackError(add('white_check_mark'))).toBe('already_reacted');
    expect((await remove('white_check_mark')).ok).toBe(true);
    expect(await slackError(remove('white_check_mark'))).toBe('no_reaction');
    expect(await slackError(remove('rocket'))).toBe('no_reaction');
    const [stored] = await h.admin.channelMessages('C0PAYMENTS');
    expect(stored?.reactions?.map((r) => r.name)).toEqual(['eyes', '+1::skin-tone-3', 'threadline-ok']);
  });

  it('tokens: the Authorization header or a URL-encoded body field; never the query string, nor a JSON body', async () => {
    const api = (method: string, init: RequestInit = {}, query = '') =>
      fetch(`${h.emu.apiUrl}${method}${query}`, init).then((r) => r.json() as Promise<{ ok: boolean; error?: string }>);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    // https://docs.slack.dev/changelog/2020-11-no-more-tokens-in-querystrings-for-newly-created-apps:
    // "Apps created after February 24, 2021 may no longer send tokens as query parameters and must instead use
    // an HTTP authorization header or send the token in an HTTP POST body." (A query token is not read: not_authed.)
    expect(await api('auth.test', {}, `?token=${BOT_TOKEN}`)).toEqual({ ok: false, error: 'not_authed' });
    expect(await api('auth.test', { method: 'POST', headers: form, body: 'x=1' }, `?token=${BOT_TOKEN}`)).toEqual({
      ok: false,
      error: 'not_authed',
    });
    expect(await api('auth.test', { headers: { authorization: `Bearer ${BOT_TOKEN}` } })).toMatchObject({ ok: true });
    expect(await api('auth.test', { method: 'POST', headers: form, body: `token=${BOT_TOKEN}` })).toMatchObject({
      ok: true,
    });
    // https://docs.slack.dev/changelog/2017-10-keeping-up-with-the-jsons: "To make use of sending JSON on write
    // operations, you must provide your token value using an Authorization HTTP header."
    const jsonPost = await api('chat.postMessage', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ token: BOT_TOKEN, channel: 'C0PAYMENTS', text: 'json with a body token' }),
    });
    expect(jsonPost).toEqual({ ok: false, error: 'not_authed' });
    expect(await h.admin.channelMessages('C0PAYMENTS')).toEqual([]);
    // https://docs.slack.dev/reference/methods/chat.postMessage: "invalid_post_type: ... Valid types are:
    // application/json application/x-www-form-urlencoded multipart/form-data text/plain." and "invalid_charset:
    // ... Valid charset names are: utf-8 iso-8859-1."
    const post = (contentType: string, body: string) =>
      api('chat.postMessage', {
        method: 'POST',
        headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': contentType },
        body,
      });
    expect(await post('application/xml', '<x/>')).toEqual({ ok: false, error: 'invalid_post_type' });
    expect(await post('application/x-www-form-urlencoded; charset=utf-16', 'channel=C0PAYMENTS&text=x')).toEqual({
      ok: false,
      error: 'invalid_charset',
    });
    expect(await h.admin.channelMessages('C0PAYMENTS')).toEqual([]);
  });

  it('a private channel the bot is not in is channel_not_found for every method; archived channels refuse writes', async () => {
    // A private channel's existence is visible only to its members: chat.postMessage "channel_not_found: Value
    // passed for `channel` was invalid." (https://docs.slack.dev/reference/methods/chat.postMessage), the same
    // code conversations.history/info and reactions.add document for a channel the caller cannot see.
    expect(await slackError(client.chat.postMessage({ channel: 'G0FINANCE', text: 'secret' }))).toBe(
      'channel_not_found',
    );
    expect(await slackError(client.conversations.history({ channel: 'G0FINANCE' }))).toBe('channel_not_found');
    expect(await slackError(client.conversations.info({ channel: 'G0FINANCE' }))).toBe('channel_not_found');
    const bob = await h.admin.postMessage({ user: 'U0BOB', channel: 'G0FINANCE', text: 'numbers' });
    expect(await slackError(client.reactions.add({ channel: 'G0FINANCE', timestamp: bob.ts, name: 'eyes' }))).toBe(
      'channel_not_found',
    );
    expect(await slackError(client.chat.getPermalink({ channel: 'G0FINANCE', message_ts: bob.ts }))).toBe(
      'channel_not_found',
    );
    // Nothing reached the channel but Bob's message.
    expect((await h.admin.channelMessages('G0FINANCE')).map((m) => m.text)).toEqual(['numbers']);

    // "is_archived: Channel has been archived." (chat.postMessage, reactions.add); chat.update has no is_archived:
    // "is_inactive: The message cannot be edited within a frozen, archived or deleted channel."
    // (https://docs.slack.dev/reference/methods/chat.update)
    const posted = await client.chat.postMessage({ channel: 'C0TICKETS', text: 'before archiving' });
    await h.admin.archiveChannel('C0TICKETS');
    expect(await slackError(client.chat.postMessage({ channel: 'C0TICKETS', text: 'x' }))).toBe('is_archived');
    expect(await slackError(client.chat.update({ channel: 'C0TICKETS', ts: posted.ts!, text: 'x' }))).toBe(
      'is_inactive',
    );
    expect(await slackError(client.reactions.add({ channel: 'C0TICKETS', timestamp: posted.ts!, name: 'eyes' }))).toBe(
      'is_archived',
    );
  });

  it('parents: a deleted one is thread_not_found, one that never existed is accepted but shown nowhere; update, delete and reactions of a deleted message answer message_not_found', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'parent' });
    const reply = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'first reply', thread_ts: parent.ts! });
    expect((await client.chat.delete({ channel: 'C0PAYMENTS', ts: reply.ts! })).ok).toBe(true);
    expect((await client.chat.delete({ channel: 'C0PAYMENTS', ts: parent.ts! })).ok).toBe(true);
    // chat.postMessage's error list has no thread_not_found, but Slack answers it for a reply whose parent was
    // deleted (the SDK maintainers' explanation in https://github.com/slackapi/bolt-js/issues/2307: "When your app
    // posted a reply to it, the parent message no longer exists"); nothing is posted.
    expect(
      await slackError(client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'late', thread_ts: parent.ts! })),
    ).toBe('thread_not_found');
    // A thread_ts that never named a message is answered ok and the reply shows nowhere
    // (https://github.com/slackapi/python-slack-sdk/issues/840: replies to a mistyped ts "respond with Ok" and
    // "are nowhere to be seen").
    const orphan = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'typo', thread_ts: '1602251441.0017' });
    expect(orphan.ok).toBe(true);
    expect((await client.conversations.history({ channel: 'C0PAYMENTS' })).messages).toEqual([]);
    // conversations.replies: "thread_not_found: Value for `ts` was missing or invalid."
    // (https://docs.slack.dev/reference/methods/conversations.replies)
    expect(await slackError(client.conversations.replies({ channel: 'C0PAYMENTS', ts: parent.ts! }))).toBe(
      'thread_not_found',
    );
    // chat.update / chat.delete: "message_not_found: No message exists with the requested timestamp."
    // reactions.add: "message_not_found: Message specified by `channel` and `timestamp` does not exist."
    expect(await slackError(client.chat.update({ channel: 'C0PAYMENTS', ts: parent.ts!, text: 'x' }))).toBe(
      'message_not_found',
    );
    expect(await slackError(client.chat.delete({ channel: 'C0PAYMENTS', ts: parent.ts! }))).toBe('message_not_found');
    expect(await slackError(client.reactions.add({ channel: 'C0PAYMENTS', timestamp: parent.ts!, name: 'eyes' }))).toBe(
      'message_not_found',
    );
  });

  it('text limits: chat.postMessage truncates past 40,000 characters; chat.update refuses past 4,000', async () => {
    // https://docs.slack.dev/changelog/2018-04-truncating-really-long-messages: "On August 12, 2018 we started
    // truncating messages containing more than 40,000 characters." (chat.postMessage lists no msg_too_long.)
    const long = await client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'y'.repeat(40_001) });
    expect(long.ok).toBe(true);
    expect((await h.admin.message('C0PAYMENTS', long.ts!)).text).toHaveLength(40_000);
    // https://docs.slack.dev/reference/methods/chat.update: "msg_too_long: Message text is too long. The `text`
    // field cannot exceed 4,000 characters."
    expect(await slackError(client.chat.update({ channel: 'C0PAYMENTS', ts: long.ts!, text: 'z'.repeat(4001) }))).toBe(
      'msg_too_long',
    );
    expect((await client.chat.update({ channel: 'C0PAYMENTS', ts: long.ts!, text: 'z'.repeat(4000) })).ok).toBe(true);
  });

  it('Block Kit limits: header text 150, section text 3000, 50 blocks, with json-pointer messages', async () => {
    // https://docs.slack.dev/reference/block-kit/blocks/header-block: "Maximum length for the text in this field
    // is 150 characters." section-block: "Maximum length for the text in this field is 3000 characters."
    // https://docs.slack.dev/reference/methods/chat.postMessage (blocks): "up to 50 blocks in each message".
    const post = (blocks: unknown[]) =>
      client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'fallback', blocks: blocks as never }).then(
        () => undefined,
        (err: { data?: { error?: string; response_metadata?: { messages?: string[] } } }) => err.data,
      );
    expect(await post([{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }])).toEqual({
      ok: false,
      error: 'invalid_blocks',
      errors: ['[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]'],
      response_metadata: { messages: ['[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]'] },
    });
    expect((await post([{ type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) } }]))?.error).toBe(
      'invalid_blocks',
    );
    expect((await post(Array.from({ length: 51 }, () => ({ type: 'divider' }))))?.error).toBe('invalid_blocks');
    expect(await post([{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(150) } }])).toBeUndefined();
    expect(await h.admin.channelMessages('C0PAYMENTS')).toHaveLength(1);
  });
});
