import type { SocketModeHub } from './socket-mode.js';
import { ApiError } from './web-api.js';
import type { ApiContext, MethodSpec } from './web-api.js';
import { randomId } from './workspace.js';
import type { Obj, StoredUser, Workspace } from './workspace.js';

const s = (a: Obj, k: string): string => (typeof a[k] === 'string' ? a[k].trim() : '');
const truthy = (a: Obj, k: string) => a[k] === true || a[k] === 'true' || a[k] === '1';
const missing = (k: string) =>
  new ApiError('invalid_arguments', { response_metadata: { messages: [`[ERROR] missing required field: ${k}`] } });

/** A list argument: `@slack/web-api` JSON-encodes arrays inside form fields; curl users send `a,b`. */
function listArg(v: unknown): string[] {
  let items: unknown = v;
  if (typeof v === 'string' && v.trim().startsWith('[')) {
    try {
      items = JSON.parse(v);
    } catch {
      items = v;
    }
  }
  const list = Array.isArray(items) ? items.map(String) : typeof items === 'string' ? items.split(',') : [];
  return list.map((x) => x.trim()).filter(Boolean);
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Checks every admin.* method shares: the workspace allows the Admin API, the token (always a
 * user token: bots get `not_allowed_token_type` before this) is an admin's, and `team_id` is the
 * token's own workspace.
 */
function adminCaller(a: Obj, ctx: ApiContext): void {
  if (!ctx.ws.data.prefs.admin_api_enabled) throw new ApiError('feature_not_enabled');
  const caller = ctx.ws.user(ctx.actorId);
  if (!caller || !(caller.is_admin || caller.is_owner)) throw new ApiError('failed_to_validate_caller');
  const team = s(a, 'team_id');
  if (!team) throw missing('team_id');
  if (team !== ctx.ws.teamId) throw new ApiError('team_not_found');
}

/** Creates the pending account an invite makes (`is_invited_user: true` until accepted). */
export function createInvitedUser(
  ws: Workspace,
  input: { email: string; realName?: string; restricted: boolean; ultraRestricted: boolean },
): StoredUser {
  const local = input.email.split('@')[0]!.toLowerCase();
  return ws.addUser({
    id: randomId('U', 10),
    name: local.replace(/[^a-z0-9._-]/g, ''),
    real_name: input.realName ?? '',
    display_name: '',
    email: input.email,
    tz: 'Asia/Kolkata',
    is_admin: false,
    is_owner: false,
    deleted: false,
    is_restricted: input.restricted || input.ultraRestricted,
    is_ultra_restricted: input.ultraRestricted,
    is_invited_user: true,
    is_bot: false,
  });
}

/** The Admin API methods membership flows use, and Socket Mode's `apps.connections.open`. */
export function adminMethods(socket: SocketModeHub): Record<string, MethodSpec> {
  return {
    'admin.users.invite': {
      tier: 2,
      scopes: ['admin.users:write'],
      tokenTypes: ['user'],
      handler: (a, ctx) => {
        adminCaller(a, ctx);
        const email = s(a, 'email');
        if (!email) throw missing('email');
        if (!EMAIL_RE.test(email)) throw new ApiError('invalid_email');
        const channelIds = listArg(a.channel_ids);
        if (!channelIds.length) throw missing('channel_ids');
        // Channels a person can join: this workspace's, not a DM, not archived.
        if (
          channelIds.some((id) => {
            const ch = ctx.ws.channel(id);
            return !ch || ch.is_im || ch.is_archived;
          })
        )
          throw new ApiError('failed_to_validate_channels');
        const existing = ctx.ws.userByEmail(email);
        if (existing?.deleted) throw new ApiError('user_disabled');
        if (existing?.is_invited_user) throw new ApiError('already_in_team_invited_user');
        if (existing) throw new ApiError('already_in_team');
        const restricted = truthy(a, 'is_restricted');
        const ultra = truthy(a, 'is_ultra_restricted');
        // An expiry applies to guests only, and must be a future Unix time.
        const expiry = s(a, 'guest_expiration_ts');
        if (expiry) {
          const at = Number(expiry);
          if (!(restricted || ultra) || !Number.isFinite(at) || at * 1000 <= Date.now())
            throw new ApiError('failed_to_validate_expiration');
        }
        const realName = s(a, 'real_name');
        const user = createInvitedUser(ctx.ws, {
          email,
          ...(realName ? { realName } : {}),
          restricted,
          ultraRestricted: ultra,
        });
        ctx.ws.data.invites.push({
          id: randomId('I', 10),
          email,
          user_id: user.id,
          channel_ids: channelIds,
          is_restricted: restricted || ultra,
          is_ultra_restricted: ultra,
          invited_by: ctx.actorId,
          date_created: Math.floor(Date.now() / 1000),
          state: 'pending',
          resend: truthy(a, 'resend'),
        });
        ctx.ws.onChange();
        return {};
      },
    },

    'admin.users.remove': {
      tier: 2,
      scopes: ['admin.users:write'],
      tokenTypes: ['user'],
      handler: (a, ctx) => {
        adminCaller(a, ctx);
        const id = s(a, 'user_id');
        if (!id) throw missing('user_id');
        const u = ctx.ws.user(id);
        if (!u || u.deleted) throw new ApiError('user_not_found');
        if (u.id === ctx.actorId) throw new ApiError('cant_remove_self');
        deactivate(ctx.ws, u);
        return {};
      },
    },

    'admin.users.list': {
      tier: 2,
      scopes: ['admin.users:read'],
      tokenTypes: ['user'],
      handler: (a, ctx) => {
        adminCaller(a, ctx);
        const all = ctx.ws.users();
        const limit = Math.min(Math.max(Number(a.limit) || 100, 1), 100);
        const cursor = s(a, 'cursor');
        const start = cursor
          ? Number(
              Buffer.from(cursor, 'base64')
                .toString('utf8')
                .replace(/^offset:/, ''),
            )
          : 0;
        if (!Number.isInteger(start) || start < 0) throw new ApiError('invalid_cursor');
        const next = start + limit < all.length ? Buffer.from(`offset:${start + limit}`).toString('base64') : '';
        return {
          users: all.slice(start, start + limit).map((u) => ({
            id: u.id,
            email: u.email,
            is_admin: u.is_admin,
            is_owner: u.is_owner,
            is_primary_owner: false,
            is_restricted: u.is_restricted,
            is_ultra_restricted: u.is_ultra_restricted,
            is_bot: u.is_bot,
            username: u.name,
            full_name: u.real_name,
            is_active: !u.deleted && !u.is_invited_user,
            date_created: u.updated,
          })),
          response_metadata: { next_cursor: next },
        };
      },
    },

    'apps.connections.open': {
      tier: 1,
      scopes: ['connections:write'],
      tokenTypes: ['app'],
      handler: () => ({ url: socket.issueUrl() }),
    },
  };
}

/** Deactivation as Slack does it: the account stays listed with `deleted: true` and leaves every channel. */
export function deactivate(ws: Workspace, u: StoredUser): void {
  u.deleted = true;
  u.updated = Math.floor(Date.now() / 1000);
  for (const ch of Object.values(ws.data.channels)) if (!ch.is_im) ws.leave(ch, u.id);
  ws.onChange();
}
