import { randomBytes, randomUUID } from 'node:crypto';
import { richTextFor, withBlockIds } from './blocks.js';
import { slackSeedSchema } from './seed.js';
import type { ParsedSlackSeed, SeedUser, SlackSeed } from './seed.js';

export type Obj = Record<string, unknown>;

export interface Reaction {
  name: string;
  users: string[];
  count: number;
}

export interface MessageMetadata {
  event_type: string;
  event_payload: unknown;
}

export interface StoredMessage {
  ts: string;
  channel: string;
  user: string;
  /** Posted by the app's bot user through the Web API. */
  bot: boolean;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: MessageMetadata;
  thread_ts?: string;
  /** A thread reply also shown in the channel (`subtype: thread_broadcast`). */
  broadcast?: boolean;
  client_msg_id?: string;
  edited?: { user: string; ts: string };
  reactions: Reaction[];
  deleted?: { at: string; by: string };
  /** Previous versions, oldest first, for inspection. */
  history: { replacedAt: string; text: string; blocks?: unknown[] }[];
}

export interface StoredChannel {
  id: string;
  name: string;
  is_private: boolean;
  is_archived: boolean;
  is_im: boolean;
  im_user?: string;
  members: string[];
  created: number;
  creator: string;
  topic: string;
  purpose: string;
  messages: StoredMessage[];
}

export interface StoredView {
  id: string;
  team_id: string;
  type: 'modal' | 'home';
  user: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks: unknown[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  hash: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  previous_view_id: string | null;
  root_view_id: string;
  /** open: on a user's stack (or published home); closed views stay for inspection. */
  open: boolean;
  /** Field errors the app returned with `response_action: errors` on the last submission. */
  errors?: Record<string, string>;
}

export interface EphemeralRecord {
  channel: string;
  user: string;
  message_ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  source: 'chat.postEphemeral' | 'response_url' | 'command';
  at: string;
}

export interface ResponseUrlRecord {
  id: string;
  createdAt: number;
  uses: number;
  channel: string;
  user: string;
  /** The message the interaction came from (block_actions on a message), for replace/delete_original. */
  message_ts?: string;
  source: 'block_actions' | 'command';
}

export interface ResponseUrlPost {
  id: string;
  at: string;
  status: number;
  body: unknown;
  effect: string;
}

export interface ScheduledMessage {
  id: string;
  channel: string;
  post_at: number;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  metadata?: MessageMetadata;
  date_created: number;
  state: 'pending' | 'posted' | 'dropped' | 'deleted';
  posted_ts?: string;
}

/** A person of the workspace; flags follow users.list (`deleted`, `is_restricted`, `is_invited_user`, …). */
export type StoredUser = SeedUser & { updated: number };

/** An `admin.users.invite` (or a seeded pending invite) and what became of it. */
export interface InviteRecord {
  id: string;
  email: string;
  user_id: string;
  channel_ids: string[];
  is_restricted: boolean;
  is_ultra_restricted: boolean;
  invited_by: string;
  date_created: number;
  state: 'pending' | 'accepted';
  resend: boolean;
}

export interface WorkspacePrefs {
  admin_api_enabled: boolean;
  who_can_kick_channels: 'everyone' | 'admins';
  who_can_kick_groups: 'everyone' | 'admins';
}

export interface WorkspaceData {
  lastTsMicros: number;
  /** Whether the app is installed here: events are only delivered to installed workspaces. */
  installed: boolean;
  users: Record<string, StoredUser>;
  invites: InviteRecord[];
  prefs: WorkspacePrefs;
  channels: Record<string, StoredChannel>;
  views: Record<string, StoredView>;
  /** Per user: the modal stack, bottom first. */
  viewStacks: Record<string, string[]>;
  homeViews: Record<string, string>;
  ephemerals: EphemeralRecord[];
  responseUrls: Record<string, ResponseUrlRecord>;
  responsePosts: ResponseUrlPost[];
  scheduled: ScheduledMessage[];
}

export interface MessageChange {
  kind: 'posted' | 'edited' | 'deleted';
  channel: StoredChannel;
  message: StoredMessage;
  previous?: StoredMessage;
}

export interface MembershipChange {
  kind: 'joined' | 'left';
  channel: StoredChannel;
  user: string;
  /** Who added or removed them (absent when they joined or left themselves). */
  by?: string;
}

export interface ReactionChange {
  kind: 'added' | 'removed';
  channel: StoredChannel;
  message: StoredMessage;
  user: string;
  name: string;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export function randomId(prefix: string, len = 10): string {
  const bytes = randomBytes(len);
  let s = prefix;
  for (const b of bytes) s += UPPER[b % UPPER.length];
  return s;
}

export const clone = <T>(v: T): T => structuredClone(v);

/**
 * The workspace's state and the mutations both the Web API and the admin ("people") API use.
 * Every mutation reports through `onMessage`/`onReaction` so the outbound side can emit events,
 * and through `onChange` so the snapshot can be saved.
 */
export class Workspace {
  seed: ParsedSlackSeed;
  data!: WorkspaceData;
  onMessage: (c: MessageChange) => void = () => {};
  onReaction: (c: ReactionChange) => void = () => {};
  onMembership: (c: MembershipChange) => void = () => {};
  onChange: () => void = () => {};

