import type { Fault } from '../shared/faults.js';
import type { IncomingWebhook, IncomingWebhookPost } from './incoming-webhooks.js';
import type { DeliveryOutcome } from './admin.js';
import type { SlackDelivery } from './outbound.js';
import type { CallLogEntry } from './server.js';
import type { EnvelopeRecord } from './socket-mode.js';
import type { EphemeralRecord, InviteRecord, ResponseUrlPost, ScheduledMessage, StoredUser } from './workspace.js';

/** Flags a person can carry, as users.list shows them. */
export interface UserFlags {
  is_admin?: boolean;
  is_owner?: boolean;
  deleted?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  is_invited_user?: boolean;
  is_bot?: boolean;
}

type Obj = Record<string, unknown>;

/** A message as the admin inspection endpoints show it (Web API shape plus emulator bookkeeping). */
export interface InspectedMessage extends Obj {
  ts: string;
  text: string;
  user: string;
  channel: string;
  bot: boolean;
  thread_ts?: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload: unknown };
  reactions?: { name: string; users: string[]; count: number }[];
  edited?: { user: string; ts: string };
  deleted?: { at: string; by: string };
  history: { replacedAt: string; text: string; blocks?: unknown[] }[];
  replies?: InspectedMessage[];
}

export interface PostedMessage {
  ok: true;
  channel: string;
  ts: string;
  message: Obj;
}

export interface ClickResult {
  ok: true;
  trigger_id: string;
  response_url?: string;
  delivery: DeliveryOutcome;
}

export interface SubmitResult {
  ok: true;
  outcome: 'closed' | 'errors' | 'updated' | 'pushed' | 'cleared' | 'failed' | 'invalid_response';
  view_id: string;
  errors?: unknown;
  view?: Obj;
  delivery: DeliveryOutcome;
}

export interface CommandResult {
  ok: true;
  trigger_id: string;
  response_url: string;
  delivery: DeliveryOutcome;
}

export interface InspectedView extends Obj {
  id: string;
  user: string;
  open: boolean;
  callback_id: string;
  private_metadata: string;
  hash: string;
  errors?: Record<string, string>;
}

/** Error from the admin API (404 unknown user/channel/message, 400 bad input, 409 conflicts). */
export class SlackAdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`slack emulator admin: HTTP ${status} ${JSON.stringify(body)}`);
  }
}

/** Typed client for the Slack emulator's admin API (`/_admin/*`), for tests, the demo and the bench. */
export class SlackEmulatorAdmin {
  private readonly base: string;

