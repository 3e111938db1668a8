import { createSnapshotter } from '../shared/snapshot.js';
import { randomBytes } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_SLACK_EMULATOR_PORT } from '../shared/defaults.js';
import { FaultRegistry } from '../shared/faults.js';
import { TokenBuckets } from '../shared/token-bucket.js';
import { registerAdminRoutes } from './admin.js';
import { registerIncomingWebhooks } from './incoming-webhooks.js';
import { registerPlatformAdminRoutes } from './admin-platform.js';
import { oauthMethods, registerOAuthRoutes } from './oauth.js';
import type { AppUrls, OutboundOptions } from './outbound.js';
import { SlackPlatform } from './platform.js';
import type { CallLogEntry, OAuthConfig, SnapshotData } from './platform.js';
import { defaultSlackSeed, secondSlackSeed } from './seed.js';
import type { SlackSeed } from './seed.js';
import { SocketModeHub } from './socket-mode.js';
import { LiveUpdates } from '../shared/ui/server.js';
import { registerSlackUi } from './ui/routes.js';
import type { TokenKind, TokenRecord } from './tokens.js';
import { ApiError, methods } from './web-api.js';
import type { ApiContext, MethodSpec, Tier } from './web-api.js';
import { adminMethods } from './web-api-admin.js';
import type { Workspace } from './workspace.js';
import type { Obj, ScheduledMessage } from './workspace.js';

export interface SlackEmulatorOptions {
  port?: number;
  host?: string;
  botToken: string;
  signingSecret: string;
  appUrls?: AppUrls;
  rateLimits?: boolean;
  /** Delays before each Events API retry; Slack: almost at once, 1 min, 5 min. */
  eventRetryDelaysMs?: number[];
  deliveryTimeoutMs?: number;
  /** The primary workspace: installed at start with `botToken`; the admin API's `/_admin` acts on it. */
  seed?: SlackSeed;
  /**
   * More workspaces the same app can be installed in (default: the second seed, which reuses the
   * primary's channel ids). Not installed until an OAuth install, unless their seed has a bot token.
   */
  teams?: SlackSeed[];
  /** More user tokens of the primary workspace (e.g. an admin's, for admin.users.invite). */
  userTokens?: { token: string; user: string; scopes: string[] }[];
  /** An app-level token (`xapp-…`, scope `connections:write`) for `apps.connections.open`. */
  appToken?: string;
  /** The app's Socket Mode switch: deliver events, interactivity and commands over WebSocket. */
  socketMode?: boolean;
  /** How long Socket Mode waits for an ack (Slack: 3 s); tests may shorten it. */
  socketAckTimeoutMs?: number;
  /** The app's OAuth settings; without client credentials any client id/secret is accepted. */
  oauth?: Partial<OAuthConfig>;
  snapshotPath?: string;
  logger?: { info(...a: unknown[]): void; warn(...a: unknown[]): void };
  /** How long a trigger_id stays valid (Slack: 3 s); tests shorten it instead of sleeping. */
  triggerTtlMs?: number;
}

export interface SlackEmulator {
  url: string;
  apiUrl: string;
  /** Base URL of a workspace's admin API (`SlackEmulatorAdmin` takes it); the primary's is `url`. */
  teamUrl(teamId: string): string;
  stop(): Promise<void>;
  setAppUrls(urls: AppUrls): void;
}

export type { CallLogEntry, EmulatorCore } from './platform.js';

const SNAPSHOT_VERSION = 2;

// Per-workspace method budgets per minute (Slack's tiers) with a short burst.
const TIER_LIMITS: Record<Exclude<Tier, 'post'>, { perMin: number; burst: number }> = {
  1: { perMin: 1, burst: 2 },
  2: { perMin: 20, burst: 5 },
  3: { perMin: 50, burst: 10 },
  4: { perMin: 100, burst: 20 },
};

/** Slack's token prefixes tell token types apart before any lookup. */
const tokenKindOf = (t: string): TokenKind | undefined =>
  t.startsWith('xapp-') ? 'app' : t.startsWith('xoxp-') || t.startsWith('xoxe.xoxp-') ? 'user' : undefined;

