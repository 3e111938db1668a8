import { attemptDelivery, deliverWithRetries } from '../shared/delivery.js';
import type { DeliveryRecord } from '../shared/delivery.js';
import { StoppableTimers } from '../shared/timers.js';
import { signedHeaders } from './signing.js';
import type { EnvelopeType, SocketModeHub } from './socket-mode.js';
import { randomId } from './workspace.js';
import type {
  MembershipChange,
  MessageChange,
  Obj,
  ReactionChange,
  StoredChannel,
  StoredMessage,
  Workspace,
} from './workspace.js';
import type { Trigger } from './web-api.js';

export interface AppUrls {
  events?: string;
  interactivity?: string;
  commands?: string;
}

export interface OutboundOptions {
  signingSecret: string;
  appUrls: AppUrls;
  eventRetryDelaysMs: number[];
  deliveryTimeoutMs: number;
  /** Slack's legacy verification token, still sent in payloads; apps should ignore it. */
  verificationToken: string;
  baseUrl: () => string;
  logger?: { info(...a: unknown[]): void; warn(...a: unknown[]): void };
}

export interface SlackDelivery extends DeliveryRecord {
  /** event type (`message`, `reaction_added`…), interaction type, or `slash_command`. */
  eventType: string;
  eventId?: string;
}

/** How one workspace reaches the (single) app: its URLs live in the shared options. */
export interface TeamLink {
  /** Base for this workspace's response_url endpoint (its admin prefix). */
  baseUrl: () => string;
  /** Events are only delivered while the app is installed in the workspace. */
  installed: () => boolean;
  /** When its switch is on, deliveries go over Socket Mode instead of HTTP. */
  socket?: SocketModeHub;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_CT = 'application/json';

/**
 * Everything the emulator sends to the app: Events API callbacks (retried like Slack),
 * interactivity payloads and slash commands (one attempt, 3 s), all signed with v0.
 */
export class Outbound {
  readonly deliveries: SlackDelivery[] = [];
  readonly triggers = new Map<string, Trigger>();
  private readonly timers = new StoppableTimers();
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly ws: Workspace,
    readonly opts: OutboundOptions,
    private readonly link: TeamLink = { baseUrl: opts.baseUrl, installed: () => true },
  ) {}

  private get socket(): SocketModeHub | undefined {
    return this.link.socket?.enabled ? this.link.socket : undefined;
  }

  stop(): void {
    this.timers.stop();
  }

  /** Resolves when every in-flight event delivery (including pending retries) has finished. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  issueTrigger(user: string): string {
    // Slack trigger ids look like `<digits>.<digits>.<hex>`.
    const id = `${Date.now()}.${Math.floor(Math.random() * 1e12)}.${randomId('', 16).toLowerCase()}`;
    this.triggers.set(id, { id, user, issuedAt: Date.now(), used: false });
    return id;
  }

  issueResponseUrl(rec: { channel: string; user: string; message_ts?: string; source: 'block_actions' | 'command' }) {
    const id = randomId('R', 16);
    this.ws.data.responseUrls[id] = { id, createdAt: Date.now(), uses: 0, ...rec };
    return `${this.link.baseUrl()}/_response/${id}`;
  }

  // ---------------- Events API ----------------

  private channelType(ch: StoredChannel): string {
    return ch.is_im ? 'im' : ch.is_private ? 'group' : 'channel';
  }

  /** The `message` event for a new message, as Slack shapes it (bot posts: no subtype, bot_id + bot_profile). */
  private messageEvent(ch: StoredChannel, m: StoredMessage): Obj {
    const e: Obj = { ...this.ws.apiMessage(m, { metadata: true }) };
    // Events carry thread info but not the root's reply counters.
    for (const k of ['reply_count', 'reply_users_count', 'latest_reply', 'reply_users', 'is_locked', 'subscribed'])
      delete e[k];
    if (m.thread_ts === m.ts) delete e.thread_ts;
    if (m.broadcast && m.thread_ts) {
      const root = this.ws.message(ch, m.thread_ts);
      if (root) e.root = this.ws.apiMessage(root);
    }
    delete e.reactions;
    e.channel = ch.id;
    e.event_ts = m.ts;
    e.channel_type = this.channelType(ch);
    return e;
  }

