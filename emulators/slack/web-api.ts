import { validateBlocks, validateView, withBlockIds } from './blocks.js';
import { isKnownEmoji } from './emoji-names.js';
import type { TokenKind, TokenRecord } from './tokens.js';
import { randomId } from './workspace.js';
import type { MessageMetadata, Obj, ScheduledMessage, StoredChannel, StoredView, Workspace } from './workspace.js';

/** A Slack platform error: HTTP 200 `{ok:false, error, ...extra}`. */
export class ApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Obj = {},
  ) {
    super(error);
  }
}

export interface Trigger {
  id: string;
  user: string;
  issuedAt: number;
  used: boolean;
}

/** What platform-level methods (OAuth, tokens, Socket Mode) need beyond one workspace. */
export interface PlatformHooks {
  /** auth.revoke: revokes one token (and uninstalls when it was the workspace's last one). */
  revokeToken(token: TokenRecord): void;
}

export interface ApiContext {
  /** The workspace the calling token belongs to; every lookup is scoped to it. */
  ws: Workspace;
  scopes: string[];
  /** Who the call acts as: the workspace's bot user (bot tokens) or a person (user tokens). */
  actorId: string;
  isBot: boolean;
  /** The calling token (absent for methods without auth and for admin-API internal calls). */
  token?: TokenRecord;
  triggers: Map<string, Trigger>;
  triggerTtlMs: number;
  schedule: (s: ScheduledMessage) => void;
  platform?: PlatformHooks;
}

export type Tier = 1 | 2 | 3 | 4 | 'post';
export interface MethodSpec {
  tier: Tier;
  /** Any one of these scopes suffices (Slack lists alternatives per conversation type). */
  scopes?: string[];
  /** oauth.v2.access authenticates with client credentials, not a token. */
  noAuth?: boolean;
  /** Token types the method accepts (default bot and user); others get `not_allowed_token_type`. */
  tokenTypes?: TokenKind[];
  handler: (args: Obj, ctx: ApiContext) => Obj;
}

// ---------- argument helpers: form fields arrive as strings, JSON bodies as values ----------
const str = (a: Obj, k: string): string | undefined => {
  const v = a[k];
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
};
const req = (a: Obj, k: string): string => {
  const v = str(a, k);
  if (v === undefined)
    throw new ApiError('invalid_arguments', {
      response_metadata: { messages: [`[ERROR] missing required field: ${k}`] },
    });
  return v;
};
const bool = (a: Obj, k: string): boolean => a[k] === true || a[k] === 'true' || a[k] === '1' || a[k] === 1;
const int = (a: Obj, k: string, dflt: number): number => {
  const v = a[k];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : dflt;
};
/** @slack/web-api JSON-encodes objects inside form fields; JSON bodies carry them as values. */
const json = (a: Obj, k: string): unknown => {
  const v = a[k];
  if (typeof v !== 'string') return v;
  if (v === '') return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw new ApiError(k === 'blocks' ? 'invalid_blocks_format' : 'invalid_arguments', {
      response_metadata: { messages: [`[ERROR] ${k} must be valid JSON`] },
    });
  }
};

function blocksArg(a: Obj, surface: 'message' = 'message'): unknown[] | undefined {
  const b = json(a, 'blocks');
  if (b === undefined) return undefined;
  const errs = validateBlocks(b, surface);
  if (errs.length) throw new ApiError('invalid_blocks', { errors: errs, response_metadata: { messages: errs } });
  return b as unknown[];
}

function metadataArg(a: Obj): MessageMetadata | undefined {
  const m = json(a, 'metadata');
  if (m === undefined) return undefined;
  if (typeof m !== 'object' || m === null || typeof (m as Obj).event_type !== 'string')
    throw new ApiError('invalid_metadata_format');
  const md = m as Obj;
  return { event_type: md.event_type as string, event_payload: md.event_payload ?? {} };
}

/** reactions.add/remove `name`: Slack answers `invalid_name` for a name that is no emoji of the workspace. */
function emojiArg(ctx: ApiContext, a: Obj): string {
  const name = req(a, 'name').replace(/^:|:$/g, '');
  if (!isKnownEmoji(name, ctx.ws.seed.custom_emoji)) throw new ApiError('invalid_name');
  return name;
}

/** chat.postMessage: Slack truncates `text` past 40,000 characters (it does not refuse it). */
const POST_TEXT_TRUNCATE_AT = 40_000;
/** chat.update: `msg_too_long` past 4,000 characters (its documented limit). */
const UPDATE_TEXT_MAX = 4000;
/** chat.postEphemeral / chat.scheduleMessage document `msg_too_long` without a number; 40,000 as posts. */
const MAX_TEXT = 40_000;

