import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { OAuthCode, SlackPlatform } from './platform.js';
import { ApiError } from './web-api.js';
import type { MethodSpec } from './web-api.js';
import type { Obj } from './workspace.js';

/** Codes from the authorize page live 10 minutes and work once (Slack's rule). */
const CODE_TTL_MS = 600_000;

const splitScopes = (v: unknown): string[] =>
  typeof v === 'string'
    ? v
        .split(/[\s,]+/)
        .map((x) => x.trim())
        .filter(Boolean)
    : [];

const authorizeQuery = z.object({
  client_id: z.string().optional(),
  scope: z.string().optional(),
  user_scope: z.string().optional(),
  redirect_uri: z.string().optional(),
  state: z.string().optional(),
  team: z.string().optional(),
});
type AuthorizeQuery = z.infer<typeof authorizeQuery>;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Problems Slack shows on its own page instead of redirecting (the app cannot be trusted with them). */
function authorizeProblem(platform: SlackPlatform, q: AuthorizeQuery): string | undefined {
  const cfg = platform.opts.oauth;
  if (!q.client_id) return 'Missing client_id parameter.';
  if (cfg.clientId && q.client_id !== cfg.clientId) return 'Invalid client_id parameter.';
  if (!splitScopes(q.scope).length && !splitScopes(q.user_scope).length) return 'Invalid permissions requested.';
  const target = q.redirect_uri ?? cfg.redirectUris[0];
  if (!target) return 'No redirect_uri given and the app has no redirect URL configured.';
  if (cfg.redirectUris.length && !cfg.redirectUris.some((u) => target.startsWith(u)))
    return 'redirect_uri did not match any configured URIs.';
  return undefined;
}

/**
 * The outcome of the person's choice on the authorize page: the URL Slack sends the browser to,
 * with `code` and `state`, or `error=access_denied` and `state`.
 */
function decide(platform: SlackPlatform, q: AuthorizeQuery, teamId: string, user: string, allow: boolean): string {
  const target = new URL(q.redirect_uri ?? platform.opts.oauth.redirectUris[0]!);
  if (!allow) {
    target.searchParams.set('error', 'access_denied');
  } else {
    const code = `${Date.now()}.${randomBytes(16).toString('hex')}`;
    const rec: OAuthCode = {
      issuedAt: Date.now(),
      teamId,
      user,
      scopes: splitScopes(q.scope),
      userScopes: splitScopes(q.user_scope),
      ...(q.client_id ? { clientId: q.client_id } : {}),
      ...(q.redirect_uri ? { redirectUri: q.redirect_uri } : {}),
    };
    platform.codes.set(code, rec);
    target.searchParams.set('code', code);
  }
  if (q.state !== undefined) target.searchParams.set('state', q.state);
  return target.toString();
}

class OAuthAdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Who clicks: a person of a workspace (defaults: the `team` hint or the primary one, its first admin). */
function chooser(platform: SlackPlatform, teamId: string | undefined, user: string | undefined) {
  const team = platform.team(teamId ?? platform.primary.ws.teamId);
  if (!team) throw new OAuthAdminError(404, `unknown team ${teamId ?? ''}`);
  const person = user ?? team.ws.users().find((u) => u.is_admin && !u.deleted)?.id;
  const u = person ? team.ws.user(person) : undefined;
  if (!u || u.deleted || u.is_invited_user)
    throw new OAuthAdminError(404, `unknown user ${person ?? ''} in ${team.ws.teamId}`);
  return { teamId: team.ws.teamId, user: u.id };
}

/**
 * The authorize page (`/oauth/v2/authorize`, what "Add to Slack" opens), the form behind its
 * Allow / Cancel buttons, and the automation equivalent for tests (`/_admin/oauth/authorize`).
 */
