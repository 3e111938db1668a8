import { LogLevel, SocketModeClient } from '@slack/socket-mode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BOT_TOKEN, startHarness, startReceiver, waitUntil } from './helpers.js';
import type { Harness } from './helpers.js';

// Parsed wire payloads are inspected field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const APP_TOKEN = 'xapp-1-A0THREADLN-1-emulatortest';

interface Received {
  type: string;
  envelope_id: string;
  body: Obj;
  retry_num?: number;
  retry_reason?: string;
  accepts_response_payload?: boolean;
}

/**
 * A Socket Mode app built on Slack's official client. `ackWith` decides per envelope what to
 * acknowledge with (`false`: do not ack, to provoke redelivery).
 */
function socketApp(h: Harness) {
  const received: Received[] = [];
  let ackWith: (r: Received) => Obj | false = () => ({});
  const client = new SocketModeClient({
    appToken: APP_TOKEN,
    logLevel: LogLevel.ERROR,
    // Short timers so reconnects after a disconnect take milliseconds, not seconds.
    clientPingTimeout: 200,
    clientOptions: { slackApiUrl: h.emu.apiUrl, retryConfig: { retries: 0 } },
  });
  client.on('slack_event', (e: Received & { ack: (p?: Obj) => Promise<void> }) => {
    const r: Received = {
      type: e.type,
      envelope_id: e.envelope_id,
      body: e.body,
      ...(e.retry_num !== undefined ? { retry_num: e.retry_num } : {}),
      ...(e.retry_reason !== undefined ? { retry_reason: e.retry_reason } : {}),
      ...(e.accepts_response_payload !== undefined ? { accepts_response_payload: e.accepts_response_payload } : {}),
    };
    received.push(r);
    const reply = ackWith(r);
    // The ack can race a dropped socket in the tests that drop it; the emulator's log is what is asserted.
    if (reply !== false) e.ack(reply).catch(() => undefined);
  });
  return {
    client,
    received,
    setAck: (fn: (r: Received) => Obj | false) => (ackWith = fn),
    events: () => received.filter((r) => r.type === 'events_api'),
  };
}