// ---------- channel resolution and access ----------
function resolveChannel(ctx: ApiContext, ref: string): StoredChannel {
  const { ws } = ctx;
  if (ref.startsWith('#')) {
    const c = ws.channelByName(ref.slice(1));
    if (c) return c;
    throw new ApiError('channel_not_found');
  }
  const byId = ws.channel(ref);
  if (byId) return byId;
  // A user id as channel opens (or reuses) the DM with that user, like real Slack.
  if (/^[UW]/.test(ref) && ws.user(ref)) return ws.openIm(ref);
  const byName = ws.channelByName(ref);
  if (byName) return byName;
  throw new ApiError('channel_not_found');
}

/** Whether the caller (bot user or person) is a member: what Slack checks for access. */
function botIn(ctx: ApiContext, ch: StoredChannel): boolean {
  return ch.members.includes(ctx.actorId);
}

function requireWrite(ctx: ApiContext, ch: StoredChannel): void {
  // A private channel the caller is not in does not exist for it, archived or not.
  if (ch.is_private && !ch.is_im && !botIn(ctx, ch)) throw new ApiError('channel_not_found');
  if (ch.is_archived) throw new ApiError('is_archived');
  if (botIn(ctx, ch)) return;
  // chat:write.public lets a bot post into public channels it has not joined.
  if (!ch.is_private && ctx.scopes.includes('chat:write.public')) return;
  throw new ApiError('not_in_channel');
}

function requireRead(ctx: ApiContext, ch: StoredChannel): void {
  if (!botIn(ctx, ch) && ch.is_private) throw new ApiError('channel_not_found');
  if (!botIn(ctx, ch)) throw new ApiError('not_in_channel');
}

/** A channel the caller can see: private channels it is not a member of do not exist for it. */
function visibleChannel(ctx: ApiContext, ref: string): StoredChannel {
  const ch = resolveChannel(ctx, ref);
  if (ch.is_private && !ch.is_im && !botIn(ctx, ch)) throw new ApiError('channel_not_found');
  return ch;
}

/** Why `user` cannot be invited to `ch` (undefined: they can). */
function inviteError(ctx: ApiContext, ch: StoredChannel, user: string): string | undefined {
  if (user === ctx.ws.botUserId) return ch.members.includes(user) ? 'already_in_channel' : undefined;
  const u = ctx.ws.user(user);
  if (!u) return 'user_not_found';
  if (u.deleted || u.is_invited_user) return 'cant_invite';
  if (ch.members.includes(user)) return 'already_in_channel';
  // A single-channel guest already in a channel cannot join another.
  if (u.is_ultra_restricted && Object.values(ctx.ws.data.channels).some((c) => !c.is_im && c.members.includes(user)))
    return 'ura_max_channels';
  return undefined;
}

function requireHistoryScope(ctx: ApiContext, ch: StoredChannel): void {
  const needed = ch.is_im ? 'im:history' : ch.is_private ? 'groups:history' : 'channels:history';
  if (!ctx.scopes.includes(needed)) throw new ApiError('missing_scope', { needed, provided: ctx.scopes.join(',') });
}

/** `longText`: what the method does with text past its limit (chat.postMessage truncates, the rest refuse). */
function messageContent(
  a: Obj,
  longText: 'truncate' | 'refuse' = 'refuse',
): { text: string; blocks?: unknown[]; attachments?: unknown[] } {
  const blocks = blocksArg(a);
  const attachments = json(a, 'attachments') as unknown[] | undefined;
  let text = str(a, 'text') ?? '';
  if (!text && !blocks?.length && !attachments?.length) throw new ApiError('no_text');
  if (longText === 'truncate') text = text.slice(0, POST_TEXT_TRUNCATE_AT);
  else if (text.length > MAX_TEXT) throw new ApiError('msg_too_long');
  return { text, ...(blocks ? { blocks } : {}), ...(attachments ? { attachments } : {}) };
}

// ---------- pagination ----------
const encodeCursor = (kind: string, v: string | number) => Buffer.from(`${kind}:${v}`).toString('base64');
function decodeCursor(c: string | undefined, kind: string): string | undefined {
  if (!c) return undefined;
  const s = Buffer.from(c, 'base64').toString('utf8');
  if (!s.startsWith(`${kind}:`)) throw new ApiError('invalid_cursor');
  return s.slice(kind.length + 1);
}