export async function startSlackEmulator(opts: SlackEmulatorOptions): Promise<SlackEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_SLACK_EMULATOR_PORT;
  const log = opts.logger;
  let baseUrl = '';

  // What every workspace shares: the app's URLs, signing secret and retry policy.
  const outboundOpts: OutboundOptions = {
    signingSecret: opts.signingSecret,
    appUrls: { ...opts.appUrls },
    eventRetryDelaysMs: opts.eventRetryDelaysMs ?? [1000, 60_000, 300_000],
    deliveryTimeoutMs: opts.deliveryTimeoutMs ?? 3000,
    verificationToken: 'emulator-verification-token',
    baseUrl: () => baseUrl,
    ...(log ? { logger: log } : {}),
  };
  const primarySeed = opts.seed ?? defaultSlackSeed;
  const socket = new SocketModeHub(
    {
      ackTimeoutMs: opts.socketAckTimeoutMs ?? 3000,
      maxConnections: 10,
      ticketTtlMs: 30_000,
      pingIntervalMs: 10_000,
      disconnectGraceMs: 1000,
      ...(log ? { logger: log } : {}),
    },
    primarySeed.app.id,
    () => baseUrl,
  );
  socket.enabled = opts.socketMode ?? false;
  const platform = new SlackPlatform({
    botToken: opts.botToken,
    appToken: opts.appToken,
    userTokens: opts.userTokens ?? [],
    oauth: { redirectUris: [], tokenRotation: false, tokenExpiresInSec: 43_200, ...opts.oauth },
    socket,
    baseUrl: () => baseUrl,
    logger: log,
  });

  const faults = new FaultRegistry();
  const calls: CallLogEntry[] = [];
  const triggerTtlMs = { value: opts.triggerTtlMs ?? 3000 };
  const rateLimits = { enabled: opts.rateLimits ?? true };
  const postBuckets = new TokenBuckets(1, 3);
  const tierBuckets = {
    1: new TokenBuckets(TIER_LIMITS[1].perMin / 60, TIER_LIMITS[1].burst),
    2: new TokenBuckets(TIER_LIMITS[2].perMin / 60, TIER_LIMITS[2].burst),
    3: new TokenBuckets(TIER_LIMITS[3].perMin / 60, TIER_LIMITS[3].burst),
    4: new TokenBuckets(TIER_LIMITS[4].perMin / 60, TIER_LIMITS[4].burst),
  };

  // ---- scheduled messages (per workspace) ----
  const scheduleTimers = new Set<NodeJS.Timeout>();
  const schedulerFor = (ws: Workspace) => {
    const schedule = (s: ScheduledMessage) => {
      const delay = s.post_at * 1000 - Date.now();
      // setTimeout caps at ~24.8 days; chain longer waits.
      const step = Math.min(Math.max(delay, 0), 2 ** 31 - 1);
      const t = setTimeout(() => {
        scheduleTimers.delete(t);
        if (s.state !== 'pending') return;
        // Timers may fire a little early by the wall clock: never post before post_at.
        if (s.post_at * 1000 > Date.now()) return schedule(s);
        const ch = ws.channel(s.channel);
        // Slack silently never posts a scheduled message that carries metadata.
        if (s.metadata || !ch || ch.is_archived) {
          s.state = 'dropped';
          ws.onChange();
          return;
        }
        const m = ws.post(ch, {
          user: ws.botUserId,
          bot: true,
          text: s.text,
          ...(s.blocks ? { blocks: s.blocks } : {}),
          ...(s.thread_ts && ws.message(ch, s.thread_ts) ? { thread_ts: s.thread_ts } : {}),
        });
        s.state = 'posted';
        s.posted_ts = m.ts;
        ws.onChange();
      }, step);
      scheduleTimers.add(t);
    };
    return schedule;
  };

  const snapshot = createSnapshotter<SnapshotData>({
    path: opts.snapshotPath,
    version: SNAPSHOT_VERSION,
    data: () => platform.snapshotData(),
    debounceMs: 200,
    warn: (msg, err) => log?.warn(`slack-emulator: ${msg}`, err),
  });

  // Open sandbox views (the web UI at `/`) refresh when their workspace changes.
  const live = new LiveUpdates();
  const resetAll = () => {
    for (const t of scheduleTimers) clearTimeout(t);
    scheduleTimers.clear();
    for (const team of platform.teams.values()) {
      team.ws.reset();
      team.outbound.deliveries.length = 0;
      team.outbound.triggers.clear();
    }
    platform.loadSeedTokens();
    platform.codes.clear();
    socket.reset();
    faults.clear();
    postBuckets.reset();
    for (const b of Object.values(tierBuckets)) b.reset();
    calls.length = 0;
    snapshot.scheduleSave();
    for (const id of platform.teams.keys()) live.changed(id);
  };

  const seeds = [primarySeed, ...(opts.teams ?? [secondSlackSeed])];
  for (const [i, seed] of seeds.entries()) {
    const team = platform.addTeam({
      seed,
      primary: i === 0,
      outboundOpts,
      core: ({ ws, outbound }) => ({
        ws,
        outbound,
        faults,
        rateLimits,
        calls,
        triggerTtlMs,
        platform,
        resetAll,
        uninstall: () => platform.uninstall(ws.teamId),
        issueOAuthCode: (user) => {
          const code = `${Date.now()}.${randomBytes(12).toString('hex')}`;
          platform.codes.set(code, {
            issuedAt: Date.now(),
            teamId: ws.teamId,
            user,
            scopes: [...ws.seed.botScopes],
            userScopes: [],
          });
          return code;
        },
        schedule: schedulerFor(ws),
      }),
    });
    team.ws.onChange = () => {
      snapshot.scheduleSave();
      live.changed(team.ws.teamId);
    };
    team.ws.onMessage = (c) => team.outbound.onMessage(c);
    team.ws.onReaction = (c) => team.outbound.onReaction(c);
    team.ws.onMembership = (c) => team.outbound.onMembership(c);
  }
  platform.changed = () => snapshot.scheduleSave();
  platform.loadSeedTokens();
  const saved = snapshot.load();
  if (saved) platform.loadSnapshot(saved);
  for (const team of platform.teams.values())
    for (const s of team.ws.data.scheduled) if (s.state === 'pending') team.core.schedule(s);

  // `#payments` and `C0PAYMENTS` are the same channel, so they share one posting budget.
  const channelKey = (ws: Workspace, ref: unknown): string => {
    if (typeof ref !== 'string') return '';
    return ws.channelByName(ref.replace(/^#/, ''))?.id ?? ref;
  };

  // A fault's `channel` is an id; a call may name the conversation by name or, for a DM, by user id.
  const faultChannel = (ws: Workspace, ref: unknown): string | undefined => {
    if (typeof ref !== 'string') return undefined;
    if (/^[UW][A-Z0-9]+$/.test(ref)) {
      return Object.values(ws.data.channels).find((c) => c.is_im && c.im_user === ref)?.id ?? ref;
    }
    return channelKey(ws, ref);
  };

  const app = Fastify({ logger: false, bodyLimit: 5 * 1024 * 1024 });
  // Whatever an answer reports is on disk before the answer leaves (a kill -9 loses nothing answered).
  app.addHook('onSend', async () => snapshot.flush());
  await app.register(fastifyFormbody);
  // Anything else (text/plain, no content type) is kept as a string; Slack is lenient about it.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const logCall = (method: string, args: Obj, status: number, body: Obj, team?: string) => {
    const { token: _t, client_secret: _s, refresh_token: _r, code: _c, ...rest } = args;
    calls.push({
      at: new Date().toISOString(),
      method,
      args: rest,
      status,
      ok: body.ok === true,
      ...(typeof body.error === 'string' ? { error: body.error } : {}),
      ...(team ? { team } : {}),
    });
    if (calls.length > 5000) calls.splice(0, calls.length - 5000);
  };

  const allMethods: Record<string, MethodSpec> = {
    ...methods,
    ...oauthMethods(platform),
    ...adminMethods(socket),
  };

  const apiHandler = async (request: FastifyRequest<{ Params: { method: string } }>, reply: FastifyReply) => {
    const method = request.params.method;
    void reply.header('x-slack-req-id', randomBytes(16).toString('hex'));
    const args: Obj = { ...(request.query as Obj) };
    const body = request.body;
    if (body && typeof body === 'object') Object.assign(args, body as Obj);
    else if (typeof body === 'string' && body.length > 0) {
      try {
        Object.assign(args, JSON.parse(body) as Obj);
      } catch {
        Object.assign(args, Object.fromEntries(new URLSearchParams(body)));
      }
    }
    let teamId: string | undefined;
    const send = (status: number, payload: Obj, headers: Record<string, string> = {}) => {
      logCall(method, args, status, payload, teamId);
      return reply.code(status).headers(headers).send(payload);
    };

    const spec = allMethods[method];
    if (!spec) return send(404, { ok: false, error: 'unknown_method', req_method: method });

    const fault = faults.take(method, { channel: faultChannel(platform.primary.ws, args.channel) });
    if (fault) {
      if (fault.kind === 'error') return send(200, { ok: false, error: fault.error ?? 'internal_error' });
      if (fault.kind === 'status') return send(fault.status ?? 500, { ok: false, error: fault.error ?? 'fatal_error' });
      if (fault.kind === 'ratelimit')
        return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfter ?? 1) });
      if (fault.kind === 'latency') await new Promise((r) => setTimeout(r, fault.latencyMs ?? 1000));
    }

    const authz = request.headers.authorization;
    let team = platform.primary;
    let token: TokenRecord | undefined;
    if (spec.noAuth) {
      // Client credentials may come as HTTP Basic auth (what Slack recommends) instead of fields.
      if (authz?.startsWith('Basic ') && args.client_id === undefined) {
        const decoded = Buffer.from(authz.slice(6), 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        if (i > 0) {
          args.client_id = decoded.slice(0, i);
          args.client_secret = decoded.slice(i + 1);
        }
      }
    } else {
      const bearer = authz?.startsWith('Bearer ') ? authz.slice(7).trim() : '';
      const raw = bearer || (typeof args.token === 'string' ? args.token : '');
      if (!raw) return send(200, { ok: false, error: 'not_authed' });
      token = platform.tokens.get(raw);
      const kind = token?.kind ?? tokenKindOf(raw);
      if (kind && !(spec.tokenTypes ?? ['bot', 'user']).includes(kind))
        return send(200, { ok: false, error: 'not_allowed_token_type' });
      if (!token) return send(200, { ok: false, error: 'invalid_auth' });
      if (token.revoked) return send(200, { ok: false, error: 'token_revoked' });
      if (token.expiresAt !== undefined && Date.now() > token.expiresAt)
        return send(200, { ok: false, error: 'token_expired' });
      if (token.kind !== 'app') {
        const t = platform.team(token.teamId);
        if (!t) return send(200, { ok: false, error: 'invalid_auth' });
        team = t;
        teamId = t.ws.teamId;
        // A deactivated person's user token is dead.
        if (token.kind === 'user' && t.ws.user(token.userId)?.deleted)
          return send(200, { ok: false, error: 'account_inactive' });
      }
    }
    const { ws } = team;

    if (rateLimits.enabled) {
      // Limits are per workspace (app-level calls share the app's own budget).
      const scope = teamId ?? 'app';
      const taken =
        spec.tier === 'post'
          ? postBuckets.take(`${scope}:${method}:${channelKey(ws, args.channel)}`)
          : tierBuckets[spec.tier].take(`${scope}:${method}`);
      if (!taken.ok)
        return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(taken.retryAfterSec) });
    }

    const scopes = token?.scopes ?? [];
    if (!spec.noAuth && spec.scopes && !spec.scopes.some((s) => scopes.includes(s)))
      return send(200, {
        ok: false,
        error: 'missing_scope',
        needed: spec.scopes.join(','),
        provided: scopes.join(','),
      });

    const ctx: ApiContext = {
      ws,
      scopes,
      actorId: token?.kind === 'user' ? token.userId : ws.botUserId,
      isBot: token?.kind !== 'user',
      ...(token ? { token } : {}),
      triggers: team.outbound.triggers,
      triggerTtlMs: triggerTtlMs.value,
      schedule: team.core.schedule,
      platform,
    };
    let result: Obj;
    try {
      result = { ok: true, ...spec.handler(args, ctx) };
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      result = { ok: false, ...(err.error ? { error: err.error } : {}), ...err.extra };
    }
    if (fault?.kind === 'commit_then_timeout') {
      // The call took effect; the caller never hears back (what a lost response looks like).
      logCall(method, args, 0, result, teamId);
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    return send(200, result);
  };
  app.route({ method: ['GET', 'POST'], url: '/api/:method', handler: apiHandler });

  registerOAuthRoutes(app, platform);
  // The primary workspace's admin API lives at /_admin (as before); every workspace also has its own prefix.
  registerAdminRoutes(app, platform.primary.core);
  registerPlatformAdminRoutes(app, platform.primary.core);
  await registerIncomingWebhooks(app, { platform, faults, rateLimits, postBuckets, baseUrl: () => baseUrl });
  for (const team of platform.teams.values())
    await app.register(
      async (scoped) => {
        registerAdminRoutes(scoped, team.core);
        registerPlatformAdminRoutes(scoped, team.core);
      },
      { prefix: team.prefix },
    );
  registerSlackUi(app, platform, live);
  socket.attach(app.server);

  await app.listen({ host, port });
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  baseUrl = `http://${host}:${actualPort}`;
  log?.info(`slack-emulator listening on ${baseUrl}`);

  return {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    teamUrl(teamId: string) {
      const team = platform.team(teamId);
      if (!team) throw new Error(`slack emulator: no workspace ${teamId}`);
      return `${baseUrl}${team.prefix}`;
    },
    setAppUrls(urls: AppUrls) {
      outboundOpts.appUrls = { ...urls };
    },
    async stop() {
      for (const team of platform.teams.values()) team.outbound.stop();
      for (const t of scheduleTimers) clearTimeout(t);
      scheduleTimers.clear();
      await socket.close();
      await app.close();
      snapshot.saveNow();
    },
  };
}