  onMessage(c: MessageChange): void {
    const { channel: ch, message: m } = c;
    if (!ch.members.includes(this.ws.botUserId)) return;
    if (c.kind === 'posted') {
      this.emit(this.messageEvent(ch, m), ch.id);
      if (!m.bot && m.text.includes(`<@${this.ws.botUserId}>`)) {
        const mention: Obj = {
          type: 'app_mention',
          user: m.user,
          text: m.text,
          ts: m.ts,
          ...(m.blocks ? { blocks: m.blocks } : {}),
          team: this.ws.teamId,
          ...(m.thread_ts && m.thread_ts !== m.ts ? { thread_ts: m.thread_ts } : {}),
          channel: ch.id,
          event_ts: m.ts,
          ...(m.client_msg_id ? { client_msg_id: m.client_msg_id } : {}),
        };
        this.emit(mention, ch.id);
      }
      return;
    }
    const eventTs = this.ws.nextTs();
    const previous = c.previous ? this.stripForEvent(this.ws.apiMessage(c.previous)) : undefined;
    if (c.kind === 'edited') {
      this.emit(
        {
          type: 'message',
          subtype: 'message_changed',
          message: this.stripForEvent(this.ws.apiMessage(m, { metadata: true })),
          previous_message: previous,
          channel: ch.id,
          hidden: true,
          ts: eventTs,
          event_ts: eventTs,
          channel_type: this.channelType(ch),
        },
        ch.id,
      );
    } else {
      this.emit(
        {
          type: 'message',
          subtype: 'message_deleted',
          previous_message: previous,
          channel: ch.id,
          hidden: true,
          deleted_ts: m.ts,
          ts: eventTs,
          event_ts: eventTs,
          channel_type: this.channelType(ch),
        },
        ch.id,
      );
    }
  }

  private stripForEvent(msg: Obj): Obj {
    delete msg.subscribed;
    return msg;
  }

  onReaction(c: ReactionChange): void {
    if (!c.channel.members.includes(this.ws.botUserId)) return;
    const eventTs = this.ws.nextTs();
    this.emit(
      {
        type: c.kind === 'added' ? 'reaction_added' : 'reaction_removed',
        user: c.user,
        reaction: c.name,
        item: { type: 'message', channel: c.channel.id, ts: c.message.ts },
        item_user: c.message.user,
        event_ts: eventTs,
      },
      c.channel.id,
    );
  }

  /** Workspace-level events (`app_uninstalled`, `tokens_revoked`), delivered even right after an uninstall. */
  emitTeamEvent(event: Obj): void {
    this.emit(event, '', true);
  }

  /** `member_joined_channel` / `member_left_channel`, sent for conversations the bot is in. */
  onMembership(c: MembershipChange): void {
    const ch = c.channel;
    if (ch.is_im || !ch.members.includes(this.ws.botUserId)) return;
    const eventTs = this.ws.nextTs();
    this.emit(
      {
        type: c.kind === 'joined' ? 'member_joined_channel' : 'member_left_channel',
        user: c.user,
        channel: ch.id,
        channel_type: ch.is_private ? 'G' : 'C',
        team: this.ws.teamId,
        ...(c.kind === 'joined' && c.by ? { inviter: c.by } : {}),
        event_ts: eventTs,
      },
      ch.id,
    );
  }

  /** `team_join` (an invite accepted) and `user_change` (flags, deactivation) carry the full user. */
  emitUserEvent(type: 'team_join' | 'user_change', userId: string): void {
    const user = this.ws.apiUser(userId, true);
    if (!user) return;
    this.emit({ type, user, cache_ts: Math.floor(Date.now() / 1000), event_ts: this.ws.nextTs() }, '');
  }

  /**
   * Sends Slack's signed `url_verification` handshake to the events URL (one attempt, like the
   * app-config page does) and reports whether the app echoed the challenge.
   */
  async urlVerification(): Promise<{ challenge: string; verified: boolean; delivery: SlackDelivery }> {
    const challenge = randomId('', 40);
    const body = JSON.stringify({ token: this.opts.verificationToken, challenge, type: 'url_verification' });
    const url = this.opts.appUrls.events;
    const rec = (await deliverWithRetries({
      id: randomId('X', 10),
      url: url ?? 'http://127.0.0.1:9/',
      kind: 'url_verification',
      body,
      headers: () => signedHeaders(this.opts.signingSecret, body, JSON_CT),
      timeoutMs: this.opts.deliveryTimeoutMs,
      retryDelaysMs: [],
    })) as SlackDelivery;
    rec.eventType = 'url_verification';
    this.deliveries.push(rec);
    const text = rec.attempts.at(-1)?.responseBody ?? '';
    let echoed = text;
    try {
      const parsed = JSON.parse(text) as { challenge?: unknown };
      if (typeof parsed.challenge === 'string') echoed = parsed.challenge;
    } catch {
      // Slack also accepts the bare challenge as text/plain.
    }
    return { challenge, verified: rec.delivered && echoed === challenge, delivery: rec };
  }

