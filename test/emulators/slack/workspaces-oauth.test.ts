import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InstallProvider, LogLevel } from '@slack/oauth';
import type { Installation, InstallationQuery } from '@slack/oauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOT_TOKEN, SIGNING_SECRET, startHarness, startReceiver, verifySlackSignature, waitUntil } from './helpers.js';
import type { Harness } from './helpers.js';

// Parsed wire payloads are inspected field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const CLIENT_ID = '1111111111.2222222222';
const CLIENT_SECRET = 'emulator-client-secret';
const B = 'T0ACMECORP';

async function slackError(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as { data?: { error?: string } },
  );
  if (!e) throw new Error('expected the call to fail');
  return e.data?.error;
}

/**
 * A stand-in app that installs itself with Slack's official InstallProvider (state cookie,
 * code exchange, installation store), the way Threadline's install routes will.
 */
async function startInstallerApp(h: Harness) {
  const store = new Map<string, Installation>();
  const outcomes: { ok: boolean; detail: string }[] = [];
  const server: Server = createServer((req, res) => {
    const done = (status: number, text: string) => {
      outcomes.push({ ok: status === 200, detail: text });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(text);
    };
    if (req.url?.startsWith('/slack/install')) return void installer.handleInstallPath(req, res);
    if (req.url?.startsWith('/slack/oauth_redirect'))
      return void installer.handleCallback(req, res, {
        success: (inst) => done(200, `installed ${inst.team?.id ?? ''}`),
        failure: (err) => done(400, `failed ${err.code}`),
      });
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const installer = new InstallProvider({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    stateSecret: 'installer-state-secret',
    authorizationUrl: `${h.emu.url}/oauth/v2/authorize`,
    directInstall: true,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: h.emu.apiUrl },
    installUrlOptions: {
      scopes: ['chat:write', 'channels:read', 'channels:history', 'channels:manage', 'users:read'],
      userScopes: ['chat:write'],
      redirectUri: `${url}/slack/oauth_redirect`,
    },
    installationStore: {
      storeInstallation: (i) => {
        store.set(i.team!.id, i);
        return Promise.resolve();
      },
      fetchInstallation: (q: InstallationQuery<boolean>) => {
        const i = store.get(q.teamId ?? '');
        return i ? Promise.resolve(i) : Promise.reject(new Error(`no installation for ${q.teamId ?? ''}`));
      },
      deleteInstallation: (q) => {
        store.delete(q.teamId ?? '');
        return Promise.resolve();
      },
    },
  });
  /** A person opens /slack/install, clicks Allow (or Cancel) in the emulator, and the browser follows back. */
  const install = async (team: string, user: string, allow = true) => {
    const start = await fetch(`${url}/slack/install`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0]!;
    const authorizeUrl = start.headers.get('location')!;
    expect(authorizeUrl.startsWith(`${h.emu.url}/oauth/v2/authorize?`)).toBe(true);
    const click = await h.admin.authorizeOAuth({ url: authorizeUrl, team, user, allow });
    const back = await fetch(click.redirect, { headers: { cookie }, redirect: 'manual' });
    return { status: back.status, text: await back.text(), redirect: click.redirect };
  };
  return {
    url,
    store,
    outcomes,
    installer,
    install,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('Slack emulator: many workspaces, OAuth v2 installs, token rotation, uninstall', () => {
  let h: Harness;
  let app: Awaited<ReturnType<typeof startInstallerApp>>;
  let events: Awaited<ReturnType<typeof startReceiver>>;
  const envelopes = (): Obj[] =>
    events.received.map((r) => JSON.parse(r.body) as Obj).filter((b) => b.type === 'event_callback');

  beforeAll(async () => {
    events = await startReceiver();
    h = await startHarness();
    h.emu.setAppUrls({ events: `${events.url}/slack/events` });
    app = await startInstallerApp(h);
  });
  afterAll(async () => {
    await app.close();
    await h.emu.stop();
    await events.close();
  });
  beforeEach(async () => {
    await h.admin.reset();
    app.store.clear();
    events.received.length = 0;
    await h.admin.oauthConfig({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUris: [`${app.url}/slack/oauth_redirect`],
      tokenRotation: false,
    });
  });

  it('installs the app into two workspaces with the same channel ids, and tokens never cross over', async () => {
    const acme = h.admin.team(B);
    // Not installed yet: a person's message there produces no event.
    await acme.postMessage({ user: 'U0BILAL', channel: 'C0PAYMENTS', text: 'before install' });
    expect(await acme.deliveries()).toHaveLength(0);

    expect(await app.install(B, 'U0ASHA')).toMatchObject({ status: 200, text: `installed ${B}` });
    expect(await app.install('T0THREADLN', 'U0ALICE')).toMatchObject({ status: 200 });
    const a = app.store.get('T0THREADLN')!;
    const b = app.store.get(B)!;
    // A reinstall keeps the workspace's bot token; the new workspace gets its own.
    expect(a.bot).toMatchObject({ token: BOT_TOKEN, userId: 'U0TLBOT', id: 'B0TLBOT' });
    expect(b.bot).toMatchObject({
      userId: 'U0ACMEBOT',
      id: 'B0ACMEBOT',
      scopes: expect.arrayContaining(['chat:write']),
    });
    expect(b.bot!.token).toMatch(/^xoxb-/);
    expect(b.bot!.token).not.toBe(BOT_TOKEN);
    expect(b.user).toMatchObject({ id: 'U0ASHA', scopes: ['chat:write'] });
    expect(b.user.token).toMatch(/^xoxp-/);
    expect(b.appId).toBe('A0THREADLN');
    expect(await acme.installation()).toMatchObject({ installed: true });

    const botA = h.client;
    const botB = h.clientFor(b.bot!.token);
    await botB.chat.postMessage({ channel: 'C0PAYMENTS', text: 'only in acme' });
    expect((await acme.channelMessages('C0PAYMENTS')).map((m) => m.text)).toEqual(['before install', 'only in acme']);
    expect(await h.admin.channelMessages('C0PAYMENTS')).toHaveLength(0);
    expect((await botA.auth.test()).team_id).toBe('T0THREADLN');
    expect(await botB.auth.test()).toMatchObject({ team_id: B, user_id: 'U0ACMEBOT', bot_id: 'B0ACMEBOT' });
    const bOnly = (await botB.conversations.create({ name: 'acme-only' })).channel!.id!;
    expect(await slackError(botA.conversations.info({ channel: bOnly }))).toBe('channel_not_found');
    expect(await slackError(botA.conversations.history({ channel: bOnly }))).toBe('channel_not_found');

    // The user token posts as the person, not as the bot.
    const asha = h.clientFor(b.user.token!);
    const posted = await asha.chat.postMessage({ channel: 'C0TICKETS', text: 'posted as me' });
    expect(posted.message).toMatchObject({ user: 'U0ASHA' });
    expect(posted.message?.bot_id).toBeUndefined();
    const me = await asha.auth.test();
    expect(me).toMatchObject({ user_id: 'U0ASHA', team_id: B });
    expect(me.bot_id).toBeUndefined();

    // Events of the new workspace carry its team and bot user, signed with the app's secret.
    await acme.postMessage({ user: 'U0CHEN', channel: 'C0PAYMENTS', text: 'hello from acme' });
    const env = await waitUntil(() => envelopes().find((e) => e.event.text === 'hello from acme'));
    expect(env).toMatchObject({
      team_id: B,
      api_app_id: 'A0THREADLN',
      authorizations: [{ team_id: B, user_id: 'U0ACMEBOT', is_bot: true }],
      event: { channel: 'C0PAYMENTS', team: B, user: 'U0CHEN' },
    });
    const req = events.received.find((r) => r.body.includes('hello from acme'))!;
    expect(verifySlackSignature(SIGNING_SECRET, req.headers, req.body)).toBe(true);
  });

  it('Cancel on the authorize page reaches the app as access_denied; nothing is installed', async () => {
    const out = await app.install(B, 'U0ASHA', false);
    expect(new URL(out.redirect).searchParams.get('error')).toBe('access_denied');
    expect(new URL(out.redirect).searchParams.get('state')).toBeTruthy();
    expect(out.status).toBe(400);
    expect(app.store.size).toBe(0);
    expect(await h.admin.team(B).installation()).toMatchObject({ installed: false, tokens: [] });
  });

  it('serves a readable authorize page; its Allow button redirects with code and state', async () => {
    const q = new URLSearchParams({
      client_id: CLIENT_ID,
      scope: 'chat:write,channels:read',
      redirect_uri: `${app.url}/slack/oauth_redirect`,
      state: 's-1',
      team: B,
    });
    const pageRes = await fetch(`${h.emu.url}/oauth/v2/authorize?${q.toString()}`);
    expect(pageRes.status).toBe(200);
    const html = await pageRes.text();
    expect(html).toContain('Allow');
    expect(html).toContain('chat:write');
    const form = new URLSearchParams({ ...Object.fromEntries(q), who: `${B}|U0ASHA`, decision: 'allow' });
    form.delete('team');
    const clicked = await fetch(`${h.emu.url}/oauth/v2/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    expect(clicked.status).toBe(302);
    const to = new URL(clicked.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe(`${app.url}/slack/oauth_redirect`);
    expect(to.searchParams.get('state')).toBe('s-1');
    expect(to.searchParams.get('code')).toBeTruthy();

    const bad = (over: Record<string, string>) =>
      fetch(`${h.emu.url}/oauth/v2/authorize?${new URLSearchParams({ ...Object.fromEntries(q), ...over }).toString()}`);
    expect((await bad({ client_id: 'someone-else' })).status).toBe(400);
    expect((await bad({ redirect_uri: 'http://127.0.0.1:9/evil' })).status).toBe(400);
    expect((await bad({ scope: '' })).status).toBe(400);
  });

  it('oauth.v2.access checks the code, the client and the redirect_uri (and accepts HTTP Basic auth)', async () => {
    const anon = h.clientFor('');
    const codeFor = async () =>
      new URL(
        (
          await h.admin.authorizeOAuth({
            client_id: CLIENT_ID,
            scope: 'chat:write',
            redirect_uri: `${app.url}/slack/oauth_redirect`,
            team: B,
          })
        ).redirect,
      ).searchParams.get('code')!;
    const base = {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uri: `${app.url}/slack/oauth_redirect`,
    };
    let code = await codeFor();
    expect(await slackError(anon.oauth.v2.access({ ...base, code, client_id: 'nope' }))).toBe('invalid_client_id');
    expect(await slackError(anon.oauth.v2.access({ ...base, code, client_secret: 'nope' }))).toBe('bad_client_secret');
    expect(await slackError(anon.oauth.v2.access({ ...base, code, redirect_uri: `${app.url}/other` }))).toBe(
      'bad_redirect_uri',
    );
    expect(await slackError(anon.oauth.v2.access({ ...base, code, grant_type: 'password' as never }))).toBe(
      'invalid_grant_type',
    );
    // Client credentials in the Authorization header, as Slack recommends.
    const res = await fetch(`${h.emu.apiUrl}oauth.v2.access`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ code, redirect_uri: base.redirect_uri }).toString(),
    });
    const ok = (await res.json()) as Obj;
    expect(ok).toMatchObject({ ok: true, team: { id: B }, enterprise: null, is_enterprise_install: false });
    expect(await slackError(anon.oauth.v2.access({ ...base, code }))).toBe('invalid_code');
    code = await codeFor();
    expect((await anon.oauth.v2.access({ ...base, code })).access_token).toBe(ok.access_token);
  });

  it('token rotation: expiring tokens, refresh through InstallProvider.authorize, single-use refresh tokens', async () => {
    await h.admin.oauthConfig({ tokenRotation: true, tokenExpiresInSec: 3600 });
    expect((await app.install(B, 'U0ASHA')).status).toBe(200);
    const first = app.store.get(B)!;
    expect(first.bot!.token).toMatch(/^xoxe\.xoxb-/);
    expect(first.bot!.refreshToken).toMatch(/^xoxe-1-/);
    expect(first.bot!.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(first.user.refreshToken).toMatch(/^xoxe-1-/);
    const oldBot = first.bot!.token;
    const oldRefresh = first.bot!.refreshToken!;

    // An hour left is inside InstallProvider's refresh window: authorize() rotates and stores the new pair.
    const auth = await app.installer.authorize({ teamId: B, enterpriseId: undefined, isEnterpriseInstall: false });
    expect(auth.botToken).toMatch(/^xoxe\.xoxb-/);
    expect(auth.botToken).not.toBe(oldBot);
    expect(app.store.get(B)!.bot!.refreshToken).not.toBe(oldRefresh);
    expect((await h.clientFor(auth.botToken!).auth.test()).team_id).toBe(B);
    // The previous access token lives until it expires; the used refresh token is dead.
    expect((await h.clientFor(oldBot).auth.test()).ok).toBe(true);
    const again = await slackError(
      h.clientFor('').oauth.v2.access({
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_type: 'refresh_token',
        refresh_token: oldRefresh,
      }),
    );
    expect(again).toBe('invalid_refresh_token');
    // Forced expiry (a token dying mid-flow): token_expired until refreshed.
    await h.admin.team(B).expireTokens(auth.botToken);
    expect(await slackError(h.clientFor(auth.botToken!).chat.postMessage({ channel: 'C0PAYMENTS', text: 'x' }))).toBe(
      'token_expired',
    );
  });

  it('uninstalling one workspace revokes only its tokens, sends its events, and stops its events', async () => {
    expect((await app.install(B, 'U0ASHA')).status).toBe(200);
    const b = app.store.get(B)!;
    const acme = h.admin.team(B);
    await acme.uninstall();
    const gone = await waitUntil(() => envelopes().find((e) => e.event.type === 'tokens_revoked'));
    expect(gone).toMatchObject({ team_id: B, event: { tokens: { oauth: ['U0ASHA'], bot: ['U0ACMEBOT'] } } });
    expect(envelopes().find((e) => e.event.type === 'app_uninstalled')).toMatchObject({ team_id: B });
    expect(await slackError(h.clientFor(b.bot!.token).auth.test())).toBe('token_revoked');
    expect(await slackError(h.clientFor(b.user.token!).auth.test())).toBe('token_revoked');
    expect((await h.client.auth.test()).team_id).toBe('T0THREADLN');

    events.received.length = 0;
    await acme.postMessage({ user: 'U0BILAL', channel: 'C0PAYMENTS', text: 'after uninstall' });
    await h.admin.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: 'sandbox still installed' });
    await waitUntil(() => envelopes().find((e) => e.event.text === 'sandbox still installed'));
    expect(envelopes().filter((e) => e.team_id === B)).toHaveLength(0);
    expect((await acme.deliveries()).filter((d) => d.body.includes('after uninstall'))).toHaveLength(0);

    // A reinstall issues fresh tokens and events flow again.
    expect((await app.install(B, 'U0ASHA')).status).toBe(200);
    expect(app.store.get(B)!.bot!.token).not.toBe(b.bot!.token);
  });

  it('auth.revoke of a user token sends tokens_revoked for that person and keeps the installation', async () => {
    expect((await app.install('T0THREADLN', 'U0ALICE')).status).toBe(200);
    const userToken = app.store.get('T0THREADLN')!.user.token!;
    expect(((await h.clientFor(userToken).auth.revoke({})) as Obj).revoked).toBe(true);
    const ev = await waitUntil(() => envelopes().find((e) => e.event.type === 'tokens_revoked'));
    expect(ev.event.tokens).toEqual({ oauth: ['U0ALICE'], bot: [] });
    expect(envelopes().find((e) => e.event.type === 'app_uninstalled')).toBeUndefined();
    expect(await slackError(h.clientFor(userToken).auth.test())).toBe('token_revoked');
    expect((await h.client.auth.test()).ok).toBe(true);
  });
});
