import { ErrorCode } from '@slack/web-api';
import type { WebAPIRateLimitedError } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

describe('Slack emulator rate limits, faults and scheduled messages', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.emu.stop();
    h = undefined;
  });

  it('chat.postMessage is limited per channel; the client sees a rate-limited error with retryAfter', async () => {
    h = await startHarness({ rateLimits: true });
    const post = (channel: string) => h!.client.chat.postMessage({ channel, text: 'burst' });
    for (let i = 0; i < 3; i++) await post('C0PAYMENTS');
    const err = (await post('C0PAYMENTS').then(
      () => undefined,
      (e: unknown) => e,
    )) as WebAPIRateLimitedError | undefined;
    expect(err?.code).toBe(ErrorCode.RateLimitedError);
    expect(err?.retryAfter).toBeGreaterThanOrEqual(1);
    // Another channel has its own budget.
    expect((await post('C0TICKETS')).ok).toBe(true);
    // The raw answer is HTTP 429 with Retry-After and {ok:false,error:'ratelimited'}.
    const res = await fetch(`${h.emu.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-test-bot-token', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'channel=C0PAYMENTS&text=x',
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toEqual({ ok: false, error: 'ratelimited' });
    // The admin toggle turns limits off.
    await h.admin.setRateLimits(false);
    expect((await post('C0PAYMENTS')).ok).toBe(true);
    // Only 3 + 1 + 1 posts landed in #payments (the limited ones did not).
    expect(await h.admin.channelMessages('C0PAYMENTS')).toHaveLength(4);
  });

  it('tiered methods are limited per workspace (users.info is Tier 4: burst then 429)', async () => {
    h = await startHarness({ rateLimits: true });
    let limited = 0;
    for (let i = 0; i < 25; i++) {
      await h.client.users.info({ user: 'U0BOB' }).catch((e: { code?: string }) => {
        if (e.code === ErrorCode.RateLimitedError) limited++;
      });
    }
    expect(limited).toBeGreaterThan(0);
    expect(limited).toBeLessThan(25);
  });

  it('faults: error, status, ratelimit, latency', async () => {
    h = await startHarness();
    await h.admin.injectFault({ method: 'chat.postMessage', kind: 'error', error: 'internal_error' });
    const e1 = await h.client.chat
      .postMessage({ channel: 'C0PAYMENTS', text: 'x' })
      .catch((e: { data?: { error?: string } }) => e);
    expect((e1 as { data?: { error?: string } }).data?.error).toBe('internal_error');

    await h.admin.injectFault({ method: 'chat.postMessage', kind: 'status', status: 503 });
    const e2 = await h.client.chat
      .postMessage({ channel: 'C0PAYMENTS', text: 'x' })
      .catch((e: { code?: string; statusCode?: number }) => e);
    expect(e2).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });

    await h.admin.injectFault({ method: 'reactions.add', kind: 'ratelimit', retryAfter: 7 });
    const e3 = await h.client.reactions
      .add({ channel: 'C0PAYMENTS', timestamp: '1.1', name: 'x' })
      .catch((e: unknown) => e);
    expect(e3).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });

    await h.admin.injectFault({ method: 'auth.test', kind: 'latency', latencyMs: 150 });
    const t0 = Date.now();
    expect((await h.client.auth.test()).ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

    // Faults are consumed: nothing posted so far, the next post works.
    expect(await h.admin.channelMessages('C0PAYMENTS')).toHaveLength(0);
    expect((await h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'ok now' })).ok).toBe(true);
  });

  it('commit_then_timeout: the client errors but the message exists', async () => {
    h = await startHarness();
    await h.admin.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout' });
    const err = await h.client.chat.postMessage({ channel: 'C0OPSALERT', text: 'did it post?' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: ErrorCode.RequestError });
    const msgs = await h.admin.channelMessages('C0OPSALERT');
    expect(msgs.map((m) => m.text)).toEqual(['did it post?']);
  });

  it('scheduleMessage posts at post_at; time_in_past; metadata makes it silently never post', async () => {
    h = await startHarness();
    // A few seconds ahead, so a loaded machine cannot make the second schedule call `time_in_past`.
    const postAt = Math.floor(Date.now() / 1000) + 3;
    const r = await h.client.chat.scheduleMessage({ channel: 'C0ESCALATE', text: 'SLA breached', post_at: postAt });
    expect(r).toMatchObject({ ok: true, channel: 'C0ESCALATE', post_at: postAt });
    expect(r.scheduled_message_id).toMatch(/^Q/);
    const withMeta = await h.client.chat.scheduleMessage({
      channel: 'C0ESCALATE',
      text: 'never',
      post_at: postAt,
      metadata: { event_type: 'x', event_payload: {} },
    });
    expect(withMeta.ok).toBe(true);
    const past = await h.client.chat
      .scheduleMessage({ channel: 'C0ESCALATE', text: 'late', post_at: postAt - 100 })
      .catch((e: { data?: { error?: string } }) => e.data?.error);
    expect(past).toBe('time_in_past');
    const posted = await h.admin.waitFor(async () => {
      const s = await h!.admin.scheduled();
      return s.every((x) => x.state !== 'pending') ? s : undefined;
    }, 15_000);
    expect(posted.map((s) => s.state).sort()).toEqual(['dropped', 'posted']);
    const msgs = await h.admin.channelMessages('C0ESCALATE');
    expect(msgs.map((m) => m.text)).toEqual(['SLA breached']);
    expect(Number(msgs[0]!.ts)).toBeGreaterThanOrEqual(postAt);
  });
});
