import { createSnapshotter } from '../shared/snapshot.js';
import { randomBytes } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_SLACK_EMULATOR_PORT } from '../shared/defaults.js';
import { FaultRegistry } from '../shared/faults.js';
import { TokenBuckets } from '../shared/token-bucket.js';
import { registerAdminRoutes } from './admin.js';
import { Outbound } from './outbound.js';
import type { AppUrls } from './outbound.js';
import { defaultSlackSeed } from './seed.js';
import type { SlackSeed } from './seed.js';
import { ApiError, methods } from './web-api.js';
import type { ApiContext, Tier } from './web-api.js';
import { Workspace } from './workspace.js';
import type { Obj, ScheduledMessage, WorkspaceData } from './workspace.js';

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
  seed?: SlackSeed;
  snapshotPath?: string;
  logger?: { info(...a: unknown[]): void; warn(...a: unknown[]): void };
  /** How long a trigger_id stays valid (Slack: 3 s); tests shorten it instead of sleeping. */
  triggerTtlMs?: number;
}

export interface SlackEmulator {
  url: string;
  apiUrl: string;
  stop(): Promise<void>;
  setAppUrls(urls: AppUrls): void;
}

export interface CallLogEntry {
  at: string;
  method: string;
  args: Obj;
  status: number;
  ok: boolean;
  error?: string;
}

/** Shared state of one emulator instance; the admin routes operate on it. */
export interface EmulatorCore {
  ws: Workspace;
  outbound: Outbound;
  faults: FaultRegistry;
  rateLimits: { enabled: boolean };
  calls: CallLogEntry[];
  oauthCodes: Map<string, { issuedAt: number; user: string }>;
  triggerTtlMs: { value: number };
  resetAll(): void;
  /** Revokes the bot token (uninstall): later calls with it answer `token_revoked`. */
  revokeBotToken(): void;
  schedule: (s: ScheduledMessage) => void;
}

const SNAPSHOT_VERSION = 1;

// Per-workspace method budgets per minute (Slack's tiers) with a short burst.
const TIER_LIMITS: Record<Exclude<Tier, 'post'>, { perMin: number; burst: number }> = {
  1: { perMin: 1, burst: 2 },
  2: { perMin: 20, burst: 5 },
  3: { perMin: 50, burst: 10 },
  4: { perMin: 100, burst: 20 },
};

