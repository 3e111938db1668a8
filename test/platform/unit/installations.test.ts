import { createHmac, createSecretKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { PRODUCTION_CHANNELS } from '../../helpers/production-env.js';
import { flows } from '../../../src/flows/index.js';
import { createTokenCipher } from '../../../src/platform/installations/token-cipher.js';
import { PayloadDecryptionError } from '../../../src/platform/temporal/codec.js';
import { verifySlackSignatureRotating } from '../../../src/integrations/slack/signature.js';
import { buildSlackManifest, botScopesFor, SLACK_BOT_EVENTS } from '../../../src/platform/slack/manifest.js';
import { buildSlackRegistry, ROOT_COMMAND } from '../../../src/platform/slack-ingress/registry.js';

const key = (id: string, fill: number) => ({ id, key: createSecretKey(Buffer.alloc(32, fill)) });

describe('token cipher (AES-256-GCM over the payload codec envelope)', () => {
  const token = 'xoxb-1111-2222-secretsecretsecret';

  it('seals so the stored bytes never hold the token, and opens it again', async () => {
    const c = createTokenCipher({ keys: [key('k1', 1)] });
    const sealed = await c.seal(token, 'T1:bot');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.sealed.toString('latin1')).not.toContain(token);
    expect(sealed.sealed.toString('base64')).not.toContain(Buffer.from(token).toString('base64'));
    expect(await c.open(sealed, 'T1:bot')).toBe(token);
    // A fresh nonce each time: the same token never seals to the same bytes.
    expect((await c.seal(token, 'T1:bot')).sealed.equals(sealed.sealed)).toBe(false);
  });

  it("refuses a sealed token copied into another workspace's row", async () => {
    const c = createTokenCipher({ keys: [key('k1', 1)] });
    const sealed = await c.seal(token, 'T1:bot');
    await expect(c.open(sealed, 'T2:bot')).rejects.toBeInstanceOf(PayloadDecryptionError);
    const tampered = { ...sealed, sealed: Buffer.from(sealed.sealed) };
    tampered.sealed[tampered.sealed.length - 1]! ^= 1;
    await expect(c.open(tampered, 'T1:bot')).rejects.toThrow();
  });

  it('rotates keys: the first key seals, every configured key opens, an unknown key id is an error', async () => {
    const old = createTokenCipher({ keys: [key('k1', 1)] });
    const sealedOld = await old.seal(token, 'T1:bot');
    const rotated = createTokenCipher({ keys: [key('k2', 2), key('k1', 1)] });
    expect(rotated.currentKeyId).toBe('k2');
    expect(await rotated.open(sealedOld, 'T1:bot')).toBe(token);
    expect((await rotated.seal(token, 'T1:bot')).keyId).toBe('k2');
    const onlyNew = createTokenCipher({ keys: [key('k2', 2)] });
    expect(onlyNew.knows('k1')).toBe(false);
    await expect(onlyNew.open(sealedOld, 'T1:bot')).rejects.toThrow();
  });
});

