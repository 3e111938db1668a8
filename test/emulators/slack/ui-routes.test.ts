import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream } from '../sse.js';
import { startHarness, type Harness } from './helpers.js';

describe('sandbox Slack view: pages, assets and the live stream', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.emu.stop();
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${h.emu.url}${path}`, { headers, redirect: 'manual' });

  it('serves the primary workspace at / with a strict CSP and no caching', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    expect(page).toContain('<h1>#payments</h1>');
    expect(page).toContain('data-events="/_ui/events?team=T0THREADLN"');
    // Private channels the viewer is not in do not show; archived ones are listed apart.
    expect(page).toMatch(/Archived<\/h3>[\s\S]*old-announcements/);
    expect(page).not.toMatch(/<script(?![^>]*src=)/); // no inline script anywhere
  });

  it('answers bad addresses with a page that says what is wrong', async () => {
    const cases: [string, number, string][] = [
      ['/client/T0NOPE', 404, 'There is no workspace T0NOPE.'],
      ['/client/T0THREADLN/C0NOPE', 404, 'There is no channel C0NOPE in Threadline Sandbox.'],
      ['/?as=U0NOBODY', 400, 'U0NOBODY is not an active person of Threadline Sandbox.'],
      ['/client/T0THREADLN/C0PAYMENTS?thread=%3Cscript%3E', 400, 'thread must be a message ts, not &lt;script&gt;.'],
      ['/archives/C0PAYMENTS/pnope', 400, 'pnope is not a message permalink.'],
    ];
    for (const [path, status, text] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(status);
      expect(await res.text(), path).toContain(text);
    }
  });

  it('acts as the person asked for and remembers them per workspace in a cookie', async () => {
    const res = await get('/client/T0THREADLN/C0APPROVAL?as=U0BOB');
    expect(res.headers.get('set-cookie')).toBe('tl_slack_as_T0THREADLN=U0BOB; Path=/; SameSite=Strict');
    expect(await res.text()).toMatch(/<option value="[^"]*as=U0BOB[^"]*" selected>\s*Bob Banker/);
    const again = await (await get('/client/T0THREADLN/C0APPROVAL', { cookie: 'tl_slack_as_T0THREADLN=U0BOB' })).text();
    expect(again).toMatch(/<option value="[^"]*as=U0BOB[^"]*" selected>/);
    expect(again).toContain('&quot;user&quot;:&quot;U0BOB&quot;'); // every action is sent as Bob
    // Another workspace has its own people and its own remembered person.
    const acme = await (await get('/client/T0ACMECORP', { cookie: 'tl_slack_as_T0THREADLN=U0BOB' })).text();
    expect(acme).toContain('Acme Corp (app not installed)');
    expect(acme).toMatch(/<option value="[^"]*as=U0ASHA[^"]*" selected>/);
    expect(acme).toContain('/_teams/T0ACMECORP/_admin/messages');
  });

  it('shows what people and the app post as text, never as markup', async () => {
    await h.admin.postMessage({
      user: 'U0CAROL',
      channel: 'C0PAYMENTS',
      text: '<script>alert(1)</script> "hi" & <b>bye</b>',
    });
    const page = await (await get('/client/T0THREADLN/C0PAYMENTS')).text();
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &quot;hi&quot; &amp; &lt;b&gt;bye&lt;/b&gt;');
    expect(page).not.toContain('<script>alert(1)');
    expect(page).not.toContain('<b>bye</b>');
  });

  it('opens chat.getPermalink links: the channel with the message pointed at, its thread open', async () => {
    const parent = await h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'root' });
    const reply = await h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'reply', thread_ts: parent.ts! });
    const { permalink } = await h.client.chat.getPermalink({ channel: 'C0PAYMENTS', message_ts: reply.ts! });
    const path = new URL(permalink!).pathname + new URL(permalink!).search;
    const res = await get(path);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!, h.emu.url);
    expect(to.pathname).toBe('/client/T0THREADLN/C0PAYMENTS');
    expect(to.searchParams.get('thread')).toBe(parent.ts);
    expect(to.searchParams.get('highlight')).toBe(reply.ts);
    const page = await (await get(to.pathname + to.search)).text();
    expect(page).toContain('class="thread"');
    expect(page).toMatch(/class="msg msg-app msg-highlight"/);
  });

  it('serves its browser files (and morphdom from node_modules) from a fixed list only', async () => {
    for (const path of ['/_ui/assets/live.js', '/_ui/assets/slack.js', '/_ui/vendor/morphdom.js']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('text/javascript; charset=utf-8');
    }
    expect((await get('/_ui/assets/slack.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await get('/_ui/assets/../routes.ts')).status).toBe(404);
    expect((await get('/_ui/assets/routes.ts')).status).toBe(404);
  });

  it('tells open pages when their workspace changed, and only theirs', async () => {
    expect((await get('/_ui/events?team=T0NOPE')).status).toBe(404);
    const sandbox = await openEventStream(`${h.emu.url}/_ui/events?team=T0THREADLN`);
    const acme = await openEventStream(`${h.emu.url}/_ui/events?team=T0ACMECORP`);
    try {
      await h.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'the app posts' });
      expect(Number(await sandbox.next('change'))).toBeGreaterThan(0);
      await h.admin.team('T0ACMECORP').postMessage({ user: 'U0BILAL', channel: 'C0PAYMENTS', text: 'hi' });
      await acme.next('change');
      // The sandbox stream heard nothing about Acme: its next change is the next sandbox change.
      await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'second' });
      const first = Number(await sandbox.next('change'));
      await expect(sandbox.next('change', 300)).rejects.toThrow(/no 'change' event/);
      expect(first).toBeGreaterThan(0);
    } finally {
      sandbox.close();
      acme.close();
    }
  });

  it('stops promptly with a page still listening', async () => {
    const other = await startHarness();
    const stream = await openEventStream(`${other.emu.url}/_ui/events?team=T0THREADLN`);
    try {
      await other.emu.stop(); // would hang forever if open streams kept the server alive
    } finally {
      stream.close();
    }
  });
});