  /** `installedAtStart`: whether `reset()` leaves the app installed (the primary workspace is). */
  constructor(
    seed: SlackSeed,
    private readonly installedAtStart = true,
  ) {
    this.seed = slackSeedSchema.parse(seed);
    this.reset();
  }

  get enterprise(): { id: string; name: string } | null {
    return this.seed.enterprise ?? null;
  }

  get teamId(): string {
    return this.seed.team.id;
  }
  get botUserId(): string {
    return this.seed.bot.user_id;
  }

  reset(): void {
    const created = Math.floor(Date.now() / 1000) - 86_400;
    const people = this.seed.users.map((u) => u.id);
    const channels: Record<string, StoredChannel> = {};
    for (const c of this.seed.channels) {
      const members = [...(c.members ?? people)];
      if (c.bot_member && !members.includes(this.botUserId)) members.push(this.botUserId);
      channels[c.id] = {
        id: c.id,
        name: c.name,
        is_private: c.is_private,
        is_archived: c.is_archived,
        is_im: false,
        members,
        created,
        creator: people[0] ?? this.botUserId,
        topic: c.topic,
        purpose: c.purpose,
        messages: [],
      };
    }
    const users: Record<string, StoredUser> = {};
    for (const u of this.seed.users) users[u.id] = { ...u, updated: 1732000000 };
    this.data = {
      lastTsMicros: 0,
      installed: this.installedAtStart,
      users,
      invites: [],
      prefs: { ...this.seed.prefs },
      channels,
      views: {},
      viewStacks: {},
      homeViews: {},
      ephemerals: [],
      responseUrls: {},
      responsePosts: [],
      scheduled: [],
    };
  }

  load(data: WorkspaceData): void {
    this.data = data;
  }

  /** Every person (not the app's bot user), in creation order. */
  users(): StoredUser[] {
    return Object.values(this.data.users);
  }

  addUser(u: SeedUser): StoredUser {
    const stored: StoredUser = { ...u, updated: Math.floor(Date.now() / 1000) };
    this.data.users[u.id] = stored;
    this.onChange();
    return stored;
  }

  userByEmail(email: string): StoredUser | undefined {
    const e = email.toLowerCase();
    return this.users().find((u) => u.email.toLowerCase() === e);
  }

  /** Adds people to a channel (no-op for members) and reports each new membership. */
  join(ch: StoredChannel, users: string[], by?: string): string[] {
    const fresh = users.filter((u) => !ch.members.includes(u));
    ch.members.push(...fresh);
    for (const user of fresh) this.onMembership({ kind: 'joined', channel: ch, user, ...(by ? { by } : {}) });
    if (fresh.length) this.onChange();
    return fresh;
  }

  leave(ch: StoredChannel, user: string, by?: string): boolean {
    if (!ch.members.includes(user)) return false;
    ch.members = ch.members.filter((m) => m !== user);
    this.onMembership({ kind: 'left', channel: ch, user, ...(by ? { by } : {}) });
    this.onChange();
    return true;
  }

  /** Monotonic, unique message timestamps in Slack's `seconds.micros` format. */
  nextTs(): string {
    const micros = Math.max(Date.now() * 1000, this.data.lastTsMicros + 1);
    this.data.lastTsMicros = micros;
    const s = String(micros);
    return `${s.slice(0, -6)}.${s.slice(-6)}`;
  }