  constructor(baseUrl: string) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** The same admin API for another workspace (its own people, channels, deliveries and installation). */
  team(teamId: string): SlackEmulatorAdmin {
    const root = this.base.replace(/\/_teams\/[^/]+$/, '');
    return new SlackEmulatorAdmin(`${root}/_teams/${encodeURIComponent(teamId)}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      ...(body !== undefined
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
        : method === 'GET'
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: '{}' }),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new SlackAdminError(res.status, parsed);
    return parsed as T;
  }

  // ---- acting as people ----
  postMessage(input: {
    user: string;
    channel: string;
    text: string;
    thread_ts?: string;
    reply_broadcast?: boolean;
    blocks?: unknown[];
  }): Promise<PostedMessage> {
    return this.call('POST', '/_admin/messages', input);
  }
  editMessage(input: { user: string; channel: string; ts: string; text: string }): Promise<PostedMessage> {
    return this.call('POST', '/_admin/messages/edit', input);
  }
  deleteMessage(input: { user: string; channel: string; ts: string }): Promise<{ ok: true }> {
    return this.call('POST', '/_admin/messages/delete', input);
  }
  addReaction(input: { user: string; channel: string; ts: string; name: string }): Promise<{ ok: true }> {
    return this.call('POST', '/_admin/reactions', input);
  }
  removeReaction(input: { user: string; channel: string; ts: string; name: string }): Promise<{ ok: true }> {
    return this.call('DELETE', '/_admin/reactions', input);
  }
  /** Clicks an element (by action_id, optionally value) of a stored message, or of an open view with `view_id`. */
  clickButton(input: {
    user: string;
    channel?: string;
    ts?: string;
    view_id?: string;
    action_id: string;
    value?: string;
  }): Promise<ClickResult> {
    return this.call('POST', '/_admin/click', input);
  }
  /** Submits the user's open modal (top of stack, or `view_id`); values: `{block_id: {action_id: value | object}}`. */
  submitView(input: {
    user: string;
    view_id?: string;
    values?: Record<string, Record<string, unknown>>;
  }): Promise<SubmitResult> {
    return this.call('POST', '/_admin/views/submit', input);
  }
  closeView(input: {
    user: string;
    view_id?: string;
  }): Promise<{ ok: true; notified: boolean; delivery?: DeliveryOutcome }> {
    return this.call('POST', '/_admin/views/close', input);
  }
  runSlashCommand(input: { user: string; channel: string; command: string; text?: string }): Promise<CommandResult> {
    return this.call('POST', '/_admin/commands', input);
  }

  // ---- faults and configuration ----
  injectFault(fault: Partial<Fault> & Pick<Fault, 'method' | 'kind'>): Promise<{ ok: true; fault: Fault }> {
    return this.call('POST', '/_admin/faults', fault);
  }
  faults(): Promise<Fault[]> {
    return this.call<{ faults: Fault[] }>('GET', '/_admin/faults').then((r) => r.faults);
  }
  clearFaults(): Promise<{ ok: true }> {
    return this.call('DELETE', '/_admin/faults');
  }
  setRateLimits(enabled: boolean): Promise<{ ok: true; enabled: boolean }> {
    return this.call('POST', '/_admin/rate-limits', { enabled });
  }
  config(input: {
    appUrls?: { events?: string; interactivity?: string; commands?: string };
    eventRetryDelaysMs?: number[];
    deliveryTimeoutMs?: number;
    triggerTtlMs?: number;
  }): Promise<Obj> {
    return this.call('POST', '/_admin/config', input);
  }
  /** Sends Slack's signed url_verification handshake to the app's events URL. */
  urlVerification(): Promise<{ ok: true; challenge: string; verified: boolean; delivery: DeliveryOutcome }> {
    return this.call('POST', '/_admin/url-verification');
  }
  /** Uninstalls the app from this workspace: its tokens die, app_uninstalled + tokens_revoked are sent, events stop. */
  uninstall(): Promise<{ ok: true }> {
    return this.call('POST', '/_admin/uninstall');
  }
  reset(): Promise<{ ok: true }> {
    return this.call('POST', '/_admin/reset');
  }
  issueOAuthCode(user?: string): Promise<string> {
    return this.call<{ code: string }>('POST', '/_admin/oauth/code', user ? { user } : {}).then((r) => r.code);
  }

  // ---- people, invites, workspace ----
  /** Adds people (up to 10,000 per call); `generate` makes `count` numbered ones with the given flags. */
  addUsers(input: {
    users?: ({ id?: string; name?: string; real_name?: string; email: string; tz?: string } & UserFlags)[];
    generate?: { count: number; prefix?: string; domain?: string } & UserFlags;
    channels?: string[];
  }): Promise<{ ok: true; created: number; ids: string[] }> {
    return this.call('POST', '/_admin/users', input);
  }
  users(): Promise<StoredUser[]> {
    return this.call<{ users: StoredUser[] }>('GET', '/_admin/users').then((r) => r.users);
  }
  /** Deactivates a person (listed with `deleted: true`, removed from channels, `user_change` sent). */
  deactivateUser(id: string): Promise<{ ok: true; user: Obj }> {
    return this.call('POST', `/_admin/users/${encodeURIComponent(id)}/deactivate`);
  }
  reactivateUser(id: string): Promise<{ ok: true; user: Obj }> {
    return this.call('POST', `/_admin/users/${encodeURIComponent(id)}/reactivate`);
  }
  setUserFlags(id: string, flags: UserFlags): Promise<{ ok: true; user: Obj }> {
    return this.call('POST', `/_admin/users/${encodeURIComponent(id)}/flags`, flags);
  }
  /** A person joins a channel (private channels need a member `by` who adds them). */
  joinChannel(input: { user: string; channel: string; by?: string }): Promise<{ ok: true; members: string[] }> {
    return this.call('POST', '/_admin/channels/join', input);
  }
  leaveChannel(input: { user: string; channel: string; by?: string }): Promise<{ ok: true; members: string[] }> {
    return this.call('POST', '/_admin/channels/leave', input);
  }
  /** A person archives the channel in Slack (posts to it then fail with `is_archived`). */
  archiveChannel(channel: string): Promise<{ ok: true; channel: string; is_archived: true }> {
    return this.call('POST', '/_admin/channels/archive', { channel });
  }
  unarchiveChannel(channel: string): Promise<{ ok: true; channel: string; is_archived: false }> {
    return this.call('POST', '/_admin/channels/unarchive', { channel });
  }
  invites(): Promise<InviteRecord[]> {
    return this.call<{ invites: InviteRecord[] }>('GET', '/_admin/invites').then((r) => r.invites);
  }
  /** Seeds a pending invite as if an admin had invited the person through Slack. */
  invite(input: {
    email: string;
    channel_ids?: string[];
    is_restricted?: boolean;
    is_ultra_restricted?: boolean;
    real_name?: string;
  }): Promise<{ ok: true; user_id: string }> {
    return this.call('POST', '/_admin/invites', input);
  }
  /** The invited person signs in: active account, joins the invite's channels, `team_join` is sent. */
  acceptInvite(email: string, realName?: string): Promise<{ ok: true; user: Obj }> {
    return this.call('POST', '/_admin/invites/accept', { email, ...(realName ? { real_name: realName } : {}) });
  }
  setTeamPrefs(prefs: {
    admin_api_enabled?: boolean;
    who_can_kick_channels?: 'everyone' | 'admins';
    who_can_kick_groups?: 'everyone' | 'admins';
  }): Promise<Obj> {
    return this.call('POST', '/_admin/team/prefs', prefs);
  }

  // ---- installation, OAuth, tokens ----
  installation(): Promise<{ installed: boolean; tokens: { kind: string; user: string; scopes: string[] }[] }> {
    return this.call('GET', '/_admin/installation');
  }
  /**
   * "Clicks Allow" (or Cancel) on the authorize page as a person of a workspace. `url` is the
   * authorize URL the app redirected to; the answer is where Slack sends the browser next.
   */
  authorizeOAuth(input: {
    url?: string;
    client_id?: string;
    scope?: string;
    user_scope?: string;
    redirect_uri?: string;
    state?: string;
    team?: string;
    user?: string;
    allow?: boolean;
  }): Promise<{ ok: true; team: string; user: string; redirect: string }> {
    return this.call('POST', '/_admin/oauth/authorize', input);
  }
  oauthConfig(input: {
    clientId?: string | null;
    clientSecret?: string | null;
    redirectUris?: string[];
    tokenRotation?: boolean;
    tokenExpiresInSec?: number;
  }): Promise<Obj> {
    return this.call('POST', '/_admin/oauth/config', input);
  }
  /** Makes this workspace's rotating tokens (or one token) expire now. */
  expireTokens(token?: string): Promise<{ ok: true; expired: number }> {
    return this.call('POST', '/_admin/tokens/expire', token ? { token } : {});
  }
  createAppToken(scopes?: string[]): Promise<string> {
    return this.call<{ token: string }>('POST', '/_admin/app-tokens', scopes ? { scopes } : {}).then((r) => r.token);
  }

  // ---- Socket Mode ----
  socketMode(): Promise<{
    enabled: boolean;
    connections: { id: string; openedAt: string; sent: number; open: boolean }[];
    envelopes: EnvelopeRecord[];
  }> {
    return this.call('GET', '/_admin/socket-mode');
  }
  configureSocketMode(input: { enabled?: boolean; ackTimeoutMs?: number; disconnectGraceMs?: number }): Promise<Obj> {
    return this.call('POST', '/_admin/socket-mode', input);
  }
  /** Sends a `disconnect` frame to one connection or all of them. */
  socketDisconnect(
    reason: 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets',
    connection?: string,
  ): Promise<{ ok: true; connections: string[] }> {
    return this.call('POST', '/_admin/socket-mode/disconnect', { reason, ...(connection ? { connection } : {}) });
  }
  /** Drops sockets without a close frame. */
  socketDrop(connection?: string): Promise<{ ok: true; connections: string[] }> {
    return this.call('POST', '/_admin/socket-mode/drop', connection ? { connection } : {});
  }

  // ---- incoming webhooks ----
  /** A new incoming webhook posting to `channel` (its URL is the secret, as on Slack). */
  createIncomingWebhook(
    channel: string,
    team?: string,
  ): Promise<{ ok: true; url: string; channel: string; id: string }> {
    return this.call('POST', '/_admin/incoming-webhooks', { channel, ...(team ? { team } : {}) });
  }
  /** Disables a webhook: later posts answer 404 `no_service`. */
  disableIncomingWebhook(url: string): Promise<{ ok: true }> {
    return this.call('POST', '/_admin/incoming-webhooks/disable', { url });
  }
  incomingWebhooks(): Promise<{ webhooks: Omit<IncomingWebhook, 'secret' | 'url'>[]; posts: IncomingWebhookPost[] }> {
    return this.call('GET', '/_admin/incoming-webhooks');
  }

  // ---- inspection ----
  channels(): Promise<Obj[]> {
    return this.call<{ channels: Obj[] }>('GET', '/_admin/channels').then((r) => r.channels);
  }
  /** Top-level messages (oldest first) with their `replies`. */
  channelMessages(channel: string, opts: { includeDeleted?: boolean } = {}): Promise<InspectedMessage[]> {
    const q = opts.includeDeleted ? '?include_deleted=true' : '';
    return this.call<{ messages: InspectedMessage[] }>(
      'GET',
      `/_admin/channels/${encodeURIComponent(channel)}/messages${q}`,
    ).then((r) => r.messages);
  }
  /** Replies of a thread (without the parent), oldest first. */
  async threadReplies(channel: string, ts: string): Promise<InspectedMessage[]> {
    return (await this.message(channel, ts)).replies ?? [];
  }
  message(channel: string, ts: string): Promise<InspectedMessage> {
    return this.call<{ message: InspectedMessage }>(
      'GET',
      `/_admin/messages/${encodeURIComponent(channel)}/${encodeURIComponent(ts)}`,
    ).then((r) => r.message);
  }
  ephemerals(): Promise<EphemeralRecord[]> {
    return this.call<{ ephemerals: EphemeralRecord[] }>('GET', '/_admin/ephemerals').then((r) => r.ephemerals);
  }
  responseUrlPosts(): Promise<ResponseUrlPost[]> {
    return this.call<{ responses: ResponseUrlPost[] }>('GET', '/_admin/responses').then((r) => r.responses);
  }
  views(): Promise<InspectedView[]> {
    return this.call<{ views: InspectedView[] }>('GET', '/_admin/views').then((r) => r.views);
  }
  deliveries(): Promise<SlackDelivery[]> {
    return this.call<{ deliveries: SlackDelivery[] }>('GET', '/_admin/deliveries').then((r) => r.deliveries);
  }
  calls(): Promise<CallLogEntry[]> {
    return this.call<{ calls: CallLogEntry[] }>('GET', '/_admin/calls').then((r) => r.calls);
  }
  scheduled(): Promise<ScheduledMessage[]> {
    return this.call<{ scheduled: ScheduledMessage[] }>('GET', '/_admin/scheduled').then((r) => r.scheduled);
  }

  /** Polls `predicate` (sync or async) every 25 ms until it returns a truthy value; rejects after timeoutMs. */
  async waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await predicate();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