  private emit(event: Obj, channelId: string, evenIfUninstalled = false): void {
    if (this.timers.stopped || (!evenIfUninstalled && !this.link.installed())) return;
    const socket = this.socket;
    const url = this.opts.appUrls.events;
    if (!url && !socket) return;
    const eventId = randomId('Ev', 10);
    const eventTime = Math.floor(Date.now() / 1000);
    const envelope = {
      token: this.opts.verificationToken,
      team_id: this.ws.teamId,
      ...(this.ws.enterprise ? { enterprise_id: this.ws.enterprise.id } : {}),
      context_team_id: this.ws.teamId,
      context_enterprise_id: this.ws.enterprise?.id ?? null,
      api_app_id: this.ws.seed.app.id,
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: eventTime,
      authorizations: [
        {
          enterprise_id: this.ws.enterprise?.id ?? null,
          team_id: this.ws.teamId,
          user_id: this.ws.botUserId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: false,
      event_context: `4-${Buffer.from(
        JSON.stringify({ et: event.type, tid: this.ws.teamId, aid: this.ws.seed.app.id, cid: channelId }),
      ).toString('base64url')}`,
    };
    const p = socket
      ? this.overSocket('events_api', envelope, false, String(event.type), eventId)
      : this.deliverEvent(url!, JSON.stringify(envelope), String(event.type), eventId);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /**
   * Like `deliverWithRetries`, but Slack-specific: a non-2xx answer carrying `x-slack-no-retry: 1`
   * stops the retries, which needs the response headers the shared helper does not expose.
   */
  private async deliverEvent(url: string, body: string, eventType: string, eventId: string): Promise<SlackDelivery> {
    const rec: SlackDelivery = {
      id: eventId,
      url,
      kind: 'event',
      body,
      attempts: [],
      delivered: false,
      eventType,
      eventId,
    };
    this.deliveries.push(rec);
    this.trimLog();
    const delays = this.opts.eventRetryDelaysMs;
    let lastReason: string | undefined;
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0 && !(await this.timers.sleep(delays[attempt - 1]!))) return rec;
      const headers = signedHeaders(this.opts.signingSecret, body, JSON_CT);
      if (attempt > 0) {
        headers['x-slack-retry-num'] = String(attempt);
        headers['x-slack-retry-reason'] = lastReason ?? 'http_error';
      }
      const a = await attemptDelivery({ url, body, headers, timeoutMs: this.opts.deliveryTimeoutMs, attempt });
      rec.attempts.push(a.record);
      if (a.record.acked) {
        rec.delivered = true;
        return rec;
      }
      if (a.record.status !== null && a.record.noRetry) return rec;
      lastReason = a.record.status === null ? a.record.error : 'http_error';
    }
    this.opts.logger?.warn(`slack-emulator: event ${eventId} (${eventType}) not delivered to ${url}`);
    return rec;
  }

  /** The Socket Mode twin of an HTTP delivery: same record shape, attempts are envelopes. */
  private overSocket(
    type: EnvelopeType,
    payload: Obj,
    acceptsResponsePayload: boolean,
    eventType: string,
    eventId?: string,
  ): Promise<SlackDelivery> {
    const rec: SlackDelivery = {
      id: eventId ?? randomId('X', 10),
      url: 'socket-mode',
      kind: `socket:${type}`,
      body: JSON.stringify(payload),
      attempts: [],
      delivered: false,
      eventType,
      ...(eventId ? { eventId } : {}),
    };
    this.deliveries.push(rec);
    this.trimLog();
    return this.socket!.deliver({
      type,
      payload,
      acceptsResponsePayload,
      // Only events are redelivered; a person's click or command fails once, like over HTTP.
      retryDelaysMs: type === 'events_api' ? this.opts.eventRetryDelaysMs : [],
      record: rec,
    });
  }

  private trimLog(): void {
    if (this.deliveries.length > 2000) this.deliveries.splice(0, this.deliveries.length - 2000);
  }

  // ---------------- interactivity and slash commands (not retried) ----------------

  /** Sends `payload=<json>` to the interactivity URL; one attempt like Slack. */
  async interact(payload: Obj): Promise<SlackDelivery> {
    // Over Socket Mode, the ack can carry the answer where Slack expects one (view submissions, options).
    if (this.socket)
      return this.overSocket(
        'interactive',
        payload,
        payload.type === 'view_submission' || payload.type === 'block_suggestion',
        String(payload.type),
      );
    const url = this.opts.appUrls.interactivity;
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    return this.sendOnce(url, body, String(payload.type));
  }

  async command(fields: Record<string, string>): Promise<SlackDelivery> {
    if (this.socket) return this.overSocket('slash_commands', fields, true, 'slash_command');
    const url = this.opts.appUrls.commands;
    return this.sendOnce(url, new URLSearchParams(fields).toString(), 'slash_command');
  }

  private async sendOnce(url: string | undefined, body: string, eventType: string): Promise<SlackDelivery> {
    const id = randomId('X', 10);
    if (!url) {
      const rec: SlackDelivery = { id, url: '', kind: 'interaction', body, attempts: [], delivered: false, eventType };
      this.deliveries.push(rec);
      return rec;
    }
    const rec = (await deliverWithRetries({
      id,
      url,
      kind: eventType === 'slash_command' ? 'command' : 'interaction',
      body,
      headers: () => signedHeaders(this.opts.signingSecret, body, FORM),
      timeoutMs: this.opts.deliveryTimeoutMs,
      retryDelaysMs: [],
    })) as SlackDelivery;
    rec.eventType = eventType;
    this.deliveries.push(rec);
    this.trimLog();
    return rec;
  }
}
