import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers.js';

/**
 * Incoming webhooks as Slack serves them (hooks.slack.com/services/T…/B…/secret): `ok` as text/plain,
 * error codes as text with their HTTP statuses, one message per second per channel, faults.
 */
describe('Slack emulator: incoming webhooks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.emu.stop();
  });

  const post = (url: string, body: unknown, type = 'application/json') =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('posts to its channel as the app bot (JSON or a form payload), answering "ok"', async () => {
    const hook = await h.admin.createIncomingWebhook('C0OPSALERT');
    expect(hook.url).toMatch(/\/services\/T0THREADLN\/B[0-9A-F]+\/[0-9a-f]{24}$/);
    const res = await post(hook.url, {
      text: 'disk almost full',
      attachments: [{ color: '#d92d20', text: 'sda1 at 97%' }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('ok');
    const form = await post(
      hook.url,
      `payload=${encodeURIComponent(JSON.stringify({ text: 'as a form' }))}`,
      'application/x-www-form-urlencoded',
    );
    expect(await form.text()).toBe('ok');
    const msgs = await h.admin.channelMessages('C0OPSALERT');
    const mine = msgs.filter((m) => m.text === 'disk almost full' || m.text === 'as a form');
    expect(mine).toHaveLength(2);
    expect(mine[0]).toMatchObject({ bot_id: 'B0TLBOT' });
    expect(JSON.stringify(mine[0])).toContain('sda1 at 97%');
    const log = await h.admin.incomingWebhooks();
    expect(JSON.stringify(log.webhooks)).not.toContain(hook.url.split('/').at(-1)); // the secret is never listed
    expect(log.posts.filter((p) => p.webhook === hook.id).map((p) => p.answer)).toEqual(['ok', 'ok']);
  });

  it('answers Slack error codes: invalid_payload, no_text, invalid_blocks, invalid_token, no_service, channel_is_archived', async () => {
    const hook = await h.admin.createIncomingWebhook('C0OPSALERT');
    const cases: [string, unknown, number, string][] = [
      [hook.url, '{not json', 400, 'invalid_payload'],
      [hook.url, { text: '' }, 400, 'no_text'],
      [hook.url, { text: 'x', blocks: [{ type: 'nope' }] }, 400, 'invalid_blocks'],
      [hook.url.replace(/[0-9a-f]{24}$/, 'f'.repeat(24)), { text: 'x' }, 403, 'invalid_token'],
      [hook.url.replace(/\/B[0-9A-F]+\//, '/BUNKNOWN/'), { text: 'x' }, 404, 'no_service'],
    ];
    for (const [url, body, status, code] of cases) {
      const res = await post(url, body);
      expect([res.status, await res.text()]).toEqual([status, code]);
    }
    const archived = await h.admin.createIncomingWebhook('C0ARCHIVED');
    const res = await post(archived.url, { text: 'x' });
    expect([res.status, await res.text()]).toEqual([410, 'channel_is_archived']);
    await h.admin.disableIncomingWebhook(hook.url);
    const gone = await post(hook.url, { text: 'x' });
    expect([gone.status, await gone.text()]).toEqual([404, 'no_service']);
  });

  it("shares chat.postMessage's per-channel budget (429 + Retry-After) and takes faults named incoming-webhook", async () => {
    await h.admin.setRateLimits(true);
    try {
      const hook = await h.admin.createIncomingWebhook('C0TICKETS');
      const answers: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 6; i++) {
        const res = await post(hook.url, { text: `burst ${i}` });
        answers.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
        await res.text();
      }
      expect(answers.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
      expect(answers).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await h.admin.setRateLimits(false);
    }
    const hook = await h.admin.createIncomingWebhook('C0ESCALATE');
    await h.admin.injectFault({ method: 'incoming-webhook', kind: 'status', status: 503, count: 1 });
    const res = await post(hook.url, { text: 'after a fault' });
    expect(res.status).toBe(503);
    expect((await post(hook.url, { text: 'after a fault' })).status).toBe(200);
  });
});
