import type { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers.js';

const ALICE_TOKEN = 'xoxp-alice-chat-write';
const BOB_TOKEN = 'xoxp-bob-chat-write';

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { data?: { error?: string } }).data?.error ?? 'no_error_code';
  }
  throw new Error('expected the call to fail');
}

/**
 * Slack's authorship rules for an app that posts with people's user tokens (chat.postMessage,
 * chat.update: "only the author of a message can update it", `cant_update_message`): what the
 * platform's post-as-a-person relies on.
 */
describe('Slack emulator: messages posted with a user token belong to that person', () => {
  let h: Harness;
  let alice: WebClient;
  let bob: WebClient;

  beforeAll(async () => {
    h = await startHarness({
      userTokens: [
        { token: ALICE_TOKEN, user: 'U0ALICE', scopes: ['chat:write'] },
        { token: BOB_TOKEN, user: 'U0BOB', scopes: ['chat:write'] },
      ],
    });
    alice = h.clientFor(ALICE_TOKEN);
    bob = h.clientFor(BOB_TOKEN);
  });
  afterAll(async () => h.emu.stop());
  beforeEach(async () => {
    await h.admin.reset();
  });

  it('posts as the person: user is them, no bot_id; metadata kept and readable by the bot', async () => {
    const metadata = { event_type: 'threadline_post', event_payload: { idempotency_key: 'k1' } };
    const p = await alice.chat.postMessage({ channel: 'C0APPROVAL', text: 'please approve', metadata });
    expect(p.message?.user).toBe('U0ALICE');
    expect(p.message?.bot_id).toBeUndefined();
    const history = await h.client.conversations.history({ channel: 'C0APPROVAL', include_all_metadata: true });
    const found = history.messages?.find((m) => m.ts === p.ts);
    expect(found).toMatchObject({ user: 'U0ALICE', metadata });
    expect(found?.bot_id).toBeUndefined();
  });

  it('only the author edits: the bot and other people get cant_update_message', async () => {
    const mine = await alice.chat.postMessage({ channel: 'C0APPROVAL', text: 'v1' });
    expect(await errorOf(h.client.chat.update({ channel: 'C0APPROVAL', ts: mine.ts!, text: 'bot' }))).toBe(
      'cant_update_message',
    );
    expect(await errorOf(bob.chat.update({ channel: 'C0APPROVAL', ts: mine.ts!, text: 'bob' }))).toBe(
      'cant_update_message',
    );
    await alice.chat.update({ channel: 'C0APPROVAL', ts: mine.ts!, text: 'v2' });
    const stored = await h.admin.message('C0APPROVAL', mine.ts!);
    expect(stored.text).toBe('v2');
    expect(stored.edited?.user).toBe('U0ALICE');

    const bots = await h.client.chat.postMessage({ channel: 'C0APPROVAL', text: 'from the bot' });
    expect(await errorOf(alice.chat.update({ channel: 'C0APPROVAL', ts: bots.ts!, text: 'alice' }))).toBe(
      'cant_update_message',
    );
  });

  it('a revoked user token is refused with token_revoked; the bot token still works', async () => {
    await alice.auth.revoke();
    expect(await errorOf(alice.chat.postMessage({ channel: 'C0APPROVAL', text: 'x' }))).toBe('token_revoked');
    expect((await h.client.chat.postMessage({ channel: 'C0APPROVAL', text: 'y' })).ok).toBe(true);
  });
});