  user(id: string): StoredUser | undefined {
    return this.data.users[id];
  }
  isKnownUser(id: string): boolean {
    return id === this.botUserId || this.user(id) !== undefined;
  }
  userName(id: string): string {
    return id === this.botUserId ? this.seed.bot.name : (this.user(id)?.name ?? id);
  }

  channel(id: string): StoredChannel | undefined {
    return this.data.channels[id];
  }
  channelByName(name: string): StoredChannel | undefined {
    return Object.values(this.data.channels).find((c) => c.name === name && !c.is_im);
  }

  /** The DM between the bot and `userId`, created on first use like `conversations.open`. */
  openIm(userId: string): StoredChannel {
    const existing = Object.values(this.data.channels).find((c) => c.is_im && c.im_user === userId);
    if (existing) return existing;
    const ch: StoredChannel = {
      id: randomId('D'),
      name: userId,
      is_private: true,
      is_archived: false,
      is_im: true,
      im_user: userId,
      members: [userId, this.botUserId],
      created: Math.floor(Date.now() / 1000),
      creator: this.botUserId,
      topic: '',
      purpose: '',
      messages: [],
    };
    this.data.channels[ch.id] = ch;
    this.onChange();
    return ch;
  }

  message(ch: StoredChannel, ts: string): StoredMessage | undefined {
    return ch.messages.find((m) => m.ts === ts && !m.deleted);
  }

  replies(ch: StoredChannel, parentTs: string): StoredMessage[] {
    return ch.messages.filter((m) => m.thread_ts === parentTs && m.ts !== parentTs && !m.deleted);
  }

  isTopLevel(m: StoredMessage): boolean {
    return !m.thread_ts || m.thread_ts === m.ts || m.broadcast === true;
  }

  post(
    ch: StoredChannel,
    input: {
      user: string;
      bot: boolean;
      text: string;
      blocks?: unknown[];
      attachments?: unknown[];
      metadata?: MessageMetadata;
      thread_ts?: string;
      reply_broadcast?: boolean;
    },
  ): StoredMessage {
    const ts = this.nextTs();
    const m: StoredMessage = {
      ts,
      channel: ch.id,
      user: input.user,
      bot: input.bot,
      text: input.text,
      reactions: [],
      history: [],
    };
    if (input.blocks) m.blocks = withBlockIds(input.blocks);
    else if (!input.bot && input.text) m.blocks = richTextFor(input.text);
    if (input.attachments) m.attachments = input.attachments;
    if (input.metadata) m.metadata = input.metadata;
    if (!input.bot) m.client_msg_id = randomUUID();
    if (input.thread_ts) {
      m.thread_ts = input.thread_ts;
      const parent = this.message(ch, input.thread_ts);
      // The parent becomes a thread root: Slack sets thread_ts = ts on it.
      if (parent && !parent.thread_ts) parent.thread_ts = parent.ts;
      if (input.reply_broadcast) m.broadcast = true;
    }
    ch.messages.push(m);
    this.onMessage({ kind: 'posted', channel: ch, message: m });
    this.onChange();
    return m;
  }

