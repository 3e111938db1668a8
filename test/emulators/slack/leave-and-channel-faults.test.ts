import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers.js';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('the call should have failed'),
    (e: { data?: Record<string, unknown> }) => e.data,
  );

describe('Slack emulator: conversations.leave, and faults scoped to one conversation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.emu.stop();
  });

  it('conversations.leave: the bot leaves; it can still post with chat:write.public but cannot read until it joins', async () => {
    expect((await h.client.conversations.leave({ channel: 'C0TICKETS' })).ok).toBe(true);
    const channel = (await h.admin.channels()).find((c) => c.id === 'C0TICKETS') as { members?: string[] };
    expect(channel.members).not.toContain('U0TLBOT');
    // Slack's documented answer for leaving a conversation one is not in: ok false, no error code.
    const again = await failure(h.client.conversations.leave({ channel: 'C0TICKETS' }));
    expect(again).toMatchObject({ ok: false, not_in_channel: true });
    expect(again).not.toHaveProperty('error');
    expect((await h.client.chat.postMessage({ channel: 'C0TICKETS', text: 'public post' })).ok).toBe(true);
    expect(await failure(h.client.conversations.history({ channel: 'C0TICKETS' }))).toMatchObject({
      error: 'not_in_channel',
    });
    expect((await h.client.conversations.join({ channel: 'C0TICKETS' })).ok).toBe(true);
    expect((await h.client.conversations.history({ channel: 'C0TICKETS' })).messages).toHaveLength(1);
  });

  it('conversations.leave errors: DMs, archived channels, private channels the bot is not in', async () => {
    const dm = (await h.client.conversations.open({ users: 'U0BOB' })).channel!.id!;
    expect(await failure(h.client.conversations.leave({ channel: dm }))).toMatchObject({
      error: 'method_not_supported_for_channel_type',
    });
    expect(await failure(h.client.conversations.leave({ channel: 'C0ARCHIVED' }))).toMatchObject({
      error: 'is_archived',
    });
    expect(await failure(h.client.conversations.leave({ channel: 'G0FINANCE' }))).toMatchObject({
      error: 'channel_not_found',
    });
  });

  it('a fault with `channel` hits only calls to that conversation (a user id matches their DM)', async () => {
    await h.admin.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'internal_error',
      channel: 'C0PAYMENTS',
    });
    expect((await h.client.chat.postMessage({ channel: 'C0TICKETS', text: 'elsewhere' })).ok).toBe(true);
    expect(await failure(h.client.chat.postMessage({ channel: '#payments', text: 'by name' }))).toMatchObject({
      error: 'internal_error',
    });
    const dm = (await h.client.conversations.open({ users: 'U0CAROL' })).channel!.id!;
    await h.admin.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'fatal_error',
      channel: dm,
      count: 2,
    });
    expect(await failure(h.client.chat.postMessage({ channel: 'U0CAROL', text: 'by user id' }))).toMatchObject({
      error: 'fatal_error',
    });
    expect(await failure(h.client.chat.postMessage({ channel: dm, text: 'by dm id' }))).toMatchObject({
      error: 'fatal_error',
    });
    expect((await h.client.chat.postMessage({ channel: dm, text: 'fault used up' })).ok).toBe(true);
    expect(await h.admin.faults()).toEqual([]);
  });
});
