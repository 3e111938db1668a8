import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { EmulatorCore } from './platform.js';
import { createInvitedUser, deactivate } from './web-api-admin.js';
import type { StoredChannel, StoredUser } from './workspace.js';

/** Raised inside these handlers; answered `{ok:false, error}` with the status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const flags = {
  is_admin: z.boolean().optional(),
  is_owner: z.boolean().optional(),
  deleted: z.boolean().optional(),
  is_restricted: z.boolean().optional(),
  is_ultra_restricted: z.boolean().optional(),
  is_invited_user: z.boolean().optional(),
  is_bot: z.boolean().optional(),
};
const userInput = z.object({
  id: z
    .string()
    .regex(/^[UW][A-Z0-9]+$/)
    .optional(),
  name: z.string().min(1).optional(),
  real_name: z.string().optional(),
  email: z.string().min(3),
  tz: z.string().optional(),
  ...flags,
});
const usersInput = z
  .object({
    users: z.array(userInput).max(10_000).optional(),
    /** Shorthand for many people: `count` users `<prefix>0001@<domain>`… with the given flags. */
    generate: z
      .object({
        count: z.number().int().positive().max(10_000),
        prefix: z
          .string()
          .regex(/^[a-z][a-z0-9-]*$/)
          .default('member'),
        domain: z.string().default('example.com'),
        ...flags,
      })
      .optional(),
    /** Also add the new people to these channels (ids or names). */
    channels: z.array(z.string()).optional(),
  })
  .refine((b) => b.users || b.generate, { message: 'users or generate is required' });
const prefsInput = z.object({
  admin_api_enabled: z.boolean().optional(),
  who_can_kick_channels: z.enum(['everyone', 'admins']).optional(),
  who_can_kick_groups: z.enum(['everyone', 'admins']).optional(),
});
const inviteInput = z.object({
  email: z.string().min(3),
  /** Seed a pending invite directly (as if an admin invited through Slack's UI). */
  is_restricted: z.boolean().default(false),
  is_ultra_restricted: z.boolean().default(false),
  channel_ids: z.array(z.string()).default([]),
  real_name: z.string().optional(),
});

/**
 * Admin routes for people, invites, workspace preferences, installations, tokens and Socket Mode.
 * Registered per workspace (like the rest of the admin API); tokens, OAuth and Socket Mode are the
 * app's, so those answer the same under every workspace prefix.
 */