export async function startSlackEmulator(opts: SlackEmulatorOptions): Promise<SlackEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_SLACK_EMULATOR_PORT;
  const log = opts.logger;
  const ws = new Workspace(opts.seed ?? defaultSlackSeed);
  let baseUrl = '';

  const outbound = new Outbound(ws, {
    signingSecret: opts.signingSecret,
    appUrls: { ...opts.appUrls },
    eventRetryDelaysMs: opts.eventRetryDelaysMs ?? [1000, 60_000, 300_000],
    deliveryTimeoutMs: opts.deliveryTimeoutMs ?? 3000,
    verificationToken: 'emulator-verification-token',
    baseUrl: () => baseUrl,
    ...(log ? { logger: log } : {}),
  });

  // ---- tokens ----
  const tokens = new Map<string, { scopes: string[]; revoked: boolean }>();
  const loadTokens = () => {
    tokens.clear();
    tokens.set(opts.botToken, { scopes: ws.seed.botScopes, revoked: false });
    for (const t of ws.seed.tokens) tokens.set(t.token, { scopes: t.scopes, revoked: t.revoked });
  };
  loadTokens();

  // ---- snapshot ----
  const snapshot = createSnapshotter<WorkspaceData>({
    path: opts.snapshotPath,
    version: SNAPSHOT_VERSION,
    data: () => ws.data,
    debounceMs: 200,
    warn: (msg, err) => log?.warn(`slack-emulator: ${msg}`, err),
  });
  ws.onChange = () => snapshot.scheduleSave();
  const saved = snapshot.load();
  if (saved) ws.load(saved);
  ws.onMessage = (c) => outbound.onMessage(c);
  ws.onReaction = (c) => outbound.onReaction(c);

  // ---- scheduled messages ----
  const scheduleTimers = new Set<NodeJS.Timeout>();
  const schedule = (s: ScheduledMessage) => {
    const delay = s.post_at * 1000 - Date.now();
    // setTimeout caps at ~24.8 days; chain longer waits.
    const step = Math.min(Math.max(delay, 0), 2 ** 31 - 1);
    const t = setTimeout(() => {
      scheduleTimers.delete(t);
      if (s.state !== 'pending') return;
      if (s.post_at * 1000 > Date.now() + 5) return schedule(s);
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
  for (const s of ws.data.scheduled) if (s.state === 'pending') schedule(s);

  // ---- rate limits ----
  const rateLimits = { enabled: opts.rateLimits ?? true };
  const postBuckets = new TokenBuckets(1, 3);
  const tierBuckets = {
    1: new TokenBuckets(TIER_LIMITS[1].perMin / 60, TIER_LIMITS[1].burst),
    2: new TokenBuckets(TIER_LIMITS[2].perMin / 60, TIER_LIMITS[2].burst),
    3: new TokenBuckets(TIER_LIMITS[3].perMin / 60, TIER_LIMITS[3].burst),
    4: new TokenBuckets(TIER_LIMITS[4].perMin / 60, TIER_LIMITS[4].burst),
  };

  // `#payments` and `C0PAYMENTS` are the same channel, so they share one posting budget.
  const channelKey = (ref: unknown): string => {
    if (typeof ref !== 'string') return '';
    return ws.channelByName(ref.replace(/^#/, ''))?.id ?? ref;
  };

  // A fault's `channel` is an id; a call may name the conversation by name or, for a DM, by user id.
  const faultChannel = (ref: unknown): string | undefined => {
    if (typeof ref !== 'string') return undefined;
    if (/^[UW][A-Z0-9]+$/.test(ref)) {
      return Object.values(ws.data.channels).find((c) => c.is_im && c.im_user === ref)?.id ?? ref;
    }
    return channelKey(ref);
  };

  const faults = new FaultRegistry();
  const calls: CallLogEntry[] = [];
  const oauthCodes = new Map<string, { issuedAt: number; user: string }>();
  const triggerTtlMs = { value: opts.triggerTtlMs ?? 3000 };

  const core: EmulatorCore = {
    ws,
    outbound,
    faults,
    rateLimits,
    calls,
    oauthCodes,
    triggerTtlMs,
    schedule,
    revokeBotToken() {
      const t = tokens.get(opts.botToken);
      if (t) t.revoked = true;
    },
    resetAll() {
      loadTokens();
      for (const t of scheduleTimers) clearTimeout(t);
      scheduleTimers.clear();
      ws.reset();
      faults.clear();
      postBuckets.reset();
      for (const b of Object.values(tierBuckets)) b.reset();
      calls.length = 0;
      outbound.deliveries.length = 0;
      outbound.triggers.clear();
      oauthCodes.clear();
      ws.onChange();
    },
  };

  const app = Fastify({ logger: false, bodyLimit: 5 * 1024 * 1024 });
  await app.register(fastifyFormbody);
  // Anything else (text/plain, no content type) is kept as a string; Slack is lenient about it.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const logCall = (method: string, args: Obj, status: number, body: Obj) => {
    const { token: _t, ...rest } = args;
    calls.push({
      at: new Date().toISOString(),
      method,
      args: rest,
      status,
      ok: body.ok === true,
      ...(typeof body.error === 'string' ? { error: body.error } : {}),
    });
    if (calls.length > 5000) calls.splice(0, calls.length - 5000);
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
    const send = (status: number, payload: Obj, headers: Record<string, string> = {}) => {
      logCall(method, args, status, payload);
      return reply.code(status).headers(headers).send(payload);
    };

    const spec = methods[method];
    if (!spec) return send(404, { ok: false, error: 'unknown_method', req_method: method });

    const fault = faults.take(method, { channel: faultChannel(args.channel) });
    if (fault) {
      if (fault.kind === 'error') return send(200, { ok: false, error: fault.error ?? 'internal_error' });
      if (fault.kind === 'status') return send(fault.status ?? 500, { ok: false, error: fault.error ?? 'fatal_error' });
      if (fault.kind === 'ratelimit')
        return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfter ?? 1) });
      if (fault.kind === 'latency') await new Promise((r) => setTimeout(r, fault.latencyMs ?? 1000));
    }

    let scopes: string[] = [];
    if (!spec.noAuth) {
      const authz = request.headers.authorization;
      const token = authz?.startsWith('Bearer ')
        ? authz.slice(7).trim()
        : typeof args.token === 'string'
          ? args.token
          : '';
      if (!token) return send(200, { ok: false, error: 'not_authed' });
      const info = tokens.get(token);
      if (!info) return send(200, { ok: false, error: 'invalid_auth' });
      if (info.revoked) return send(200, { ok: false, error: 'token_revoked' });
      scopes = info.scopes;
    }

    if (rateLimits.enabled) {
      const taken =
        spec.tier === 'post'
          ? postBuckets.take(`${method}:${channelKey(args.channel)}`)
          : tierBuckets[spec.tier].take(method);
      if (!taken.ok)
        return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(taken.retryAfterSec) });
    }

    if (spec.scopes && !spec.scopes.some((s) => scopes.includes(s)))
      return send(200, {
        ok: false,
        error: 'missing_scope',
        needed: spec.scopes.join(','),
        provided: scopes.join(','),
      });

    const ctx: ApiContext = {
      ws,
      scopes,
      triggers: outbound.triggers,
      triggerTtlMs: triggerTtlMs.value,
      oauthCodes,
      botToken: opts.botToken,
      botScopes: ws.seed.botScopes,
      schedule,
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
      logCall(method, args, 0, result);
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    return send(200, result);
  };
  app.route({ method: ['GET', 'POST'], url: '/api/:method', handler: apiHandler });

  registerAdminRoutes(app, core);

  await app.listen({ host, port });
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  baseUrl = `http://${host}:${actualPort}`;
  log?.info(`slack-emulator listening on ${baseUrl}`);

  return {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    setAppUrls(urls: AppUrls) {
      outbound.opts.appUrls = { ...urls };
    },
    async stop() {
      outbound.stop();
      for (const t of scheduleTimers) clearTimeout(t);
      scheduleTimers.clear();
      await app.close();
      snapshot.saveNow();
    },
  };
}
