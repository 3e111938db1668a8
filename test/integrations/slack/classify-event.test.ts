import { describe, expect, it } from 'vitest';
import { classifySlackEvent, slackEnvelopeSchema } from '../../../src/integrations/slack/inbound.js';

const APP = 'A0THREADLN';
const BOT_USER = 'U0TLBOT';

/** An event_callback envelope as Slack sends it (modelled on Slack's SDK test payloads). */
function envelope(event: Record<string, unknown>) {
  const env = slackEnvelopeSchema.parse({
    token: 'verification-token',
    team_id: 'T0THREADLN',
    api_app_id: APP,
    event,
    type: 'event_callback',
    event_id: 'Ev0001',
    event_time: 1732250000,
    authorizations: [{ team_id: 'T0THREADLN', user_id: BOT_USER, is_bot: true }],
  });
  if (env.type !== 'event_callback') throw new Error('fixture');
  return env;
}

describe('classifySlackEvent', () => {
  it('our own post comes back as a message WITHOUT subtype but with bot_id: an echo, never work', () => {
    const c = classifySlackEvent(
      envelope({
        type: 'message',
        bot_id: 'B0TLBOT',
        user: BOT_USER,
        text: 'Payment initiated',
        ts: '1732250000.000200',
        thread_ts: '1732250000.000100',
        channel: 'C0PAYMENTS',
        bot_profile: { id: 'B0TLBOT', app_id: APP, name: 'threadline' },
      }),
    );
    expect(c).toEqual({ kind: 'own_echo' });
  });

  it("another app's bot replying in our thread is not an echo", () => {
    const c = classifySlackEvent(
      envelope({
        type: 'message',
        bot_id: 'B999',
        user: 'UB111',
        text: 'Hi there!',
        ts: '1732250000.000300',
        thread_ts: '1732250000.000100',
        channel: 'C0PAYMENTS',
        bot_profile: { id: 'B999', app_id: 'A222' },
      }),
    );
    expect(c).toMatchObject({ kind: 'thread', event: { kind: 'message', user: 'UB111' } });
  });

  it('our own chat.update comes back as message_changed: an echo', () => {
    const c = classifySlackEvent(
      envelope({
        type: 'message',
        subtype: 'message_changed',
        channel: 'C0PAYMENTS',
        hidden: true,
        message: {
          type: 'message',
          bot_id: 'B0TLBOT',
          user: BOT_USER,
          app_id: APP,
          text: 'Captured',
          ts: '1732250000.000100',
        },
        previous_message: {
          type: 'message',
          bot_id: 'B0TLBOT',
          user: BOT_USER,
          text: 'Initiated',
          ts: '1732250000.000100',
        },
        ts: '1732250001.000000',
      }),
    );
    expect(c).toEqual({ kind: 'own_echo' });
  });

  it("a person's thread reply, its edit and its deletion are routed by the thread root", () => {
    const root = '1732250000.000100';
    const reply = classifySlackEvent(
      envelope({
        type: 'message',
        user: 'U0ALICE',
        text: 'on it',
        ts: '1732250002.000100',
        thread_ts: root,
        channel: 'C0PAYMENTS',
      }),
    );
    expect(reply).toEqual({
      kind: 'thread',
      lookup: { channel: 'C0PAYMENTS', ts: root },
      // Our bot user (from the envelope's authorizations): a reply whose root we have not recorded
      // yet is parked when its parent_user_id is this one (no parent_user_id here).
      botUserId: 'U0TLBOT',
      event: {
        kind: 'message',
        channel: 'C0PAYMENTS',
        threadTs: root,
        ts: '1732250002.000100',
        user: 'U0ALICE',
        text: 'on it',
      },
    });
    const edit = classifySlackEvent(
      envelope({
        type: 'message',
        subtype: 'message_changed',
        channel: 'C0PAYMENTS',
        message: { type: 'message', user: 'U0ALICE', text: 'on it now', ts: '1732250002.000100', thread_ts: root },
        previous_message: { type: 'message', user: 'U0ALICE', text: 'on it', ts: '1732250002.000100', thread_ts: root },
      }),
    );
    expect(edit).toMatchObject({
      kind: 'thread',
      event: { kind: 'message_changed', text: 'on it now', user: 'U0ALICE' },
    });
    const del = classifySlackEvent(
      envelope({
        type: 'message',
        subtype: 'message_deleted',
        channel: 'C0PAYMENTS',
        deleted_ts: '1732250002.000100',
        previous_message: {
          type: 'message',
          user: 'U0ALICE',
          text: 'on it now',
          ts: '1732250002.000100',
          thread_ts: root,
        },
      }),
    );
    expect(del).toMatchObject({ kind: 'thread', event: { kind: 'message_deleted', ts: '1732250002.000100' } });
  });

  it('a thread_broadcast reply is a thread message; a top-level message is not ours to handle', () => {
    expect(
      classifySlackEvent(
        envelope({
          type: 'message',
          subtype: 'thread_broadcast',
          user: 'U0BOB',
          text: 'fyi',
          ts: '1633670813.007500',
          thread_ts: '1633663824.000500',
          channel: 'C0PAYMENTS',
        }),
      ),
    ).toMatchObject({ kind: 'thread', event: { kind: 'message', user: 'U0BOB' } });
    expect(
      classifySlackEvent(envelope({ type: 'message', user: 'U0BOB', text: 'hello', ts: '1.1', channel: 'C0PAYMENTS' })),
    ).toEqual({ kind: 'unsupported', reason: 'top_level_message' });
  });

  it('reactions by people are routed; our own reactions are echoes', () => {
    const item = { type: 'message', channel: 'C0TICKETS', ts: '1732250000.000100' };
    expect(
      classifySlackEvent(envelope({ type: 'reaction_added', user: 'U0DAVE', reaction: 'white_check_mark', item })),
    ).toMatchObject({
      kind: 'thread',
      lookup: { channel: 'C0TICKETS', ts: '1732250000.000100' },
      event: { kind: 'reaction_added', reaction: 'white_check_mark', user: 'U0DAVE' },
    });
    expect(classifySlackEvent(envelope({ type: 'reaction_added', user: BOT_USER, reaction: 'eyes', item }))).toEqual({
      kind: 'own_echo',
    });
  });

  it('uninstall events end the installation; unknown types are unsupported', () => {
    expect(classifySlackEvent(envelope({ type: 'tokens_revoked', tokens: { bot: ['U0TLBOT'] } }))).toEqual({
      kind: 'installation_ended',
      type: 'tokens_revoked',
      tokens: { oauth: [], bot: ['U0TLBOT'] },
    });
    expect(classifySlackEvent(envelope({ type: 'team_join', user: { id: 'U9' } }))).toEqual({
      kind: 'unsupported',
      reason: 'event_type:team_join',
    });
  });
});