export function registerOAuthRoutes(app: FastifyInstance, platform: SlackPlatform): void {
  const page = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(`<!doctype html><html><head><title>Slack</title></head><body>${body}</body></html>`);

  app.get('/oauth/v2/authorize', (req, reply) => {
    const parsed = authorizeQuery.safeParse(req.query);
    if (!parsed.success) return page(reply, 400, '<h1>Invalid request</h1>');
    const q = parsed.data;
    const problem = authorizeProblem(platform, q);
    if (problem) return page(reply, 400, `<h1>Something went wrong when authorizing this app.</h1><p>${problem}</p>`);
    const hidden = Object.entries(q)
      .filter(([k, v]) => k !== 'team' && typeof v === 'string')
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(String(v))}">`)
      .join('');
    const options = [...platform.teams.values()]
      .flatMap((t) =>
        t.ws
          .users()
          .filter((u) => !u.deleted && !u.is_invited_user && !u.is_bot)
          .map(
            (u) =>
              `<option value="${t.ws.teamId}|${u.id}"${q.team === t.ws.teamId && u.is_admin ? ' selected' : ''}>` +
              `${escapeHtml(t.ws.seed.team.name)}: ${escapeHtml(u.real_name)}</option>`,
          ),
      )
      .join('');
    const list = (label: string, scopes: string[]) =>
      scopes.length ? `<h3>${label}</h3><ul>${scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>` : '';
    return page(
      reply,
      200,
      `<h1>Threadline is requesting permission to access a Slack workspace</h1>` +
        list('Bot permissions', splitScopes(q.scope)) +
        list('User permissions', splitScopes(q.user_scope)) +
        `<form method="post" action="/oauth/v2/authorize">${hidden}` +
        `<label>Workspace and person <select name="who">${options}</select></label>` +
        `<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Cancel</button>` +
        `</form>`,
    );
  });

  app.post('/oauth/v2/authorize', (req, reply) => {
    const body = (req.body ?? {}) as Obj;
    const parsed = authorizeQuery.extend({ who: z.string(), decision: z.enum(['allow', 'deny']) }).safeParse(body);
    if (!parsed.success) return page(reply, 400, '<h1>Invalid request</h1>');
    const { who, decision, ...q } = parsed.data;
    const problem = authorizeProblem(platform, q);
    if (problem) return page(reply, 400, `<h1>Something went wrong when authorizing this app.</h1><p>${problem}</p>`);
    const [teamId, user] = who.split('|');
    try {
      const c = chooser(platform, teamId, user);
      return reply.redirect(decide(platform, q, c.teamId, c.user, decision === 'allow'), 302);
    } catch (err) {
      if (err instanceof OAuthAdminError) return page(reply, 400, `<h1>${escapeHtml(err.message)}</h1>`);
      throw err;
    }
  });

  const adminAuthorize = authorizeQuery.extend({
    /** The authorize URL the app sent the browser to (or pass its query fields). */
    url: z.string().optional(),
    user: z.string().optional(),
    allow: z.boolean().default(true),
  });
  app.post('/_admin/oauth/authorize', (req, reply) => {
    const b = adminAuthorize.safeParse(req.body ?? {});
    if (!b.success) return reply.code(400).send({ ok: false, error: 'invalid_request', issues: b.error.issues });
    const fromUrl = b.data.url ? Object.fromEntries(new URL(b.data.url).searchParams) : {};
    const q = authorizeQuery.parse({ ...fromUrl, ...stripUndefined(b.data, ['url', 'user', 'allow']) });
    const problem = authorizeProblem(platform, q);
    if (problem) return reply.code(400).send({ ok: false, error: problem });
    try {
      const c = chooser(platform, b.data.team ?? q.team, b.data.user);
      return { ok: true, team: c.teamId, user: c.user, redirect: decide(platform, q, c.teamId, c.user, b.data.allow) };
    } catch (err) {
      if (err instanceof OAuthAdminError) return reply.code(err.status).send({ ok: false, error: err.message });
      throw err;
    }
  });

  const configInput = z.object({
    clientId: z.string().min(1).nullable().optional(),
    clientSecret: z.string().min(1).nullable().optional(),
    redirectUris: z.array(z.string().url()).optional(),
    tokenRotation: z.boolean().optional(),
    tokenExpiresInSec: z.number().int().positive().optional(),
  });
  app.post('/_admin/oauth/config', (req, reply) => {
    const b = configInput.safeParse(req.body ?? {});
    if (!b.success) return reply.code(400).send({ ok: false, error: 'invalid_request', issues: b.error.issues });
    const cfg = platform.opts.oauth;
    if (b.data.clientId !== undefined) {
      if (b.data.clientId === null) delete cfg.clientId;
      else cfg.clientId = b.data.clientId;
    }
    if (b.data.clientSecret !== undefined) {
      if (b.data.clientSecret === null) delete cfg.clientSecret;
      else cfg.clientSecret = b.data.clientSecret;
    }
    if (b.data.redirectUris) cfg.redirectUris = b.data.redirectUris;
    if (b.data.tokenRotation !== undefined) cfg.tokenRotation = b.data.tokenRotation;
    if (b.data.tokenExpiresInSec) cfg.tokenExpiresInSec = b.data.tokenExpiresInSec;
    return { ok: true, oauth: { ...cfg, clientSecret: cfg.clientSecret ? '(set)' : undefined } };
  });
}