function page<T>(items: T[], a: Obj, kind: string, dfltLimit: number): { items: T[]; next: string } {
  const limit = Math.min(Math.max(int(a, 'limit', dfltLimit), 1), 1000);
  const off = Number(decodeCursor(str(a, 'cursor'), kind) ?? '0');
  if (!Number.isInteger(off) || off < 0) throw new ApiError('invalid_cursor');
  const slice = items.slice(off, off + limit);
  const next = off + limit < items.length ? encodeCursor(kind, off + limit) : '';
  return { items: slice, next };
}

const tsNum = (ts: string) => Number(ts);

/** Slack's users.list cursors name the next user (`user:U…`, base64), so inserts never shift a page. */
const USERS_PAGE_MAX = 200;

// ---------- trigger ids (views.open/push) ----------
function useTrigger(ctx: ApiContext, a: Obj): Trigger {
  const id = req(a, 'trigger_id');
  const t = ctx.triggers.get(id);
  if (!t) throw new ApiError('invalid_trigger_id');
  if (t.used) throw new ApiError('exchanged_trigger_id');
  if (Date.now() - t.issuedAt > ctx.triggerTtlMs) throw new ApiError('expired_trigger_id');
  t.used = true;
  return t;
}

function viewArg(a: Obj): Obj {
  const v = json(a, 'view');
  if (v === undefined)
    throw new ApiError('invalid_arguments', {
      response_metadata: { messages: ['[ERROR] missing required field: view'] },
    });
  const errs = validateView(v);
  if (errs.length) throw new ApiError('invalid_arguments', { response_metadata: { messages: errs } });
  return v as Obj;
}

function storeView(ctx: ApiContext, v: Obj, user: string, prev: StoredView | undefined, root?: string): StoredView {
  const { ws } = ctx;
  const externalId = typeof v.external_id === 'string' ? v.external_id : '';
  if (externalId && Object.values(ws.data.views).some((x) => x.open && x.external_id === externalId))
    throw new ApiError('duplicate_external_id');
  const id = randomId('V');
  const stored: StoredView = {
    id,
    team_id: ws.teamId,
    type: v.type === 'home' ? 'home' : 'modal',
    user,
    title: v.title,
    submit: v.submit,
    close: v.close,
    blocks: withBlockIds((v.blocks as unknown[] | undefined) ?? []),
    private_metadata: typeof v.private_metadata === 'string' ? v.private_metadata : '',
    callback_id: typeof v.callback_id === 'string' ? v.callback_id : '',
    external_id: externalId,
    hash: ws.newViewHash(),
    clear_on_close: v.clear_on_close === true,
    notify_on_close: v.notify_on_close === true,
    previous_view_id: prev?.id ?? null,
    root_view_id: root ?? id,
    open: true,
  };
  ws.data.views[id] = stored;
  return stored;
}

/** Replaces a view's content in place (views.update, response_action: update); id stays, hash changes. */
export function replaceViewContent(ws: Workspace, target: StoredView, v: Obj): void {
  target.title = v.title;
  target.submit = v.submit;
  target.close = v.close;
  target.blocks = withBlockIds((v.blocks as unknown[] | undefined) ?? []);
  target.private_metadata = typeof v.private_metadata === 'string' ? v.private_metadata : '';
  target.callback_id = typeof v.callback_id === 'string' ? v.callback_id : '';
  if (typeof v.external_id === 'string') target.external_id = v.external_id;
  target.clear_on_close = v.clear_on_close === true;
  target.notify_on_close = v.notify_on_close === true;
  target.hash = ws.newViewHash();
  delete target.errors;
  ws.onChange();
}

export { storeView, validateView };

