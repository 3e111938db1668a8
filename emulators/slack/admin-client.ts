import type { Fault } from '../shared/faults.js';
import type { DeliveryOutcome } from './admin.js';
import type { SlackDelivery } from './outbound.js';
import type { CallLogEntry } from './server.js';
import type { EphemeralRecord, ResponseUrlPost, ScheduledMessage } from './workspace.js';

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
  /** Uninstalls the app: revokes the bot token and sends app_uninstalled + tokens_revoked events. */
  uninstall(): Promise<{ ok: true }> {
    return this.call('POST', '/_admin/uninstall');
  }
  reset(): Promise<{ ok: true }> {
    return this.call('POST', '/_admin/reset');
  }
  issueOAuthCode(user?: string): Promise<string> {
    return this.call<{ code: string }>('POST', '/_admin/oauth/code', user ? { user } : {}).then((r) => r.code);
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