describe('signing-secret rotation', () => {
  const sign = (secret: string, ts: string, body: string) =>
    `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  const body = 'token=x&team_id=T1&command=%2Fthreadline';
  const now = 1_800_000_000;
  const ts = String(now);
  const until = (now + 3600) * 1000;
  const secrets = [{ secret: 'new-secret' }, { secret: 'old-secret', untilMs: until }];
  const check = (secret: string, nowSeconds: number) =>
    verifySlackSignatureRotating({
      secrets,
      timestamp: String(nowSeconds),
      signature: sign(secret, String(nowSeconds), body),
      rawBody: body,
      nowSeconds,
    });

  it('accepts both secrets during the overlap window, and says which one matched', () => {
    expect(check('new-secret', now)).toEqual({ ok: true, which: 0 });
    expect(check('old-secret', now)).toEqual({ ok: true, which: 1 });
  });

  it('accepts only the new secret once the window has ended; a wrong secret never', () => {
    const after = now + 3601;
    expect(check('new-secret', after)).toEqual({ ok: true, which: 0 });
    expect(check('old-secret', after)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check('someone-else', now)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('keeps the replay window: an old timestamp is refused whichever secret signed it', () => {
    const stale = verifySlackSignatureRotating({
      secrets,
      timestamp: ts,
      signature: sign('old-secret', ts, body),
      rawBody: body,
      nowSeconds: now + 600,
    });
    expect(stale.ok).toBe(false);
    expect(stale.ok ? undefined : stale.reason).not.toBe('bad_signature');
  });

  it('config: the previous secret needs its end of overlap, and both are loaded', () => {
    const base = { THREADLINE_SANDBOX: 'true', SLACK_SIGNING_SECRET: 'new-secret' };
    expect(() => loadConfig({ ...base, SLACK_SIGNING_SECRET_PREVIOUS: 'old-secret' })).toThrow(ConfigError);
    const c = loadConfig({
      ...base,
      SLACK_SIGNING_SECRET_PREVIOUS: 'old-secret',
      SLACK_SIGNING_SECRET_PREVIOUS_UNTIL: '2027-01-01T00:00:00Z',
    });
    expect(c.slack.previousSigningSecret).toEqual({
      secret: 'old-secret',
      untilMs: Date.parse('2027-01-01T00:00:00Z'),
    });
  });
});

describe('SLACK_POST_AS (which person posts each flow’s channel messages)', () => {
  const base = { THREADLINE_SANDBOX: 'true' };
  const problemsOf = (value: string) => {
    try {
      loadConfig({ ...base, SLACK_POST_AS: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    }
    throw new Error(`SLACK_POST_AS=${value} was accepted`);
  };

  it('maps a flow name to every kind it declares, and a kind to itself', () => {
    const approvals = flows.find((f) => f.name === 'approvals')!;
    const c = loadConfig({ ...base, SLACK_POST_AS: ' approvals=U0ALICE , payment=W0OPS ' });
    expect(c.slack.postAs).toEqual({
      ...Object.fromEntries(approvals.kinds.map((k) => [k, 'U0ALICE'])),
      payment: 'W0OPS',
    });
    expect(loadConfig(base).slack.postAs).toEqual({});
  });

  it('refuses an unknown flow or kind, a malformed entry, and a kind given two people, naming the variable', () => {
    expect(problemsOf('aprovals=U0ALICE')).toMatch(/SLACK_POST_AS: "aprovals" is neither a flow nor a kind/);
    expect(problemsOf('approvals=alice@example.com')).toMatch(/SLACK_POST_AS: "approvals=alice@example.com" is not/);
    expect(problemsOf('approvals')).toMatch(/SLACK_POST_AS: "approvals" is not/);
    expect(problemsOf('approvals=U0ALICE,approval=U0BOB')).toMatch(/kind "approval" is given two people/);
  });
});

const OWN_WORKSPACE = PRODUCTION_CHANNELS;

describe('single-workspace mode', () => {
  it('needs only SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET: no OAuth, no token keys', () => {
    const c = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-real',
      SLACK_SIGNING_SECRET: 'real-secret',
      THREADLINE_API_KEYS: 'tl_real_key_000000001',
      ...OWN_WORKSPACE,
    });
    expect(c.sandbox).toBe(false);
    expect(c.slack.oauth).toBeUndefined();
    expect(c.slack.appToken).toBeUndefined();
    expect(c.slack.botToken).toBe('xoxb-real');
  });

  it('Socket Mode with your own workspace needs the bot and app tokens, no signing secret', () => {
    const c = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-real',
      SLACK_APP_TOKEN: 'xapp-1-A0-1-real',
      ...OWN_WORKSPACE,
    });
    expect(c.sandbox).toBe(false);
    expect(c.slack.appToken).toBe('xapp-1-A0-1-real');
    expect(c.slack.signingSecret).toBe('');
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xoxb-not-an-app-token' })).toThrow(/SLACK_APP_TOKEN/);
  });
});

/**
 * The scopes each Slack Web API method the code calls needs (Slack's method pages, "Required
 * scopes"; bot tokens). A method the code starts calling that is not in this table fails the
 * scan below, so the manifest cannot silently miss a scope.
 */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'conversations.history': ['channels:history', 'groups:history', 'im:history'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history'],
  'conversations.join': ['channels:join'],
  'conversations.members': ['channels:read', 'groups:read', 'im:read'],
  'conversations.open': ['im:write'],
  // Private channels only (hierarchy: `types: 'private_channel'`, `is_private: true`), so the
  // groups:* scope of each method; public/DM ones would need channels:*/im:* as well.
  'conversations.list': ['groups:read'],
  'conversations.info': ['groups:read'],
  'conversations.create': ['groups:write'],
  'conversations.invite': ['groups:write'],
  'conversations.kick': ['groups:write'],
  'users.list': ['users:read', 'users:read.email'], // membership reads each account's email
  'users.info': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'views.open': [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('app manifest generated from the code', () => {
  const committed = JSON.parse(
    readFileSync(new URL('../../../slack/manifest.json', import.meta.url), 'utf8'),
  ) as ReturnType<typeof buildSlackManifest>;

  it('slack/manifest.json is what `npm run manifest` generates now (regenerate it when this fails)', () => {
    expect(committed).toEqual(buildSlackManifest({ flows, socketMode: true }));
    expect(committed.settings.socket_mode_enabled).toBe(true);
  });

  it('declares every slash command the registry routes, and the subcommands in /threadline’s hint', () => {
    const registry = buildSlackRegistry(flows);
    const commands = committed.features.slash_commands.map((c) => c.command).sort();
    expect(commands).toEqual([ROOT_COMMAND, ...registry.commands.keys()].sort());
    const hint = committed.features.slash_commands.find((c) => c.command === ROOT_COMMAND)!.usage_hint;
    for (const sub of registry.subcommands.keys()) expect(hint).toContain(sub);
  });

  it('asks for every scope the Slack calls in src/ need, and the events the ingress acts on', () => {
    const called = new Set<string>();
    for (const file of sourceFiles(new URL('../../../src', import.meta.url).pathname)) {
      for (const m of readFileSync(file, 'utf8').matchAll(
        /slack\.(chat|conversations|users|views|reactions)\.(\w+)\(/g,
      ))
        called.add(`${m[1]}.${m[2]}`);
    }
    expect(called.size).toBeGreaterThan(5);
    const scopes = new Set(committed.oauth_config.scopes.bot);
    for (const method of called) {
      expect(METHOD_SCOPES, `add ${method}'s required scopes to METHOD_SCOPES`).toHaveProperty([method]);
      for (const s of METHOD_SCOPES[method]!) expect(scopes, `${method} needs ${s}`).toContain(s);
    }
    expect(scopes).toContain('commands');
    expect(committed.oauth_config.scopes.bot).toEqual(botScopesFor(flows));
    expect(committed.settings.event_subscriptions.bot_events).toEqual([...SLACK_BOT_EVENTS]);
  });

  it('the HTTP variant points every URL at the routes the API serves', () => {
    const m = buildSlackManifest({ flows, socketMode: false, url: 'https://threadline.example.com/' });
    expect(m.settings.socket_mode_enabled).toBe(false);
    expect(m.settings.event_subscriptions).toMatchObject({
      request_url: 'https://threadline.example.com/slack/events',
    });
    expect(m.settings.interactivity).toMatchObject({
      request_url: 'https://threadline.example.com/slack/interactions',
    });
    expect(m.oauth_config.redirect_urls).toEqual(['https://threadline.example.com/slack/oauth_redirect']);
    for (const c of m.features.slash_commands)
      expect(c).toMatchObject({ url: 'https://threadline.example.com/slack/commands' });
    expect(() => buildSlackManifest({ flows, socketMode: false })).toThrow(/--url/);
  });
});