// ---------- methods ----------
export const methods: Record<string, MethodSpec> = {
  'api.test': { tier: 4, handler: (a) => ({ args: a }) },

  'auth.test': {
    tier: 4,
    handler: (_a, { ws, actorId, isBot }) => ({
      url: `https://${ws.seed.team.domain}.slack.com/`,
      team: ws.seed.team.name,
      user: ws.userName(actorId),
      team_id: ws.teamId,
      user_id: actorId,
      ...(isBot ? { bot_id: ws.seed.bot.bot_id } : {}),
      ...(ws.enterprise ? { enterprise_id: ws.enterprise.id } : {}),
      is_enterprise_install: false,
    }),
  },

  'auth.revoke': {
    tier: 3,
    handler: (a, ctx) => {
      // test=true answers as if revoked without revoking.
      if (!bool(a, 'test') && ctx.token) ctx.platform?.revokeToken(ctx.token);
      return { revoked: true };
    },
  },

  'team.info': {
    tier: 3,
    scopes: ['team:read'],
    handler: (_a, { ws }) => ({
      team: {
        id: ws.teamId,
        name: ws.seed.team.name,
        url: `https://${ws.seed.team.domain}.slack.com/`,
        domain: ws.seed.team.domain,
        email_domain: 'example.com',
        icon: { image_default: true, image_34: 'https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-34.png' },
        avatar_base_url: 'https://ca.slack-edge.com/',
        is_verified: false,
      },
    }),
  },

  'chat.postMessage': {
    tier: 'post',
    scopes: ['chat:write'],
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      requireWrite(ctx, ch);
      const content = messageContent(a, 'truncate');
      const metadata = metadataArg(a);
      const threadTs = str(a, 'thread_ts');
      // Replying to a reply attaches to its root. A parent that was deleted is `thread_not_found`
      // (Slack keeps a record of deleted messages; its SDK maintainers name this case), but a
      // thread_ts that never named a message is answered ok and the reply is shown nowhere:
      // chat.postMessage documents no error for it, so a mistyped ts is not caught by Slack either.
      if (threadTs && !ctx.ws.message(ch, threadTs) && ch.messages.some((m) => m.ts === threadTs && m.deleted))
        throw new ApiError('thread_not_found');
      const root = threadTs ? (ctx.ws.message(ch, threadTs)?.thread_ts ?? threadTs) : undefined;
      // A user token posts as that person (no bot_id): apps that filter their own echoes by bot_id see it.
      const m = ctx.ws.post(ch, {
        user: ctx.actorId,
        bot: ctx.isBot,
        ...content,
        ...(metadata ? { metadata } : {}),
        ...(root ? { thread_ts: root, reply_broadcast: bool(a, 'reply_broadcast') } : {}),
      });
      return { channel: ch.id, ts: m.ts, message: ctx.ws.apiMessage(m, { metadata: true }) };
    },
  },

  'chat.update': {
    tier: 3,
    scopes: ['chat:write'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const m = ctx.ws.message(ch, req(a, 'ts'));
      if (!m) throw new ApiError('message_not_found');
      // Bots edit their own bot messages; a user token edits that person's messages.
      if (ctx.isBot ? !m.bot : m.bot || m.user !== ctx.actorId) throw new ApiError('cant_update_message');
      // chat.update has no is_archived: "is_inactive: The message cannot be edited within a frozen, archived or deleted channel."
      if (ch.is_archived) throw new ApiError('is_inactive');
      const text = str(a, 'text');
      const hasBlocks = a.blocks !== undefined;
      const blocks = hasBlocks ? (blocksArg(a) ?? []) : undefined;
      const attachments = json(a, 'attachments') as unknown[] | undefined;
      const metadata = metadataArg(a);
      if (text === undefined && blocks === undefined && attachments === undefined && metadata === undefined)
        throw new ApiError('no_text');
      if (text !== undefined && text.length > UPDATE_TEXT_MAX) throw new ApiError('msg_too_long');
      // Omitting blocks keeps them only when text is omitted too; new text without blocks drops them.
      const blocksPatch = blocks !== undefined ? blocks : text !== undefined ? null : undefined;
      ctx.ws.edit(
        ch,
        m,
        {
          ...(text !== undefined ? { text } : {}),
          ...(blocksPatch !== undefined ? { blocks: blocksPatch } : {}),
          ...(attachments ? { attachments } : {}),
          ...(metadata ? { metadata } : {}),
        },
        ctx.isBot ? ctx.ws.seed.bot.bot_id : ctx.actorId,
      );
      const msg = ctx.ws.apiMessage(m);
      return { channel: ch.id, ts: m.ts, text: m.text, message: msg };
    },
  },

  'chat.delete': {
    tier: 3,
    scopes: ['chat:write'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const m = ctx.ws.message(ch, req(a, 'ts'));
      if (!m) throw new ApiError('message_not_found');
      // Workspace admins' user tokens may delete anyone's message.
      const own = ctx.isBot ? m.bot : !m.bot && m.user === ctx.actorId;
      if (!own && (ctx.isBot || !ctx.ws.user(ctx.actorId)?.is_admin)) throw new ApiError('cant_delete_message');
      ctx.ws.delete(ch, m, ctx.actorId);
      return { channel: ch.id, ts: m.ts };
    },
  },

  'chat.postEphemeral': {
    tier: 4,
    scopes: ['chat:write'],
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      requireWrite(ctx, ch);
      const user = req(a, 'user');
      if (!ctx.ws.isKnownUser(user)) throw new ApiError('user_not_found');
      if (!ch.members.includes(user)) throw new ApiError('user_not_in_channel');
      const content = messageContent(a);
      const ts = ctx.ws.nextTs();
      const threadTs = str(a, 'thread_ts');
      ctx.ws.data.ephemerals.push({
        channel: ch.id,
        user,
        message_ts: ts,
        text: content.text,
        ...(content.blocks ? { blocks: content.blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        source: 'chat.postEphemeral',
        at: new Date().toISOString(),
      });
      ctx.ws.onChange();
      return { message_ts: ts };
    },
  },

  'chat.scheduleMessage': {
    tier: 3,
    scopes: ['chat:write'],
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      requireWrite(ctx, ch);
      const postAt = int(a, 'post_at', NaN);
      if (!Number.isFinite(postAt)) throw new ApiError('invalid_time');
      const now = Date.now() / 1000;
      if (postAt <= now) throw new ApiError('time_in_past');
      if (postAt > now + 120 * 86_400) throw new ApiError('time_too_far');
      const content = messageContent(a);
      const metadata = metadataArg(a);
      const threadTs = str(a, 'thread_ts');
      const s: ScheduledMessage = {
        id: randomId('Q'),
        channel: ch.id,
        post_at: postAt,
        text: content.text,
        ...(content.blocks ? { blocks: content.blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(metadata ? { metadata } : {}),
        date_created: Math.floor(now),
        state: 'pending',
      };
      ctx.ws.data.scheduled.push(s);
      ctx.schedule(s);
      ctx.ws.onChange();
      return {
        channel: ch.id,
        scheduled_message_id: s.id,
        post_at: postAt,
        message: {
          bot_id: ctx.ws.seed.bot.bot_id,
          type: 'delayed_message',
          text: s.text,
          user: ctx.ws.botUserId,
          team: ctx.ws.teamId,
          ...(s.blocks ? { blocks: s.blocks } : {}),
          bot_profile: ctx.ws.botProfile(),
        },
      };
    },
  },

  'chat.deleteScheduledMessage': {
    tier: 3,
    scopes: ['chat:write'],
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      const id = req(a, 'scheduled_message_id');
      const s = ctx.ws.data.scheduled.find((x) => x.id === id && x.channel === ch.id && x.state === 'pending');
      if (!s) throw new ApiError('invalid_scheduled_message_id');
      s.state = 'deleted';
      ctx.ws.onChange();
      return {};
    },
  },

  'chat.scheduledMessages.list': {
    tier: 3,
    handler: (a, ctx) => {
      const channel = str(a, 'channel');
      const list = ctx.ws.data.scheduled
        .filter((s) => s.state === 'pending' && (!channel || s.channel === channel))
        .map((s) => ({
          id: s.id,
          channel_id: s.channel,
          post_at: s.post_at,
          date_created: s.date_created,
          text: s.text,
        }));
      const p = page(list, a, 'offset', 100);
      return { scheduled_messages: p.items, response_metadata: { next_cursor: p.next } };
    },
  },

  'chat.getPermalink': {
    tier: 4,
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const m = ctx.ws.message(ch, req(a, 'message_ts'));
      if (!m) throw new ApiError('message_not_found');
      const base = `https://${ctx.ws.seed.team.domain}.slack.com/archives/${ch.id}/p${m.ts.replace('.', '')}`;
      const permalink = m.thread_ts && m.thread_ts !== m.ts ? `${base}?thread_ts=${m.thread_ts}&cid=${ch.id}` : base;
      return { channel: ch.id, permalink };
    },
  },

  'reactions.add': {
    tier: 3,
    scopes: ['reactions:write'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const m = ctx.ws.message(ch, req(a, 'timestamp'));
      if (!m) throw new ApiError('message_not_found');
      if (ch.is_archived) throw new ApiError('is_archived');
      const name = emojiArg(ctx, a);
      if (!ctx.ws.addReaction(ch, m, ctx.actorId, name)) throw new ApiError('already_reacted');
      return {};
    },
  },

  'reactions.remove': {
    tier: 2,
    scopes: ['reactions:write'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const m = ctx.ws.message(ch, req(a, 'timestamp'));
      if (!m) throw new ApiError('message_not_found');
      const name = emojiArg(ctx, a);
      if (!ctx.ws.removeReaction(ch, m, ctx.actorId, name)) throw new ApiError('no_reaction');
      return {};
    },
  },

  'reactions.get': {
    tier: 3,
    scopes: ['reactions:read'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const m = ctx.ws.message(ch, req(a, 'timestamp'));
      if (!m) throw new ApiError('message_not_found');
      return { type: 'message', channel: ch.id, message: ctx.ws.apiMessage(m) };
    },
  },

  'conversations.history': {
    tier: 3,
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      requireHistoryScope(ctx, ch);
      requireRead(ctx, ch);
      const oldest = tsNum(str(a, 'oldest') ?? '0');
      const latest = str(a, 'latest') ? tsNum(str(a, 'latest')!) : Infinity;
      const inclusive = bool(a, 'inclusive');
      const all = ch.messages
        .filter((m) => !m.deleted && ctx.ws.isTopLevel(m))
        .filter((m) => {
          const t = tsNum(m.ts);
          return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
        })
        .reverse();
      const p = page(all, a, 'next_ts', 100);
      const meta = bool(a, 'include_all_metadata');
      return {
        messages: p.items.map((m) => ctx.ws.apiMessage(m, { metadata: meta })),
        has_more: p.next !== '',
        pin_count: 0,
        channel_actions_ts: null,
        channel_actions_count: 0,
        response_metadata: { next_cursor: p.next },
      };
    },
  },

  'conversations.replies': {
    tier: 3,
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      requireHistoryScope(ctx, ch);
      requireRead(ctx, ch);
      const m = ctx.ws.message(ch, req(a, 'ts'));
      if (!m) throw new ApiError('thread_not_found');
      const rootTs = m.thread_ts ?? m.ts;
      const root = ctx.ws.message(ch, rootTs);
      if (!root) throw new ApiError('thread_not_found');
      const all = [root, ...ctx.ws.replies(ch, rootTs)];
      const p = page(all, a, 'offset', 1000);
      const meta = bool(a, 'include_all_metadata');
      return {
        messages: p.items.map((x) => ctx.ws.apiMessage(x, { metadata: meta })),
        has_more: p.next !== '',
        response_metadata: { next_cursor: p.next },
      };
    },
  },

  'conversations.info': {
    tier: 3,
    scopes: ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      if (ch.is_private && !botIn(ctx, ch)) throw new ApiError('channel_not_found');
      return { channel: ctx.ws.apiChannel(ch) };
    },
  },

  'conversations.list': {
    tier: 2,
    scopes: ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
    handler: (a, ctx) => {
      const types = (str(a, 'types') ?? 'public_channel').split(',').map((t) => t.trim());
      const excludeArchived = bool(a, 'exclude_archived');
      const all = Object.values(ctx.ws.data.channels).filter((c) => {
        if (excludeArchived && c.is_archived) return false;
        if (c.is_im) return types.includes('im');
        if (c.is_private) return types.includes('private_channel') && botIn(ctx, c);
        return types.includes('public_channel');
      });
      const p = page(all, a, 'offset', 100);
      return { channels: p.items.map((c) => ctx.ws.apiChannel(c)), response_metadata: { next_cursor: p.next } };
    },
  },

  'conversations.create': {
    tier: 2,
    scopes: ['channels:manage', 'groups:write'],
    handler: (a, ctx) => {
      const name = str(a, 'name');
      if (!name) throw new ApiError('invalid_name_required');
      if (name.length > 80) throw new ApiError('invalid_name_maxlength');
      if (!/^[a-z0-9_-]+$/.test(name)) throw new ApiError('invalid_name_specials');
      if (ctx.ws.channelByName(name)) throw new ApiError('name_taken');
      const isPrivate = bool(a, 'is_private');
      if (isPrivate && !ctx.scopes.includes('groups:write'))
        throw new ApiError('missing_scope', { needed: 'groups:write', provided: ctx.scopes.join(',') });
      if (!isPrivate && !ctx.scopes.includes('channels:manage'))
        throw new ApiError('missing_scope', { needed: 'channels:manage', provided: ctx.scopes.join(',') });
      const ch: StoredChannel = {
        // Private channels created today get C ids too (G ids are legacy).
        id: randomId('C'),
        name,
        is_private: isPrivate,
        is_archived: false,
        is_im: false,
        members: [ctx.actorId],
        created: Math.floor(Date.now() / 1000),
        creator: ctx.actorId,
        topic: '',
        purpose: '',
        messages: [],
      };
      ctx.ws.data.channels[ch.id] = ch;
      ctx.ws.onChange();
      return { channel: ctx.ws.apiChannel(ch, ctx.actorId) };
    },
  },

  'conversations.join': {
    tier: 3,
    scopes: ['channels:join'],
    handler: (a, ctx) => {
      const ch = resolveChannel(ctx, req(a, 'channel'));
      if (ch.is_im || ch.is_private) throw new ApiError('method_not_supported_for_channel_type');
      if (ch.is_archived) throw new ApiError('is_archived');
      if (botIn(ctx, ch))
        return {
          channel: ctx.ws.apiChannel(ch, ctx.actorId),
          warning: 'already_in_channel',
          response_metadata: { warnings: ['already_in_channel'] },
        };
      ctx.ws.join(ch, [ctx.actorId]);
      return { channel: ctx.ws.apiChannel(ch, ctx.actorId) };
    },
  },

  'conversations.invite': {
    tier: 3,
    scopes: ['channels:manage', 'groups:write'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      if (ch.is_im) throw new ApiError('method_not_supported_for_channel_type');
      if (ch.is_archived) throw new ApiError('is_archived');
      if (!botIn(ctx, ch)) throw new ApiError('not_in_channel');
      const users = (str(a, 'users') ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      if (users.length === 0) throw new ApiError('no_user');
      if (users.length > 1000) throw new ApiError('too_many_users');
      if (users.includes(ctx.actorId)) throw new ApiError('cant_invite_self');
      // Each user is checked on its own; without `force` one bad id fails the whole call and
      // nothing changes, with `force` the valid ones are added and the rest reported in `errors`.
      const errors: { user: string; ok: false; error: string }[] = [];
      const valid: string[] = [];
      for (const u of [...new Set(users)]) {
        const error = inviteError(ctx, ch, u);
        if (error) errors.push({ user: u, ok: false, error });
        else valid.push(u);
      }
      const force = bool(a, 'force');
      if (errors.length && (!force || valid.length === 0))
        throw new ApiError(errors[0]!.error, users.length > 1 ? { errors } : {});
      ctx.ws.join(ch, valid, ctx.actorId);
      return { channel: ctx.ws.apiChannel(ch, ctx.actorId), ...(errors.length ? { errors } : {}) };
    },
  },

  'conversations.kick': {
    tier: 3,
    scopes: ['channels:manage', 'groups:write'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const user = str(a, 'user');
      if (!user) throw new ApiError('user_not_found');
      if (user === ctx.actorId) throw new ApiError('cant_kick_self');
      if (ch.is_im) throw new ApiError('method_not_supported_for_channel_type');
      const pref = ch.is_private ? ctx.ws.data.prefs.who_can_kick_groups : ctx.ws.data.prefs.who_can_kick_channels;
      // Bot users are never workspace admins, so an admins-only preference stops every bot.
      if (pref === 'admins' && (ctx.isBot || !ctx.ws.user(ctx.actorId)?.is_admin))
        throw new ApiError('restricted_action');
      if (!botIn(ctx, ch)) throw new ApiError('not_in_channel');
      if (!ctx.ws.isKnownUser(user)) throw new ApiError('user_not_found');
      if (!ch.members.includes(user)) throw new ApiError('not_in_channel');
      ctx.ws.leave(ch, user, ctx.actorId);
      return {};
    },
  },

  'conversations.leave': {
    tier: 3,
    scopes: ['channels:manage', 'channels:write', 'groups:write', 'im:write', 'mpim:write'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      if (ch.is_im) throw new ApiError('method_not_supported_for_channel_type');
      if (ch.is_archived) throw new ApiError('is_archived');
      // Slack answers a leave by a non-member with `{ok:false, not_in_channel:true}` and no error code.
      if (!ch.members.includes(ctx.actorId)) throw new ApiError('', { not_in_channel: true });
      if (ch.members.length === 1) throw new ApiError('last_member');
      ctx.ws.leave(ch, ctx.actorId);
      return {};
    },
  },

  'conversations.members': {
    tier: 4,
    scopes: ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
    handler: (a, ctx) => {
      const ch = visibleChannel(ctx, req(a, 'channel'));
      const limit = int(a, 'limit', 100);
      if (limit < 1 || limit > 1000) throw new ApiError('invalid_limit');
      // Deactivated accounts drop out of member lists.
      const members = ch.members.filter((m) => !ctx.ws.user(m)?.deleted);
      const p = page(members, a, 'offset', 100);
      return { members: p.items, response_metadata: { next_cursor: p.next } };
    },
  },

  'conversations.open': {
    tier: 3,
    scopes: ['im:write'],
    handler: (a, ctx) => {
      const users = req(a, 'users').split(',');
      if (users.length !== 1) throw new ApiError('not_implemented');
      const u = users[0]!.trim();
      if (!ctx.ws.user(u)) throw new ApiError('user_not_found');
      const ch = ctx.ws.openIm(u);
      return { channel: { id: ch.id } };
    },
  },

  'users.info': {
    tier: 4,
    scopes: ['users:read'],
    handler: (a, ctx) => {
      const u = ctx.ws.apiUser(req(a, 'user'), ctx.scopes.includes('users:read.email'));
      if (!u) throw new ApiError('user_not_found');
      return { user: u };
    },
  },

  'users.list': {
    tier: 2,
    scopes: ['users:read'],
    handler: (a, ctx) => {
      const email = ctx.scopes.includes('users:read.email');
      const ids = [ctx.ws.botUserId, ...ctx.ws.users().map((u) => u.id)];
      // "Fewer than the requested number of items may be returned": pages never exceed 200.
      const limit = Math.min(int(a, 'limit', 0) || USERS_PAGE_MAX, USERS_PAGE_MAX);
      if (limit < 0) throw new ApiError('invalid_limit');
      const after = decodeCursor(str(a, 'cursor'), 'user');
      const start = after === undefined ? 0 : ids.indexOf(after);
      if (start < 0) throw new ApiError('invalid_cursor');
      const pageIds = ids.slice(start, start + limit);
      const next = ids[start + limit];
      return {
        members: pageIds.map((id) => ctx.ws.apiUser(id, email)!),
        cache_ts: Math.floor(Date.now() / 1000),
        response_metadata: { next_cursor: next ? encodeCursor('user', next) : '' },
      };
    },
  },

  'users.lookupByEmail': {
    tier: 3,
    scopes: ['users:read.email'],
    handler: (a, ctx) => {
      const u = ctx.ws.userByEmail(req(a, 'email'));
      if (!u) throw new ApiError('users_not_found');
      return { user: ctx.ws.apiUser(u.id, true) };
    },
  },

  'views.open': {
    tier: 4,
    handler: (a, ctx) => {
      const v = viewArg(a);
      if (v.type !== 'modal')
        throw new ApiError('invalid_arguments', {
          response_metadata: { messages: ['[ERROR] must be modal [json-pointer:/view/type]'] },
        });
      const t = useTrigger(ctx, a);
      // Opening a new root modal replaces whatever stack the user had.
      ctx.ws.clearViews(t.user);
      const stored = storeView(ctx, v, t.user, undefined);
      ctx.ws.data.viewStacks[t.user] = [stored.id];
      ctx.ws.onChange();
      return { view: ctx.ws.apiView(stored) };
    },
  },

  'views.push': {
    tier: 4,
    handler: (a, ctx) => {
      const v = viewArg(a);
      const t = useTrigger(ctx, a);
      const stack = ctx.ws.data.viewStacks[t.user] ?? [];
      const top = ctx.ws.topView(t.user);
      if (!top) throw new ApiError('not_found');
      if (stack.length >= 3) throw new ApiError('push_limit_reached');
      const stored = storeView(ctx, v, t.user, top, top.root_view_id);
      stack.push(stored.id);
      ctx.ws.data.viewStacks[t.user] = stack;
      ctx.ws.onChange();
      return { view: ctx.ws.apiView(stored) };
    },
  },

  'views.update': {
    tier: 4,
    handler: (a, ctx) => {
      const viewId = str(a, 'view_id');
      const externalId = str(a, 'external_id');
      if (!viewId && !externalId)
        throw new ApiError('invalid_arguments', {
          response_metadata: { messages: ['[ERROR] view_id or external_id required'] },
        });
      const v = viewArg(a);
      const target = viewId
        ? ctx.ws.data.views[viewId]
        : Object.values(ctx.ws.data.views).find((x) => x.external_id === externalId);
      if (!target) throw new ApiError('not_found');
      const hash = str(a, 'hash');
      if (hash && hash !== target.hash) throw new ApiError('hash_conflict');
      replaceViewContent(ctx.ws, target, v);
      return { view: ctx.ws.apiView(target) };
    },
  },

  'views.publish': {
    tier: 4,
    handler: (a, ctx) => {
      const user = req(a, 'user_id');
      if (!ctx.ws.user(user)) throw new ApiError('user_not_found');
      const v = viewArg(a);
      if (v.type !== 'home')
        throw new ApiError('invalid_arguments', {
          response_metadata: { messages: ['[ERROR] must be home [json-pointer:/view/type]'] },
        });
      const existingId = ctx.ws.data.homeViews[user];
      const existing = existingId ? ctx.ws.data.views[existingId] : undefined;
      const hash = str(a, 'hash');
      if (existing && hash && hash !== existing.hash) throw new ApiError('hash_conflict');
      if (existing) {
        replaceViewContent(ctx.ws, existing, v);
        return { view: ctx.ws.apiView(existing) };
      }
      const stored = storeView(ctx, v, user, undefined);
      ctx.ws.data.homeViews[user] = stored.id;
      ctx.ws.onChange();
      return { view: ctx.ws.apiView(stored) };
    },
  },
};
