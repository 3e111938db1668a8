import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../../emulators/slack/admin-client.js';
import type { TestStack } from '../../../helpers/stack.js';

export interface NotificationView {
  notificationId: string;
  personId: string;
  status: string;
  channel: string | null;
  ts: string | null;
  members: number | null;
  error: string | null;
}

/** The bot user of the sandbox workspace (always a member of the channels it made). */
export const BOT = 'U0TLBOT';

/** A signed-in JSON call into the stack's API (the body, when given, as JSON). */
export function apiCall(stack: TestStack) {
  const auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };
  return (method: string, path: string, body?: unknown) =>
    fetch(`${stack.urls.api}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}

/** Real HTTP into the API and the Slack emulator as the place to look (people, channels, posts). */
export function hierarchyHarness(stack: TestStack) {
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const call = apiCall(stack);
  async function ok<T = Record<string, unknown>>(res: Response, status = 200): Promise<T> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return JSON.parse(text) as T;
  }
  /** Person ids unique to this run (the database and Temporal are shared by every stack of a run). */
  const run = randomUUID().slice(0, 6);
  const pid = (name: string) => `${name}_${run}`;

  return {
    slack,
    call,
    ok,
    pid,
    put: async (id: string, body: Record<string, unknown>, status?: number) =>
      ok(await call('PUT', `/v1/org/people/${id}`, body), status ?? 200),
    notify: async (body: Record<string, unknown>, status = 202) =>
      ok(await call('POST', '/v1/notifications', body), status),
    notification: async (id: string) => ok<NotificationView>(await call('GET', `/v1/notifications/${id}`)),
    /** Waits until the notification is delivered (the API's ledger says so). */
    delivered: async (id: string, timeoutMs = 60_000) =>
      slack.waitFor(async () => {
        const n = (await (await call('GET', `/v1/notifications/${id}`)).json()) as NotificationView;
        return n.status === 'delivered' ? n : undefined;
      }, timeoutMs),
    /** A channel's members as the emulator holds them, without the bot. */
    members: async (channel: string) => {
      const ch = (await slack.channels()).find((c) => c.id === channel) as { members: string[] } | undefined;
      return (ch?.members ?? []).filter((u) => u !== BOT).sort();
    },
    channel: async (channel: string) =>
      (await slack.channels()).find((c) => c.id === channel) as { name: string; is_private: boolean } | undefined,
    /** Notifications posted in a channel (top level, ours only). */
    posts: async (channel: string): Promise<InspectedMessage[]> =>
      (await slack.channelMessages(channel)).filter((m) =>
        String((m.metadata?.event_payload as { subject?: string } | undefined)?.subject ?? '').startsWith(
          'orgchannel:',
        ),
      ),
    opsAlerts: async (needle: string) =>
      (await slack.channelMessages('C0OPSALERT')).filter((m) =>
        `${m.text}${JSON.stringify(m.blocks)}`.includes(needle),
      ),
  };
}