export function registerPlatformAdminRoutes(app: FastifyInstance, core: EmulatorCore): void {
  const { ws, outbound, platform } = core;
  const socket = platform.opts.socket;

  const wrap =
    <T>(fn: (body: T) => unknown, schema: z.ZodType<T>) =>
    async (req: { body: unknown }, reply: { code(n: number): { send(b: unknown): unknown } }) => {
      const parsed = schema.safeParse(req.body ?? {});
      if (!parsed.success)
        return reply.code(400).send({ ok: false, error: 'invalid_request', issues: parsed.error.issues });
      try {
        return await fn(parsed.data);
      } catch (err) {
        if (err instanceof HttpError) return reply.code(err.status).send({ ok: false, error: err.message });
        throw err;
      }
    };
  const person = (id: string): StoredUser => {
    const u = ws.user(id);
    if (!u) throw new HttpError(404, `unknown user ${id}`);
    return u;
  };
  const channelOf = (ref: string): StoredChannel => {
    const c = ws.channel(ref) ?? ws.channelByName(ref.replace(/^#/, ''));
    if (!c) throw new HttpError(404, `unknown channel ${ref}`);
    return c;
  };
  let seq = 0;
  const newId = () => `U9${(Date.now() % 1e8).toString(36).toUpperCase()}${(seq++).toString(36).toUpperCase()}`;

  // ---------------- people ----------------

  app.post(
    '/_admin/users',
    wrap((b) => {
      const fresh: z.infer<typeof userInput>[] = [...(b.users ?? [])];
      if (b.generate) {
        const { count, prefix, domain, ...f } = b.generate;
        const width = String(count).length;
        for (let i = 1; i <= count; i++) {
          const n = String(i).padStart(Math.max(width, 4), '0');
          fresh.push({ name: `${prefix}${n}`, real_name: `${prefix} ${n}`, email: `${prefix}${n}@${domain}`, ...f });
        }
      }
      const channels = (b.channels ?? []).map(channelOf);
      const created: string[] = [];
      for (const u of fresh) {
        if (ws.userByEmail(u.email)) throw new HttpError(409, `a user with email ${u.email} exists`);
        const id = u.id ?? newId();
        if (ws.isKnownUser(id)) throw new HttpError(409, `user ${id} exists`);
        ws.addUser({
          id,
          name: u.name ?? u.email.split('@')[0]!,
          real_name: u.real_name ?? u.name ?? '',
          display_name: '',
          email: u.email,
          tz: u.tz ?? 'Asia/Kolkata',
          is_admin: u.is_admin ?? false,
          is_owner: u.is_owner ?? false,
          deleted: u.deleted ?? false,
          is_restricted: (u.is_restricted ?? false) || (u.is_ultra_restricted ?? false),
          is_ultra_restricted: u.is_ultra_restricted ?? false,
          is_invited_user: u.is_invited_user ?? false,
          is_bot: u.is_bot ?? false,
        });
        created.push(id);
      }
      for (const ch of channels) ws.join(ch, created);
      return { ok: true, created: created.length, ids: created };
    }, usersInput),
  );

  app.get('/_admin/users', () => ({ ok: true, users: ws.users() }));

  app.post<{ Params: { id: string } }>('/_admin/users/:id/deactivate', (req, reply) =>
    wrap(() => {
      const u = person(req.params.id);
      if (u.deleted) throw new HttpError(409, 'already_deactivated');
      deactivate(ws, u);
      outbound.emitUserEvent('user_change', u.id);
      return { ok: true, user: ws.apiUser(u.id, true) };
    }, z.unknown())(req, reply),
  );
  app.post<{ Params: { id: string } }>('/_admin/users/:id/reactivate', (req, reply) =>
    wrap(() => {
      const u = person(req.params.id);
      if (!u.deleted) throw new HttpError(409, 'not_deactivated');
      u.deleted = false;
      u.updated = Math.floor(Date.now() / 1000);
      ws.onChange();
      outbound.emitUserEvent('user_change', u.id);
      return { ok: true, user: ws.apiUser(u.id, true) };
    }, z.unknown())(req, reply),
  );
  app.post<{ Params: { id: string } }>('/_admin/users/:id/flags', (req, reply) =>
    wrap((b) => {
      const u = person(req.params.id);
      Object.assign(u, b);
      if (u.is_ultra_restricted) u.is_restricted = true;
      u.updated = Math.floor(Date.now() / 1000);
      ws.onChange();
      outbound.emitUserEvent('user_change', u.id);
      return { ok: true, user: ws.apiUser(u.id, true) };
    }, z.object(flags))(req, reply),
  );

  // A person joins or leaves a channel themselves (outside the app), or a member adds someone.
  const membership = z.object({ user: z.string(), channel: z.string(), by: z.string().optional() });
  app.post(
    '/_admin/channels/join',
    wrap((b) => {
      const ch = channelOf(b.channel);
      const u = person(b.user);
      if (u.deleted || u.is_invited_user) throw new HttpError(409, `${u.id} cannot join channels`);
      if (ch.is_private && !b.by) throw new HttpError(403, 'private channels need an inviting member (`by`)');
      if (b.by && !ch.members.includes(person(b.by).id)) throw new HttpError(403, `${b.by} is not a member`);
      if (!ws.join(ch, [u.id], b.by).length) throw new HttpError(409, 'already_in_channel');
      return { ok: true, members: ch.members };
    }, membership),
  );
  app.post(
    '/_admin/channels/leave',
    wrap((b) => {
      const ch = channelOf(b.channel);
      person(b.user);
      if (!ws.leave(ch, b.user, b.by)) throw new HttpError(409, 'not_in_channel');
      return { ok: true, members: ch.members };
    }, membership),
  );

  // A person archives or unarchives a channel in Slack's UI (outside the app). Meanwhile every post
  // to it answers `is_archived`, as Slack's do; the errors are conversations.archive/unarchive's.
  const archiving = z.object({ channel: z.string() });
  app.post(
    '/_admin/channels/archive',
    wrap((b) => {
      const ch = channelOf(b.channel);
      if (ch.is_im) throw new HttpError(400, 'method_not_supported_for_channel_type');
      if (ch.is_archived) throw new HttpError(409, 'already_archived');
      ch.is_archived = true;
      return { ok: true, channel: ch.id, is_archived: true };
    }, archiving),
  );
  app.post(
    '/_admin/channels/unarchive',
    wrap((b) => {
      const ch = channelOf(b.channel);
      if (!ch.is_archived) throw new HttpError(409, 'not_archived');
      ch.is_archived = false;
      return { ok: true, channel: ch.id, is_archived: false };
    }, archiving),
  );

  // ---------------- invites ----------------

  app.get('/_admin/invites', () => ({ ok: true, invites: ws.data.invites }));
  app.post(
    '/_admin/invites',
    wrap((b) => {
      if (ws.userByEmail(b.email)) throw new HttpError(409, 'already_in_team');
      const user = createInvitedUser(ws, {
        email: b.email,
        ...(b.real_name ? { realName: b.real_name } : {}),
        restricted: b.is_restricted,
        ultraRestricted: b.is_ultra_restricted,
      });
      ws.data.invites.push({
        id: `I${user.id.slice(1)}`,
        email: b.email,
        user_id: user.id,
        channel_ids: b.channel_ids,
        is_restricted: b.is_restricted || b.is_ultra_restricted,
        is_ultra_restricted: b.is_ultra_restricted,
        invited_by: ws.users().find((u) => u.is_admin)?.id ?? '',
        date_created: Math.floor(Date.now() / 1000),
        state: 'pending',
        resend: false,
      });
      ws.onChange();
      return { ok: true, user_id: user.id };
    }, inviteInput),
  );
  /** The invited person signs in: the account becomes active, joins the invite's channels, `team_join` is sent. */
  app.post(
    '/_admin/invites/accept',
    wrap(
      (b) => {
        const inv = ws.data.invites.find(
          (i) => i.email.toLowerCase() === b.email.toLowerCase() && i.state === 'pending',
        );
        if (!inv) throw new HttpError(404, `no pending invite for ${b.email}`);
        const u = person(inv.user_id);
        inv.state = 'accepted';
        u.is_invited_user = false;
        if (b.real_name) u.real_name = b.real_name;
        u.updated = Math.floor(Date.now() / 1000);
        for (const id of inv.channel_ids) {
          const ch = ws.channel(id);
          if (ch && !ch.is_archived) ws.join(ch, [u.id]);
        }
        ws.onChange();
        outbound.emitUserEvent('team_join', u.id);
        return { ok: true, user: ws.apiUser(u.id, true) };
      },
      z.object({ email: z.string(), real_name: z.string().optional() }),
    ),
  );

  // ---------------- workspace, installation, tokens ----------------

  app.post(
    '/_admin/team/prefs',
    wrap((b) => {
      Object.assign(ws.data.prefs, b);
      ws.onChange();
      return { ok: true, prefs: ws.data.prefs };
    }, prefsInput),
  );
  app.get('/_admin/installation', () => ({
    ok: true,
    team: ws.teamId,
    installed: ws.data.installed,
    tokens: platform.tokens.live(ws.teamId).map((t) => ({
      kind: t.kind,
      user: t.userId,
      scopes: t.scopes,
      ...(t.expiresAt ? { expires_at: new Date(t.expiresAt).toISOString() } : {}),
    })),
  }));
  /** Ends the access tokens' lifetime now (rotating tokens only), to force a refresh mid-flow. */
  app.post(
    '/_admin/tokens/expire',
    wrap(
      (b) => {
        const expired = platform.tokens.expire((t) => (b.token ? t.token === b.token : t.teamId === ws.teamId));
        platform.changed();
        return { ok: true, expired: expired.length };
      },
      z.object({ token: z.string().optional() }),
    ),
  );
  /** A new app-level token (`xapp-…`), like "Generate Token and Scopes" on the app's page. */
  app.post(
    '/_admin/app-tokens',
    wrap(
      (b) => {
        const token = platform.tokens.issueAppToken(ws.seed.app.id, b.scopes).token;
        platform.changed();
        return { ok: true, token };
      },
      z.object({ scopes: z.array(z.string()).default(['connections:write']) }),
    ),
  );

  // ---------------- Socket Mode ----------------

  app.get('/_admin/socket-mode', () => ({
    ok: true,
    enabled: socket.enabled,
    connections: socket.connections(),
    envelopes: socket.envelopes,
  }));
  app.post(
    '/_admin/socket-mode',
    wrap(
      (b) => {
        if (b.enabled === false && socket.enabled) socket.disable();
        else if (b.enabled !== undefined) socket.enabled = b.enabled;
        if (b.ackTimeoutMs) socket.opts.ackTimeoutMs = b.ackTimeoutMs;
        if (b.disconnectGraceMs !== undefined) socket.opts.disconnectGraceMs = b.disconnectGraceMs;
        return { ok: true, enabled: socket.enabled, ackTimeoutMs: socket.opts.ackTimeoutMs };
      },
      z.object({
        enabled: z.boolean().optional(),
        ackTimeoutMs: z.number().int().positive().optional(),
        disconnectGraceMs: z.number().int().nonnegative().optional(),
      }),
    ),
  );
  app.post(
    '/_admin/socket-mode/disconnect',
    wrap(
      (b) => ({ ok: true, connections: socket.disconnect(b.reason, b.connection) }),
      z.object({
        reason: z.enum(['warning', 'refresh_requested', 'link_disabled', 'too_many_websockets']),
        connection: z.string().optional(),
      }),
    ),
  );
  app.post(
    '/_admin/socket-mode/drop',
    wrap(
      (b) => ({ ok: true, connections: socket.drop(b.connection) }),
      z.object({ connection: z.string().optional() }),
    ),
  );
}