describe('Slack emulator: Socket Mode through @slack/socket-mode', () => {
  let h: Harness;
  let http: Awaited<ReturnType<typeof startReceiver>>;
  const clients: SocketModeClient[] = [];
  const start = async () => {
    const a = socketApp(h);
    clients.push(a.client);
    await a.client.start();
    return a;
  };

  beforeEach(async () => {
    http = await startReceiver();
    h = await startHarness({
      appToken: APP_TOKEN,
      socketMode: true,
      socketAckTimeoutMs: 400,
      eventRetryDelaysMs: [20, 20, 20],
    });
    // HTTP URLs are configured too: with Socket Mode on, nothing may arrive there.
    h.emu.setAppUrls({
      events: `${http.url}/slack/events`,
      interactivity: `${http.url}/slack/interactions`,
      commands: `${http.url}/slack/commands`,
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.disconnect();
    await h.emu.stop();
    await http.close();
  });

  it('hello, then an events_api envelope per event; the ack ends the delivery and nothing goes over HTTP', async () => {
    const app = await start();
    const sm = await h.admin.socketMode();
    expect(sm.connections.filter((c) => c.open)).toHaveLength(1);
    const posted = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'over the socket' });
    const got = await waitUntil(() => app.events().find((r) => r.body.event?.ts === posted.ts));
    expect(got.accepts_response_payload).toBe(false);
    expect(got.retry_num).toBe(0);
    expect(got.body).toMatchObject({
      type: 'event_callback',
      team_id: 'T0THREADLN',
      api_app_id: 'A0THREADLN',
      event: { type: 'message', user: 'U0BOB', text: 'over the socket' },
    });
    expect(got.body.event_id).toMatch(/^Ev/);
    const d = await h.admin.waitFor(async () =>
      (await h.admin.deliveries()).find((x) => x.eventId === got.body.event_id && x.delivered),
    );
    expect(d).toMatchObject({ kind: 'socket:events_api', delivered: true });
    expect(d.attempts).toHaveLength(1);
    expect(http.received).toHaveLength(0);
  });

  it('an unacknowledged event is redelivered as a new envelope with retry_attempt and retry_reason', async () => {
    const app = await start();
    let first = true;
    app.setAck(() => {
      if (!first) return {};
      first = false;
      return false;
    });
    const posted = await h.admin.postMessage({ user: 'U0CAROL', channel: 'C0TICKETS', text: 'ack me later' });
    const copies = await waitUntil(() => {
      const c = app.events().filter((r) => r.body.event?.ts === posted.ts);
      return c.length >= 2 ? c : undefined;
    });
    expect(copies[0]!.body.event_id).toBe(copies[1]!.body.event_id);
    expect(copies[0]!.envelope_id).not.toBe(copies[1]!.envelope_id);
    expect(copies[1]).toMatchObject({ retry_num: 1, retry_reason: 'timeout' });
    const d = await h.admin.waitFor(async () =>
      (await h.admin.deliveries()).find((x) => x.eventId === copies[0]!.body.event_id && x.delivered),
    );
    expect(d.attempts.map((a) => a.error ?? a.status)).toEqual(['no_ack', 200]);
    // Once acked there is no third copy: wait for the delivery to be done, then count.
    expect(app.events().filter((r) => r.body.event?.ts === posted.ts)).toHaveLength(2);
  });

  it('slash commands answer in the ack (accepts_response_payload); block_actions are not retried', async () => {
    const app = await start();
    app.setAck((r) => (r.type === 'slash_commands' ? { text: 'status: all good' } : false));
    const cmd = await h.admin.runSlashCommand({
      user: 'U0ERIN',
      channel: 'C0PAYMENTS',
      command: '/threadline',
      text: 'status',
    });
    expect(cmd.delivery).toMatchObject({ delivered: true, status: 200, response: { text: 'status: all good' } });
    const env = app.received.find((r) => r.type === 'slash_commands')!;
    expect(env.accepts_response_payload).toBe(true);
    expect(env.body).toMatchObject({
      command: '/threadline',
      text: 'status',
      user_id: 'U0ERIN',
      team_id: 'T0THREADLN',
    });
    expect((await h.admin.ephemerals()).map((e) => e.text)).toContain('status: all good');

    // A message with one button, clicked by a person.
    const blocks = [
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'OK' } }],
      },
    ];
    const msg = await h.client.chat.postMessage({ channel: 'C0APPROVAL', text: 'approve?', blocks });
    const click = await h.admin.clickButton({
      user: 'U0ALICE',
      channel: 'C0APPROVAL',
      ts: msg.ts!,
      action_id: 'approve',
    });
    expect(click.delivery).toMatchObject({ delivered: false, status: null, error: 'no_ack' });
    const clicks = app.received.filter((r) => r.type === 'interactive');
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({ accepts_response_payload: false, body: { type: 'block_actions' } });
    expect(http.received).toHaveLength(0);
  });

  it('disconnect refresh_requested: the client reconnects on a fresh single-use URL and events keep flowing', async () => {
    const app = await start();
    const before = (await h.admin.socketMode()).connections.find((c) => c.open)!;
    await h.admin.socketDisconnect('refresh_requested');
    const after = await h.admin.waitFor(async () =>
      (await h.admin.socketMode()).connections.find((c) => c.open && c.id !== before.id),
    );
    expect((await h.admin.socketMode()).connections.find((c) => c.id === before.id)?.open).toBe(false);
    const posted = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'after refresh' });
    await waitUntil(() => app.events().find((r) => r.body.event?.ts === posted.ts));
    const env = (await h.admin.socketMode()).envelopes.find((e) => e.acked);
    expect(env?.connection).toBe(after.id);
  });

  it('a dropped socket: the envelope in flight is redelivered once the client is back, and acked once', async () => {
    const app = await start();
    let acking = false;
    app.setAck(() => (acking ? {} : false));
    await h.admin.configureSocketMode({ ackTimeoutMs: 2000 });
    const posted = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'in flight' });
    await waitUntil(() => app.events().find((r) => r.body.event?.ts === posted.ts));
    acking = true;
    await h.admin.socketDrop();
    const copies = await waitUntil(() => {
      const c = app.events().filter((r) => r.body.event?.ts === posted.ts);
      return c.length >= 2 ? c : undefined;
    });
    expect(copies[1]).toMatchObject({ retry_num: 1, retry_reason: 'timeout' });
    expect(new Set(copies.map((c) => c.body.event_id)).size).toBe(1);
    const d = await h.admin.waitFor(async () =>
      (await h.admin.deliveries()).find((x) => x.eventId === copies[0]!.body.event_id && x.delivered),
    );
    expect(d.attempts.map((a) => a.error ?? a.status)).toEqual(['connection_closed', 200]);
    expect(d.attempts[0]!.connection).not.toBe(d.attempts[1]!.connection);
  });

  it('envelopes spread over several connections; the 11th connection is refused with too_many_websockets', async () => {
    const a = await start();
    const b = await start();
    for (let i = 0; i < 4; i++) await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: `m${i}` });
    await waitUntil(() => a.events().length + b.events().length >= 4);
    expect(a.events().length).toBeGreaterThan(0);
    expect(b.events().length).toBeGreaterThan(0);

    // Raw sockets for the rest, to reach the limit without more clients.
    const open = async () => {
      const r = await fetch(`${h.emu.apiUrl}apps.connections.open`, {
        method: 'POST',
        headers: { authorization: `Bearer ${APP_TOKEN}` },
      });
      const { url } = (await r.json()) as { url: string };
      const ws = new WebSocket(url);
      const first = await new Promise<Obj>((resolve, reject) => {
        ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8')) as Obj));
        ws.once('error', reject);
      });
      return { ws, first, url };
    };
    const raw = [];
    for (let i = 0; i < 8; i++) raw.push(await open());
    expect(raw.every((r) => r.first.type === 'hello')).toBe(true);
    expect(raw.at(-1)!.first.num_connections).toBe(10);
    const eleventh = await open();
    expect(eleventh.first).toMatchObject({ type: 'disconnect', reason: 'too_many_websockets' });
    // A URL works once.
    const reuse = new WebSocket(raw[0]!.url);
    const refused = await new Promise<string>((resolve) => {
      reuse.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      reuse.once('open', () => resolve('opened'));
    });
    expect(refused).toBe('401');
    for (const r of [...raw, eleventh]) r.ws.terminate();
  });

  it('apps.connections.open needs an app-level token; app tokens cannot call workspace methods', async () => {
    const r = await h.client.apiCall('apps.connections.open').then(
      () => undefined,
      (e: { data?: Obj }) => e.data?.error as string,
    );
    expect(r).toBe('not_allowed_token_type');
    const asApp = h.clientFor(APP_TOKEN);
    const e = await asApp.chat.postMessage({ channel: 'C0PAYMENTS', text: 'x' }).then(
      () => undefined,
      (err: { data?: Obj }) => err.data?.error as string,
    );
    expect(e).toBe('not_allowed_token_type');
    expect((await h.clientFor(BOT_TOKEN).auth.test()).ok).toBe(true);
  });

  it('turning Socket Mode off tells connected clients link_disabled and events go back to HTTP', async () => {
    const app = await start();
    await h.admin.configureSocketMode({ enabled: false });
    await h.admin.waitFor(async () => (await h.admin.socketMode()).connections.every((c) => !c.open));
    const posted = await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'over http again' });
    await waitUntil(() => http.received.find((r) => r.body.includes(posted.ts)));
    expect(app.events().find((r) => r.body.event?.ts === posted.ts)).toBeUndefined();
  });
});
