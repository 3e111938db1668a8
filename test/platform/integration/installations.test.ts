import { createSecretKey, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Installation } from '@slack/oauth';
import { computeSlackSignature } from '../../../src/integrations/slack/signature.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { slackMessagesRepo } from '../../../src/platform/db/repositories.js';
import { installationsRepo } from '../../../src/platform/installations/store.js';
import { createTokenCipher } from '../../../src/platform/installations/token-cipher.js';
import { startApiOnly } from '../../helpers/api-only.js';

const key = (id: string, fill: number) => ({ id, key: createSecretKey(Buffer.alloc(32, fill)) });
const uniqueTeam = () => `T${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;

function installation(team: string, token: string, refresh?: string): Installation {
  return {
    team: { id: team, name: 'Test team' },
    enterprise: undefined,
    user: { id: 'U0ADMIN', token: undefined, scopes: undefined },
    bot: {
      token,
      scopes: ['chat:write'],
      id: 'B0BOT',
      userId: 'U0BOT',
      ...(refresh ? { refreshToken: refresh, expiresAt: Math.floor(Date.now() / 1000) + 3600 } : {}),
    },
    appId: 'A0APP',
    isEnterpriseInstall: false,
    authVersion: 'v2',
  };
}

describe('installation store (Postgres, sealed tokens)', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await pool.end();
  });

  it('re-encrypts every token with the new key after a key rotation; the old key can then go', async () => {
    const team = uniqueTeam();
    const token = `xoxb-${randomUUID()}`;
    const refresh = `xoxe-1-${randomUUID()}`;
    const old = installationsRepo(pool, createTokenCipher({ keys: [key('old', 1)] }));
    expect(await old.save(installation(team, token, refresh))).toEqual({
      installationId: team,
      previousStatus: undefined,
    });
    const rotated = installationsRepo(pool, createTokenCipher({ keys: [key('new', 2), key('old', 1)] }));
    const done = await rotated.reencrypt();
    expect(done.installations).toBeGreaterThanOrEqual(1);
    expect(done.unreadable).not.toContain(team);
    // A row sealed with a key that is gone is reported, and does not stop the others.
    const lost = uniqueTeam();
    await installationsRepo(pool, createTokenCipher({ keys: [key('gone', 9)] })).save(installation(lost, 'xoxb-lost'));
    expect((await rotated.reencrypt()).unreadable).toContain(lost);
    const onlyNew = installationsRepo(pool, createTokenCipher({ keys: [key('new', 2)] }));
    expect((await onlyNew.botCredentials(team))?.credentials).toMatchObject({ token, refreshToken: refresh });
    expect((await onlyNew.info(team))?.tokenKeyId).toBe('new');
    const raw = await pool.query<{ row: string }>(
      'SELECT row_to_json(i)::text AS row FROM slack_installations i WHERE installation_id = $1',
      [team],
    );
    expect(raw.rows[0]!.row).not.toContain(token);
    expect(raw.rows[0]!.row).not.toContain(refresh);
  });

  it('two concurrent rotations spend the single-use refresh token once; the second sees the fresh token', async () => {
    const team = uniqueTeam();
    const repo = installationsRepo(pool, createTokenCipher({ keys: [key('k', 3)] }));
    await repo.save(installation(team, 'xoxe.xoxb-first', 'xoxe-1-refresh-first'));
    let spent = 0;
    const refresh = async (rt: string) => {
      spent++;
      expect(rt).toBe('xoxe-1-refresh-first');
      await new Promise((r) => setImmediate(r));
      return { token: 'xoxe.xoxb-second', refreshToken: 'xoxe-1-refresh-second', expiresInSec: 43_200 };
    };
    const both = await Promise.all(
      [0, 1].map(() =>
        repo.rotate({ installationId: team, minValidUntilMs: Date.now(), rejected: 'xoxe.xoxb-first', refresh }),
      ),
    );
    expect(spent).toBe(1);
    expect(both.map((c) => c.token)).toEqual(['xoxe.xoxb-second', 'xoxe.xoxb-second']);
  });

  it('thread lookups match on the workspace: the same channel and ts in two workspaces never cross', async () => {
    const messages = slackMessagesRepo(pool);
    const [a, b] = [uniqueTeam(), uniqueTeam()];
    const ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    for (const team of [a, b]) {
      await messages.record({
        subject: `payment:${team}`,
        channel: 'C0SAMEID',
        ts,
        threadTs: null,
        purpose: 'root',
        idempotencyKey: `payment:${team}:root`,
        teamId: team,
      });
    }
    expect((await messages.ownerOf({ teamId: a, channel: 'C0SAMEID', ts }))?.subject).toBe(`payment:${a}`);
    expect((await messages.ownerOf({ teamId: b, channel: 'C0SAMEID', ts }))?.subject).toBe(`payment:${b}`);
    expect(await messages.ownerOf({ teamId: uniqueTeam(), channel: 'C0SAMEID', ts })).toBeUndefined();
  });
});

describe('signing-secret rotation over HTTP (POST /slack/commands)', () => {
  const help = (secret: string) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const body = new URLSearchParams({
      command: '/threadline',
      text: 'help',
      user_id: 'U0ALICE',
      channel_id: 'C0PAYMENTS',
      team_id: 'T0THREADLN',
      response_url: 'https://hooks.slack.com/commands/T0THREADLN/1/x',
      trigger_id: `trig-${randomUUID()}`,
    }).toString();
    return {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': computeSlackSignature(secret, ts, body),
      },
      body,
    };
  };

  it('accepts the old and the new secret during the overlap window, and only the new one after it', async () => {
    const during = await startApiOnly({
      env: {
        SLACK_SIGNING_SECRET: 'the-new-secret',
        SLACK_SIGNING_SECRET_PREVIOUS: 'the-old-secret',
        SLACK_SIGNING_SECRET_PREVIOUS_UNTIL: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    const after = await startApiOnly({
      env: {
        SLACK_SIGNING_SECRET: 'the-new-secret',
        SLACK_SIGNING_SECRET_PREVIOUS: 'the-old-secret',
        SLACK_SIGNING_SECRET_PREVIOUS_UNTIL: new Date(Date.now() - 1000).toISOString(),
      },
    });
    try {
      const send = (api: string, secret: string) => fetch(`${api}/slack/commands`, help(secret));
      const okNew = await send(during.api.url, 'the-new-secret');
      expect(okNew.status).toBe(200);
      expect(JSON.stringify(await okNew.json())).toContain('/threadline status');
      expect((await send(during.api.url, 'the-old-secret')).status).toBe(200);
      expect((await send(during.api.url, 'a-wrong-secret')).status).toBe(401);
      expect((await send(after.api.url, 'the-new-secret')).status).toBe(200);
      const late = await send(after.api.url, 'the-old-secret');
      expect(late.status).toBe(401);
      expect(await late.json()).toMatchObject({ error: 'bad_signature' });
    } finally {
      await during.api.close();
      await after.api.close();
    }
  });

  it('serves the install routes only with OAuth configured, and asks for the manifest’s bot scopes', async () => {
    const { api } = await startApiOnly();
    try {
      const res = await fetch(`${api.url}/slack/install`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      const to = new URL(res.headers.get('location')!);
      const { buildSlackManifest } = await import('../../../src/platform/slack/manifest.js');
      const { flows } = await import('../../../src/flows/index.js');
      const manifest = buildSlackManifest({ flows, socketMode: true });
      expect(to.searchParams.get('scope')!.split(',').sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
      expect(to.searchParams.get('redirect_uri')).toBe(`${api.url}/slack/oauth_redirect`);
      // Every URL of the HTTP manifest is a route this API serves.
      const http = buildSlackManifest({ flows, socketMode: false, url: 'https://threadline.example.com' });
      const urls = [
        http.settings.event_subscriptions.request_url,
        http.settings.interactivity.request_url,
        ...http.features.slash_commands.map((c) => c.url),
      ];
      for (const u of urls) expect(api.app.hasRoute({ method: 'POST', url: new URL(u!).pathname }), u).toBe(true);
      for (const u of http.oauth_config.redirect_urls ?? [])
        expect(api.app.hasRoute({ method: 'GET', url: new URL(u).pathname }), u).toBe(true);
      expect(res.headers.get('set-cookie')).toBeTruthy();
      // A redirect without a valid state is refused with a page a person can read.
      const forged = await fetch(`${api.url}/slack/oauth_redirect?code=abc&state=forged`);
      expect(forged.status).toBe(400);
      expect(await forged.text()).toContain('Not installed');
    } finally {
      await api.close();
    }
    const single = await startApiOnly({ sandbox: false });
    try {
      expect((await fetch(`${single.api.url}/slack/install`, { redirect: 'manual' })).status).toBe(404);
    } finally {
      await single.api.close();
    }
  });
});
