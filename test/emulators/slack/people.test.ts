import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIGNING_SECRET, startHarness, startReceiver, verifySlackSignature, waitUntil } from './helpers.js';
import type { Harness, Received } from './helpers.js';

// Parsed wire payloads are inspected field by field; typing every Slack payload here would add nothing.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

describe('Slack emulator acting as Slack toward the app', () => {
  let h: Harness;
  let app: Awaited<ReturnType<typeof startReceiver>>;
  // Each test sets how the fake app answers.
  let respond: (r: Received, res: ServerResponse) => void;

  const events = (): Obj[] =>
    app.received.filter((r) => r.path === '/slack/events').map((r) => JSON.parse(r.body) as Obj);
  const eventOf = (pred: (e: Obj) => boolean) =>
    waitUntil(() => events().find((e) => e.event !== undefined && pred(e.event as Obj)));
  const formPayload = (r: Received): Obj => JSON.parse(new URLSearchParams(r.body).get('payload')!) as Obj;

  beforeAll(async () => {
    app = await startReceiver((r, res) => respond(r, res));
    h = await startHarness({ deliveryTimeoutMs: 300, triggerTtlMs: 3000 });
    h.emu.setAppUrls({
      events: `${app.url}/slack/events`,
      interactivity: `${app.url}/slack/interactions`,
      commands: `${app.url}/slack/commands`,
    });
  });
  afterAll(async () => {
    await h.emu.stop();
    await app.close();
  });
  beforeEach(async () => {
    respond = (_r, res) => res.end();
    app.received.length = 0;
    await h.admin.reset();
    await h.admin.config({ eventRetryDelaysMs: [10, 10, 10] });
  });

  it('delivers a person’s message as a signed event_callback with Slack’s envelope', async () => {
    const posted = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'hello team' });
    const env = await eventOf((e) => e.type === 'message' && e.ts === posted.ts);
    const req = app.received.find((r) => r.path === '/slack/events')!;
    expect(req.headers['content-type']).toBe('application/json');
    expect(verifySlackSignature(SIGNING_SECRET, req.headers, req.body)).toBe(true);
    expect(verifySlackSignature('wrong-secret', req.headers, req.body)).toBe(false);
    expect(env).toMatchObject({
      team_id: 'T0THREADLN',
      api_app_id: 'A0THREADLN',
      type: 'event_callback',
      is_ext_shared_channel: false,
      authorizations: [{ team_id: 'T0THREADLN', user_id: 'U0TLBOT', is_bot: true, is_enterprise_install: false }],
    });
    expect(env.event_id).toMatch(/^Ev[A-Z0-9]+$/);
    expect(typeof env.event_time).toBe('number');
    expect(typeof env.event_context).toBe('string');
    expect(env.event).toMatchObject({
      type: 'message',
      user: 'U0BOB',
      text: 'hello team',
      team: 'T0THREADLN',
      channel: 'C0PAYMENTS',
      channel_type: 'channel',
      event_ts: posted.ts,
      client_msg_id: expect.any(String),
    });
    expect(env.event.subtype).toBeUndefined();
    expect(env.event.bot_id).toBeUndefined();
  });

  it('bot posts arrive as message without subtype but with bot_id and bot_profile; updates as message_changed', async () => {
    const p = await h.client.chat.postMessage({ channel: 'C0APPROVAL', text: 'needs approval' });
    const env = await eventOf((e) => e.type === 'message' && e.ts === p.ts);
    expect(env.event.subtype).toBeUndefined();
    expect(env.event).toMatchObject({
      bot_id: 'B0TLBOT',
      user: 'U0TLBOT',
      bot_profile: { id: 'B0TLBOT', app_id: 'A0THREADLN' },
    });

    await h.client.chat.update({ channel: 'C0APPROVAL', ts: p.ts!, text: 'approved by Alice' });
    const changed = await eventOf((e) => e.subtype === 'message_changed');
    expect(changed.event).toMatchObject({
      channel: 'C0APPROVAL',
      hidden: true,
      message: { ts: p.ts, text: 'approved by Alice', bot_id: 'B0TLBOT', edited: expect.any(Object) },
      previous_message: { ts: p.ts, text: 'needs approval' },
    });
    await h.client.chat.delete({ channel: 'C0APPROVAL', ts: p.ts! });
    const deleted = await eventOf((e) => e.subtype === 'message_deleted');
    expect(deleted.event).toMatchObject({ deleted_ts: p.ts, previous_message: { text: 'approved by Alice' } });
    // Every delivery carries a fresh event_id.
    const ids = events().map((e) => e.event_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('thread replies, broadcasts, reactions and app mentions', async () => {
    const root = await h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'root' });
    const reply = await h.admin.postMessage({
      user: 'U0CAROL',
      channel: 'C0PAYMENTS',
      text: 'in thread',
      thread_ts: root.ts!,
    });
    const re = await eventOf((e) => e.ts === reply.ts);
    expect(re.event).toMatchObject({ thread_ts: root.ts, parent_user_id: 'U0TLBOT', user: 'U0CAROL' });
    const bc = await h.admin.postMessage({
      user: 'U0CAROL',
      channel: 'C0PAYMENTS',
      text: 'broadcast',
      thread_ts: root.ts!,
      reply_broadcast: true,
    });
    const be = await eventOf((e) => e.ts === bc.ts);
    expect(be.event).toMatchObject({
      subtype: 'thread_broadcast',
      thread_ts: root.ts,
      root: { ts: root.ts, reply_count: 2 },
    });

    await h.admin.addReaction({ user: 'U0ALICE', channel: 'C0PAYMENTS', ts: root.ts!, name: ':white_check_mark:' });
    const ra = await eventOf((e) => e.type === 'reaction_added');
    expect(ra.event).toMatchObject({
      user: 'U0ALICE',
      reaction: 'white_check_mark',
      item_user: 'U0TLBOT',
      item: { type: 'message', channel: 'C0PAYMENTS', ts: root.ts },
      event_ts: expect.any(String),
    });
    await h.admin.removeReaction({ user: 'U0ALICE', channel: 'C0PAYMENTS', ts: root.ts!, name: 'white_check_mark' });
    await eventOf((e) => e.type === 'reaction_removed');

    const m = await h.admin.postMessage({ user: 'U0DAVE', channel: 'C0TICKETS', text: '<@U0TLBOT> status?' });
    const mention = await eventOf((e) => e.type === 'app_mention');
    expect(mention.event).toMatchObject({ user: 'U0DAVE', ts: m.ts, channel: 'C0TICKETS' });

    // No events for channels the bot is not in (emission is decided synchronously at post time).
    const hidden = await h.admin.postMessage({ user: 'U0BOB', channel: 'G0FINANCE', text: 'private' });
    const marker = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'marker' });
    await eventOf((e) => e.ts === marker.ts);
    expect(events().some((e) => e.event.ts === hidden.ts)).toBe(false);
    await expect(h.admin.postMessage({ user: 'U0BOB', channel: 'C0NOPE', text: 'x' })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('retries failed event deliveries with retry headers, re-signed; x-slack-no-retry stops them', async () => {
    let calls = 0;
    respond = (r, res) => {
      if (r.path !== '/slack/events') return res.end();
      calls++;
      if (calls === 1) {
        res.statusCode = 500;
        return res.end();
      }
      if (calls === 2) return; // never answer: the emulator times out (300 ms)
      res.end();
    };
    const p = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'retry me' });
    await waitUntil(() => app.received.filter((r) => r.path === '/slack/events').length >= 3, 5000);
    const reqs = app.received.filter((r) => r.path === '/slack/events');
    expect(reqs.map((r) => r.headers['x-slack-retry-num'])).toEqual([undefined, '1', '2']);
    expect(reqs.map((r) => r.headers['x-slack-retry-reason'])).toEqual([undefined, 'http_error', 'http_timeout']);
    for (const r of reqs) expect(verifySlackSignature(SIGNING_SECRET, r.headers, r.body)).toBe(true);
    // The same event (same event_id) is redelivered.
    expect(new Set(reqs.map((r) => (JSON.parse(r.body) as Obj).event_id)).size).toBe(1);
    const delivery = await h.admin.waitFor(async () =>
      (await h.admin.deliveries()).find((d) => d.body.includes(p.ts) && d.delivered),
    );
    expect(delivery.attempts.map((a) => a.status)).toEqual([500, null, 200]);

    app.received.length = 0;
    respond = (_r, res) => {
      res.statusCode = 503;
      res.setHeader('x-slack-no-retry', '1');
      res.end();
    };
    const q = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'do not retry' });
    const d2 = await h.admin.waitFor(async () =>
      (await h.admin.deliveries()).find((d) => d.body.includes(q.ts) && d.attempts.length > 0),
    );
    // Give would-be retries (10 ms apart) a chance to happen before asserting there were none.
    await new Promise((r) => setTimeout(r, 100));
    expect(app.received.filter((r) => r.path === '/slack/events')).toHaveLength(1);
    expect(d2.delivered).toBe(false);
  });

  it('click sends block_actions in form field payload with a working response_url', async () => {
    respond = (_r, res) => res.end();
    const p = await h.client.chat.postMessage({
      channel: 'C0APPROVAL',
      text: 'Approve refund?',
      blocks: [
        { type: 'section', block_id: 'q', text: { type: 'mrkdwn', text: 'Approve refund?' } },
        {
          type: 'actions',
          block_id: 'decide',
          elements: [
            {
              type: 'button',
              action_id: 'approve',
              value: 'refund_1',
              text: { type: 'plain_text', text: 'Approve' },
              style: 'primary',
            },
            { type: 'button', action_id: 'reject', value: 'refund_1', text: { type: 'plain_text', text: 'Reject' } },
          ],
        },
      ],
    });
    await expect(
      h.admin.clickButton({ user: 'U0ALICE', channel: 'C0APPROVAL', ts: p.ts!, action_id: 'nope' }),
    ).rejects.toMatchObject({
      status: 404,
    });
    const click = await h.admin.clickButton({
      user: 'U0ALICE',
      channel: 'C0APPROVAL',
      ts: p.ts!,
      action_id: 'approve',
    });
    expect(click.delivery).toMatchObject({ delivered: true, status: 200 });
    const req = app.received.find((r) => r.path === '/slack/interactions')!;
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(verifySlackSignature(SIGNING_SECRET, req.headers, req.body)).toBe(true);
    expect([...new URLSearchParams(req.body).keys()]).toEqual(['payload']);
    const payload = formPayload(req);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0THREADLN' },
      api_app_id: 'A0THREADLN',
      container: { type: 'message', message_ts: p.ts, channel_id: 'C0APPROVAL', is_ephemeral: false },
      team: { id: 'T0THREADLN', domain: 'threadline-sandbox' },
      channel: { id: 'C0APPROVAL', name: 'approvals' },
      message: { ts: p.ts, text: 'Approve refund?', blocks: expect.any(Array) },
      state: { values: {} },
      actions: [
        {
          action_id: 'approve',
          block_id: 'decide',
          value: 'refund_1',
          type: 'button',
          text: { type: 'plain_text', text: 'Approve' },
        },
      ],
    });
    expect(payload.trigger_id).toBe(click.trigger_id);
    expect(payload.actions[0].action_ts).toMatch(/^\d+\.\d+$/);
    expect(payload.response_url).toBe(click.response_url);

    const post = (body: Obj) =>
      fetch(payload.response_url as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ text: 'Only you see this' })).status).toBe(200);
    expect((await h.admin.ephemerals()).map((e) => [e.user, e.text, e.source])).toEqual([
      ['U0ALICE', 'Only you see this', 'response_url'],
    ]);
    expect((await post({ replace_original: true, text: 'Approved by Alice' })).status).toBe(200);
    const stored = await h.admin.message('C0APPROVAL', p.ts!);
    expect(stored.text).toBe('Approved by Alice');
    expect(stored.blocks).toBeUndefined();
    await eventOf((e) => e.subtype === 'message_changed' && e.message.text === 'Approved by Alice');
    expect((await post({ response_type: 'in_channel', text: 'FYI: approved' })).status).toBe(200);
    expect((await h.admin.channelMessages('C0APPROVAL')).map((m) => m.text)).toContain('FYI: approved');
    expect((await post({ text: 'four' })).status).toBe(200);
    expect((await post({ text: 'five' })).status).toBe(200);
    const sixth = await post({ text: 'six' });
    expect(sixth.status).toBe(404);
    expect((await h.admin.responseUrlPosts()).map((r) => r.effect)).toEqual([
      'ephemeral',
      'replaced_original',
      'posted_in_channel',
      'ephemeral',
      'ephemeral',
      'used_url',
    ]);
  });

  it('view submission returns the app’s response_action: errors, then closes on an empty 200', async () => {
    const p = await h.client.chat.postMessage({
      channel: 'C0APPROVAL',
      text: 'x',
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'open_modal', text: { type: 'plain_text', text: 'Reject…' } }],
        },
      ],
    });
    const click = await h.admin.clickButton({
      user: 'U0CAROL',
      channel: 'C0APPROVAL',
      ts: p.ts!,
      action_id: 'open_modal',
    });
    const opened = await h.client.views.open({
      trigger_id: click.trigger_id,
      view: {
        type: 'modal',
        callback_id: 'reject_reason',
        private_metadata: '{"refund":"rf_1"}',
        notify_on_close: true,
        title: { type: 'plain_text', text: 'Reject refund' },
        submit: { type: 'plain_text', text: 'Reject' },
        blocks: [
          {
            type: 'input',
            block_id: 'reason',
            label: { type: 'plain_text', text: 'Reason' },
            element: { type: 'plain_text_input', action_id: 'text' },
          },
          {
            type: 'input',
            block_id: 'severity',
            optional: true,
            label: { type: 'plain_text', text: 'Severity' },
            element: {
              type: 'static_select',
              action_id: 'sel',
              options: [{ text: { type: 'plain_text', text: 'High' }, value: 'high' }],
            },
          },
        ],
      },
    });
    const viewId = opened.view!.id!;
    await expect(h.admin.submitView({ user: 'U0CAROL', values: {} })).rejects.toMatchObject({ status: 400 });

    respond = (r, res) => {
      if (r.path !== '/slack/interactions') return res.end();
      const pl = formPayload(r);
      if (pl.view.state.values.reason.text.value === 'too short') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ response_action: 'errors', errors: { reason: 'Please explain more' } }));
      }
      res.end();
    };
    const r1 = await h.admin.submitView({
      user: 'U0CAROL',
      view_id: viewId,
      values: { reason: { text: 'too short' } },
    });
    expect(r1).toMatchObject({ outcome: 'errors', errors: { reason: 'Please explain more' } });
    expect(r1.delivery.response).toEqual({ response_action: 'errors', errors: { reason: 'Please explain more' } });
    const sub = formPayload(app.received.filter((r) => r.path === '/slack/interactions').at(-1)!);
    expect(sub).toMatchObject({
      type: 'view_submission',
      user: { id: 'U0CAROL' },
      response_urls: [],
      view: {
        id: viewId,
        callback_id: 'reject_reason',
        private_metadata: '{"refund":"rf_1"}',
        state: {
          values: {
            reason: { text: { type: 'plain_text_input', value: 'too short' } },
            severity: { sel: { type: 'static_select', selected_option: null } },
          },
        },
      },
    });
    expect(sub.trigger_id).toMatch(/^\d+\.\d+\./);
    expect((await h.admin.views()).find((v) => v.id === viewId)?.open).toBe(true);

    const r2 = await h.admin.submitView({
      user: 'U0CAROL',
      values: { reason: { text: 'duplicate charge reported twice' }, severity: { sel: 'high' } },
    });
    expect(r2.outcome).toBe('closed');
    const last = formPayload(app.received.filter((r) => r.path === '/slack/interactions').at(-1)!);
    expect(last.view.state.values.severity.sel.selected_option).toMatchObject({ value: 'high' });
    expect((await h.admin.views()).find((v) => v.id === viewId)?.open).toBe(false);
  });

  it('slash commands send Slack’s form fields and record the immediate answer', async () => {
    respond = (r, res) => {
      if (r.path !== '/slack/commands') return res.end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ response_type: 'ephemeral', text: 'Looking up pay_9…' }));
    };
    const r = await h.admin.runSlashCommand({
      user: 'U0ERIN',
      channel: 'C0PAYMENTS',
      command: '/threadline',
      text: 'status pay_9',
    });
    expect(r.delivery).toMatchObject({ status: 200, response: { text: 'Looking up pay_9…' } });
    const req = app.received.find((x) => x.path === '/slack/commands')!;
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(verifySlackSignature(SIGNING_SECRET, req.headers, req.body)).toBe(true);
    const form = Object.fromEntries(new URLSearchParams(req.body));
    expect(form).toMatchObject({
      token: expect.any(String),
      team_id: 'T0THREADLN',
      team_domain: 'threadline-sandbox',
      channel_id: 'C0PAYMENTS',
      channel_name: 'payments',
      user_id: 'U0ERIN',
      user_name: 'erin',
      command: '/threadline',
      text: 'status pay_9',
      api_app_id: 'A0THREADLN',
      is_enterprise_install: 'false',
      response_url: r.response_url,
      trigger_id: r.trigger_id,
    });
    expect((await h.admin.ephemerals()).map((e) => [e.user, e.text, e.source])).toEqual([
      ['U0ERIN', 'Looking up pay_9…', 'command'],
    ]);
    // Commands are not retried.
    respond = (_r, res) => {
      res.statusCode = 500;
      res.end();
    };
    app.received.length = 0;
    const failed = await h.admin.runSlashCommand({ user: 'U0ERIN', channel: 'C0PAYMENTS', command: '/threadline' });
    expect(failed.delivery).toMatchObject({ delivered: false, status: 500 });
    expect(app.received).toHaveLength(1);
  });
  it('url_verification handshake and uninstall (token revoked, app_uninstalled + tokens_revoked events)', async () => {
    respond = (r, res) => {
      const body = JSON.parse(r.body) as Obj;
      res.setHeader('content-type', 'application/json');
      res.end(body.type === 'url_verification' ? JSON.stringify({ challenge: body.challenge }) : '');
    };
    const v = await h.admin.urlVerification();
    expect(v.verified).toBe(true);
    const req = app.received[0]!;
    expect(verifySlackSignature(SIGNING_SECRET, req.headers, req.body)).toBe(true);
    expect(JSON.parse(req.body)).toMatchObject({ type: 'url_verification', challenge: v.challenge });

    respond = (_r, res) => res.end('wrong');
    expect((await h.admin.urlVerification()).verified).toBe(false);

    respond = (_r, res) => res.end();
    await h.admin.uninstall();
    await eventOf((e) => e.type === 'app_uninstalled');
    const revoked = await eventOf((e) => e.type === 'tokens_revoked');
    expect(revoked.event.tokens).toEqual({ oauth: [], bot: ['U0TLBOT'] });
    await expect(h.client.auth.test()).rejects.toMatchObject({ data: { error: 'token_revoked' } });
    await h.admin.reset();
    expect((await h.client.auth.test()).ok).toBe(true);
  });
  it('view_submission response_action update, push and clear; view_closed when notify_on_close', async () => {
    const modal = (title: string, notify = false) => ({
      type: 'modal' as const,
      callback_id: `cb_${title}`,
      notify_on_close: notify,
      title: { type: 'plain_text' as const, text: title },
      blocks: [
        {
          type: 'input',
          block_id: 'b',
          label: { type: 'plain_text', text: 'L' },
          element: { type: 'plain_text_input', action_id: 'a' },
        },
      ],
    });
    const cmd = await h.admin.runSlashCommand({ user: 'U0BOB', channel: 'C0PAYMENTS', command: '/threadline' });
    const opened = await h.client.views.open({ trigger_id: cmd.trigger_id, view: modal('One') as never });
    let answer: Obj = { response_action: 'update', view: modal('One updated') };
    respond = (r, res) => {
      if (r.path !== '/slack/interactions') return res.end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    };
    const up = await h.admin.submitView({ user: 'U0BOB', values: { b: { a: 'x' } } });
    expect(up).toMatchObject({
      outcome: 'updated',
      view_id: opened.view!.id,
      view: { title: { text: 'One updated' } },
    });
    answer = { response_action: 'push', view: modal('Two', true) };
    const pushed = await h.admin.submitView({ user: 'U0BOB', values: { b: { a: 'y' } } });
    expect(pushed.outcome).toBe('pushed');
    expect(pushed.view).toMatchObject({ previous_view_id: opened.view!.id, root_view_id: opened.view!.id });
    // Closing the pushed view notifies the app and returns to the first one.
    respond = (_r, res) => res.end();
    const closed = await h.admin.closeView({ user: 'U0BOB' });
    expect(closed).toMatchObject({ notified: true, delivery: { status: 200 } });
    const vc = formPayload(app.received.filter((r) => r.path === '/slack/interactions').at(-1)!);
    expect(vc).toMatchObject({ type: 'view_closed', is_cleared: false, view: { id: pushed.view_id } });
    expect((await h.admin.views()).filter((v) => v.open).map((v) => v.id)).toEqual([opened.view!.id]);
    answer = { response_action: 'clear' };
    respond = (r, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    };
    expect((await h.admin.submitView({ user: 'U0BOB', values: { b: { a: 'z' } } })).outcome).toBe('cleared');
    expect((await h.admin.views()).filter((v) => v.open)).toEqual([]);
  });
});
