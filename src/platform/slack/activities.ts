import { currentAttempt } from '../temporal/attempt.js';
import type { WebClient } from '@slack/web-api';
import {
  THREADLINE_POST_EVENT_TYPE,
  type PostEphemeralInput,
  type PostSlackMessageInput,
  type PostedSlackMessage,
  type SlackBlock,
  type UpdateSlackMessageInput,
} from './contract.js';
import type { SlackMessagesRepo } from '../db/repositories.js';
import { classifySlackError, toActivityFailure } from '../../integrations/slack/errors.js';
import type { Metrics } from '../observability/metrics.js';

export interface SlackActivityDeps {
  slack: WebClient;
  slackMessages: SlackMessagesRepo;
  metrics?: Metrics;
}

/**
 * Slack activities. Every post is exactly-once per idempotency key: the key is stored with the
 * message in Slack (`metadata`) and in `slack_messages`. On a retry after an ambiguous failure
 * (timeout after Slack committed), we look the key up in the channel/thread before posting again.
 */
export function createSlackActivities(deps: SlackActivityDeps) {
  const count = (method: string, outcome: string) =>
    deps.metrics?.externalCalls.inc({ system: 'slack', method, outcome });

  async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      const res = await fn();
      count(method, 'ok');
      return res;
    } catch (err) {
      const c = classifySlackError(err);
      count(method, c.kind);
      if (c.kind === 'already_done') return undefined as T;
      throw toActivityFailure(method, c);
    }
  }

  /** Finds a message we already posted with this key (only channels/threads we can read). */
  async function findByKey(channel: string, threadTs: string | undefined, key: string): Promise<string | undefined> {
    if (!/^[CGD]/.test(channel)) return undefined; // a DM by user id: the channel id is unknown until the first success
    const matches = (m: { ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }) =>
      m.metadata?.event_type === THREADLINE_POST_EVENT_TYPE && m.metadata.event_payload?.idempotency_key === key;
    if (threadTs) {
      let cursor: string | undefined;
      do {
        const res = await call('conversations.replies', () =>
          deps.slack.conversations.replies({ channel, ts: threadTs, include_all_metadata: true, limit: 200, cursor }),
        );
        const hit = res.messages?.find((m) => matches(m));
        if (hit?.ts) return hit.ts;
        cursor = res.response_metadata?.next_cursor || undefined;
      } while (cursor);
      return undefined;
    }
    // Top-level: an ambiguous post is recent, so the last page of history is enough.
    const res = await call('conversations.history', () =>
      deps.slack.conversations.history({ channel, include_all_metadata: true, limit: 100 }),
    );
    return res.messages?.find((m) => matches(m))?.ts;
  }

  return {
    async postSlackMessage(input: PostSlackMessageInput): Promise<PostedSlackMessage> {
      const known = await deps.slackMessages.byIdempotencyKey(input.idempotencyKey);
      if (known)
        return { channel: known.channel, ts: known.ts, threadTs: known.threadTs ?? undefined, deduplicated: true };
      if (currentAttempt() > 1) {
        const ts = await findByKey(input.channel, input.threadTs, input.idempotencyKey);
        if (ts) {
          await deps.slackMessages.record({
            subject: input.subject,
            channel: input.channel,
            ts,
            threadTs: input.threadTs ?? null,
            purpose: input.purpose,
            idempotencyKey: input.idempotencyKey,
          });
          return { channel: input.channel, ts, threadTs: input.threadTs, deduplicated: true };
        }
      }
      // The SDK's argument type is a union over thread/broadcast shapes; our input is validated upstream.
      const args = {
        channel: input.channel,
        text: input.text,
        blocks: input.blocks,
        ...(input.threadTs ? { thread_ts: input.threadTs, reply_broadcast: input.replyBroadcast ?? false } : {}),
        unfurl_links: false,
        unfurl_media: false,
        metadata: {
          event_type: THREADLINE_POST_EVENT_TYPE,
          event_payload: { idempotency_key: input.idempotencyKey, subject: input.subject },
        },
      } as Parameters<WebClient['chat']['postMessage']>[0];
      const res = await call('chat.postMessage', () => deps.slack.chat.postMessage(args));
      const channel = res.channel ?? input.channel;
      const ts = res.ts!;
      await deps.slackMessages.record({
        subject: input.subject,
        channel,
        ts,
        threadTs: input.threadTs ?? null,
        purpose: input.purpose,
        idempotencyKey: input.idempotencyKey,
      });
      return { channel, ts, threadTs: input.threadTs, deduplicated: false };
    },

    /** chat.update is naturally idempotent (same content twice is the same state). */
    async updateSlackMessage(input: UpdateSlackMessageInput): Promise<void> {
      await call('chat.update', () =>
        deps.slack.chat.update({
          channel: input.channel,
          ts: input.ts,
          text: input.text,
          blocks: input.blocks ?? [],
        }),
      );
    },

    /**
     * views.open with an interaction's trigger_id (valid 3 s, once). An expired or used trigger is
     * permanent: retrying cannot help, the person has to click again.
     */
    async openSlackView(input: { triggerId: string; view: SlackBlock }): Promise<{ viewId?: string }> {
      const res = await call('views.open', () =>
        deps.slack.views.open({ trigger_id: input.triggerId, view: input.view as never }),
      );
      return { viewId: res?.view?.id };
    },

    async postSlackEphemeral(input: PostEphemeralInput): Promise<void> {
      await call('chat.postEphemeral', () =>
        deps.slack.chat.postEphemeral({
          channel: input.channel,
          user: input.user,
          text: input.text,
          blocks: input.blocks as never,
          thread_ts: input.threadTs,
        }),
      );
    },
  };
}
export type SlackActivities = ReturnType<typeof createSlackActivities>;