  edit(
    ch: StoredChannel,
    m: StoredMessage,
    patch: { text?: string; blocks?: unknown[] | null; attachments?: unknown[]; metadata?: MessageMetadata },
    editor: string,
  ): StoredMessage {
    const previous = clone(m);
    m.history.push({ replacedAt: new Date().toISOString(), text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
    if (patch.text !== undefined) m.text = patch.text;
    if (patch.blocks === null) delete m.blocks;
    else if (patch.blocks !== undefined) {
      if (patch.blocks.length === 0) delete m.blocks;
      else m.blocks = withBlockIds(patch.blocks);
    }
    if (patch.attachments !== undefined) m.attachments = patch.attachments;
    if (patch.metadata !== undefined) m.metadata = patch.metadata;
    const nowSec = Math.floor(Date.now() / 1000);
    m.edited = { user: editor, ts: `${nowSec}.000000` };
    this.onMessage({ kind: 'edited', channel: ch, message: m, previous });
    this.onChange();
    return m;
  }

  delete(ch: StoredChannel, m: StoredMessage, by: string): void {
    const previous = clone(m);
    m.deleted = { at: new Date().toISOString(), by };
    this.onMessage({ kind: 'deleted', channel: ch, message: m, previous });
    this.onChange();
  }

  /** Returns false when the user already reacted with that name. */
  addReaction(ch: StoredChannel, m: StoredMessage, user: string, name: string): boolean {
    let r = m.reactions.find((x) => x.name === name);
    if (r?.users.includes(user)) return false;
    if (!r) {
      r = { name, users: [], count: 0 };
      m.reactions.push(r);
    }
    r.users.push(user);
    r.count = r.users.length;
    this.onReaction({ kind: 'added', channel: ch, message: m, user, name });
    this.onChange();
    return true;
  }

  /** Returns false when there was no such reaction by that user. */
  removeReaction(ch: StoredChannel, m: StoredMessage, user: string, name: string): boolean {
    const r = m.reactions.find((x) => x.name === name);
    if (!r?.users.includes(user)) return false;
    r.users = r.users.filter((u) => u !== user);
    r.count = r.users.length;
    if (r.count === 0) m.reactions = m.reactions.filter((x) => x !== r);
    this.onReaction({ kind: 'removed', channel: ch, message: m, user, name });
    this.onChange();
    return true;
  }

  /** The message as the Web API (and event payloads) show it. */
  apiMessage(m: StoredMessage, opts: { metadata?: boolean } = {}): Obj {
    const out: Obj = { type: 'message' };
    if (m.broadcast) out.subtype = 'thread_broadcast';
    out.text = m.text;
    out.user = m.user;
    out.ts = m.ts;
    if (m.bot) {
      out.bot_id = this.seed.bot.bot_id;
      out.app_id = this.seed.app.id;
    }
    if (m.client_msg_id) out.client_msg_id = m.client_msg_id;
    if (m.blocks) out.blocks = m.blocks;
    if (m.attachments) out.attachments = m.attachments;
    out.team = this.teamId;
    if (m.bot) out.bot_profile = this.botProfile();
    if (m.thread_ts) {
      out.thread_ts = m.thread_ts;
      const ch = this.channel(m.channel);
      if (m.thread_ts === m.ts && ch) {
        const replies = this.replies(ch, m.ts);
        const users = [...new Set(replies.map((r) => r.user))];
        out.reply_count = replies.length;
        out.reply_users_count = users.length;
        out.latest_reply = replies.at(-1)?.ts ?? m.ts;
        out.reply_users = users;
        out.is_locked = false;
        out.subscribed = false;
      } else if (ch) {
        const parent = this.message(ch, m.thread_ts);
        if (parent) out.parent_user_id = parent.user;
      }
    }
    if (m.edited) out.edited = m.edited;
    if (m.reactions.length > 0) out.reactions = clone(m.reactions);
    if (opts.metadata && m.metadata) out.metadata = m.metadata;
    return out;
  }

  botProfile(): Obj {
    return {
      id: this.seed.bot.bot_id,
      deleted: false,
      name: this.seed.bot.name,
      updated: 1732000000,
      app_id: this.seed.app.id,
      icons: {
        image_36: 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png',
        image_48: 'https://a.slack-edge.com/80588/img/plugins/app/bot_48.png',
        image_72: 'https://a.slack-edge.com/80588/img/plugins/app/service_72.png',
      },
      team_id: this.teamId,
    };
  }

  apiChannel(ch: StoredChannel, forUser: string = this.botUserId): Obj {
    if (ch.is_im) {
      return {
        id: ch.id,
        created: ch.created,
        is_im: true,
        is_org_shared: false,
        user: ch.im_user,
        is_user_deleted: false,
        priority: 0,
      };
    }
    return {
      id: ch.id,
      name: ch.name,
      is_channel: !ch.is_private,
      is_group: false,
      is_im: false,
      is_mpim: false,
      is_private: ch.is_private,
      created: ch.created,
      is_archived: ch.is_archived,
      is_general: false,
      unlinked: 0,
      name_normalized: ch.name,
      is_shared: false,
      is_org_shared: false,
      is_pending_ext_shared: false,
      pending_shared: [],
      context_team_id: this.teamId,
      updated: ch.created * 1000,
      parent_conversation: null,
      creator: ch.creator,
      is_ext_shared: false,
      shared_team_ids: [this.teamId],
      pending_connected_team_ids: [],
      is_member: ch.members.includes(forUser),
      topic: { value: ch.topic, creator: '', last_set: 0 },
      purpose: { value: ch.purpose, creator: '', last_set: 0 },
      previous_names: [],
      num_members: ch.members.length,
    };
  }

  apiUser(id: string, withEmail: boolean): Obj | undefined {
    if (id === this.botUserId) {
      return {
        id,
        team_id: this.teamId,
        name: this.seed.bot.name,
        deleted: false,
        real_name: this.seed.bot.name,
        tz: 'America/Los_Angeles',
        tz_label: 'Pacific Standard Time',
        tz_offset: -28800,
        profile: {
          real_name: this.seed.bot.name,
          display_name: '',
          real_name_normalized: this.seed.bot.name,
          display_name_normalized: '',
          bot_id: this.seed.bot.bot_id,
          api_app_id: this.seed.app.id,
          always_active: true,
          team: this.teamId,
        },
        is_admin: false,
        is_owner: false,
        is_primary_owner: false,
        is_restricted: false,
        is_ultra_restricted: false,
        is_bot: true,
        is_app_user: false,
        updated: 1732000000,
      };
    }
    const u = this.user(id);
    if (!u) return undefined;
    const profile: Obj = {
      ...(u.is_bot ? { bot_id: `B${u.id.slice(1)}`, always_active: false } : {}),
      title: '',
      phone: '',
      real_name: u.real_name,
      real_name_normalized: u.real_name,
      display_name: u.display_name,
      display_name_normalized: u.display_name,
      status_text: '',
      status_emoji: '',
      image_48: `https://secure.gravatar.com/avatar/${u.id}.jpg?s=48`,
      team: this.teamId,
    };
    if (withEmail) profile.email = u.email;
    return {
      id: u.id,
      team_id: this.teamId,
      name: u.name,
      deleted: u.deleted,
      color: '9f69e7',
      real_name: u.real_name,
      tz: u.tz,
      tz_label: u.tz === 'Asia/Kolkata' ? 'India Standard Time' : u.tz,
      tz_offset: u.tz === 'Asia/Kolkata' ? 19800 : 0,
      profile,
      is_admin: u.is_admin,
      is_owner: u.is_owner,
      is_primary_owner: false,
      is_restricted: u.is_restricted || u.is_ultra_restricted,
      is_ultra_restricted: u.is_ultra_restricted,
      is_bot: u.is_bot,
      is_app_user: false,
      updated: u.updated,
      // Slack only sends is_invited_user (always true) while the invite is pending.
      ...(u.is_invited_user ? { is_invited_user: true } : {}),
      is_email_confirmed: !u.is_invited_user,
    };
  }

  apiView(v: StoredView): Obj {
    const out: Obj = {
      id: v.id,
      team_id: v.team_id,
      type: v.type,
      blocks: v.blocks,
      private_metadata: v.private_metadata,
      callback_id: v.callback_id,
      state: { values: {} },
      hash: v.hash,
    };
    if (v.type === 'modal') {
      out.title = v.title;
      out.clear_on_close = v.clear_on_close;
      out.notify_on_close = v.notify_on_close;
      out.close = v.close ?? null;
      out.submit = v.submit ?? null;
    }
    Object.assign(out, {
      previous_view_id: v.previous_view_id,
      root_view_id: v.root_view_id,
      app_id: this.seed.app.id,
      external_id: v.external_id,
      app_installed_team_id: this.teamId,
      bot_id: this.seed.bot.bot_id,
    });
    return out;
  }

  newViewHash(): string {
    return `${Math.floor(Date.now() / 1000)}.${randomBytes(6).toString('base64url').slice(0, 8)}`;
  }

  /** The top modal of a user's stack. */
  topView(user: string): StoredView | undefined {
    const id = this.data.viewStacks[user]?.at(-1);
    return id ? this.data.views[id] : undefined;
  }

  closeTopView(user: string): StoredView | undefined {
    const stack = this.data.viewStacks[user] ?? [];
    const id = stack.pop();
    const v = id ? this.data.views[id] : undefined;
    if (v) v.open = false;
    this.onChange();
    return v;
  }

  clearViews(user: string): void {
    for (const id of this.data.viewStacks[user] ?? []) {
      const v = this.data.views[id];
      if (v) v.open = false;
    }
    this.data.viewStacks[user] = [];
    this.onChange();
  }
}