function stripUndefined(o: Obj, drop: string[]): Obj {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && !drop.includes(k)));
}

/** Client credentials from the body or, as Slack recommends, HTTP Basic auth (merged in by the server). */
function checkClient(platform: SlackPlatform, a: Obj, codeClientId?: string): void {
  const cfg = platform.opts.oauth;
  const id = typeof a.client_id === 'string' ? a.client_id : '';
  const secret = typeof a.client_secret === 'string' ? a.client_secret : '';
  if (!id) throw new ApiError('invalid_client_id');
  if ((cfg.clientId && id !== cfg.clientId) || (codeClientId && id !== codeClientId))
    throw new ApiError('invalid_client_id');
  if (!secret || (cfg.clientSecret && secret !== cfg.clientSecret)) throw new ApiError('bad_client_secret');
}

/** `oauth.v2.access`: code exchange (installs the app) and, with token rotation, refresh. */
export function oauthMethods(platform: SlackPlatform): Record<string, MethodSpec> {
  return {
    'oauth.v2.access': {
      tier: 4,
      noAuth: true,
      handler: (a) => {
        const grant = typeof a.grant_type === 'string' && a.grant_type ? a.grant_type : 'authorization_code';
        if (grant === 'refresh_token') {
          checkClient(platform, a);
          const refresh = typeof a.refresh_token === 'string' ? a.refresh_token : '';
          const cfg = platform.opts.oauth;
          const r = cfg.tokenRotation ? platform.tokens.refresh(refresh, cfg.tokenExpiresInSec) : undefined;
          if (!r) throw new ApiError('invalid_refresh_token');
          platform.changed();
          const team = platform.team(r.token.teamId)!;
          return {
            app_id: team.ws.seed.app.id,
            scope: r.token.scopes.join(','),
            token_type: r.token.kind,
            access_token: r.token.token,
            ...(r.token.kind === 'bot' ? { bot_user_id: team.ws.botUserId } : { user_id: r.token.userId }),
            refresh_token: r.refreshToken,
            expires_in: cfg.tokenExpiresInSec,
            team: { id: team.ws.teamId, name: team.ws.seed.team.name },
            enterprise: team.ws.enterprise,
            is_enterprise_install: false,
          };
        }
        if (grant !== 'authorization_code') throw new ApiError('invalid_grant_type');
        const code = typeof a.code === 'string' ? a.code : '';
        const issued = platform.codes.get(code);
        if (!issued || Date.now() - issued.issuedAt > CODE_TTL_MS) throw new ApiError('invalid_code');
        checkClient(platform, a, issued.clientId);
        if (issued.redirectUri && a.redirect_uri !== issued.redirectUri) throw new ApiError('bad_redirect_uri');
        platform.codes.delete(code);
        return platform.install(issued);
      },
    },
  };
}
