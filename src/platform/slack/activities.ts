import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WebClient } from '@slack/web-api';
import { currentAttempt } from '../temporal/attempt.js';
import { FailureType } from '../temporal/failure-types.js';
import {
  THREADLINE_POST_EVENT_TYPE,
  type PostEphemeralInput,
  type PostSlackMessageInput,
  type PostedSlackMessage,
  type SlackBlock,
  type UpdateSlackMessageInput,
} from './contract.js';
import type { AuditLogRepo, SlackMessagesRepo } from '../db/repositories.js';
import { classifySlackError, toActivityFailure, type SlackErrorClass } from '../../integrations/slack/errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { SlackClients } from '../installations/clients.js';
import type { ChannelPacer, PacedChannel } from '../pacing/channel-pacer.js';
import {
  DEAD_USER_TOKEN_CODES,
  POST_AS_FALLBACK_CODES,
  personFor,
  type PostAsConfig,
} from '../installations/post-as.js';

/**
 * How far before the first attempt's scheduled time a retry looks for an earlier post: covers
 * clock skew between the Temporal server (which stamps the schedule time) and Slack (which stamps
 * `ts`). The lookup reads every message newer than that, however many there are.
 */
export const LOOKUP_MARGIN_MS = 5 * 60_000;
/**
 * How long after a post that timed out on our side its retry looks Slack up:
 * the request we gave up on may still be processed for a while, and a lookup that runs first
 * finds nothing and posts again (seen in `npm run bench pacing` on a starved machine: the
 * emulator committed timed-out posts seconds after the retry's lookup).
 */
export const AMBIGUOUS_POST_SETTLE_MS = 10_000;
/** Request errors that mean our client timed out (axios), not that Slack answered or reset. */
const TIMED_OUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);

export interface SlackPosterDeps {
  slack: WebClient;
  metrics?: Metrics;
  /** Per-channel pacing shared across worker processes (src/platform/pacing); unpaced when absent. */
  pacer?: ChannelPacer;
  /**
   * Many workspaces: which installation the current call belongs to (`slack` is then the routed
   * client, `createSlackClients`). Absent: one workspace.
   */
  scope?: Pick<SlackClients, 'within' | 'currentTeam'>;
  /**
   * Posting as people (SLACK_POST_AS): each kind's channel messages are posted with its person's
   * user token when they connected in that workspace, else by the bot (audited and counted).
   * Needs `scope`; absent: every post is the bot's.
   */
  postAs?: {
    people: PostAsConfig;
    tokens: Pick<SlackClients, 'canPostAs' | 'userTokenDied'>;
    audit: AuditLogRepo;
  };
}

/** Runs `fn` with its Slack calls made for `teamId` when one is given, else in the current scope. */
export function inTeam<T>(
  scope: SlackPosterDeps['scope'],
  teamId: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  return scope && teamId ? scope.within({ teamId }, fn) : fn();
}

type LookupMessage = {
  ts?: string;
  user?: string;
  bot_id?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
};

/** Outcome of looking for an earlier attempt's post (`author`: the person it was posted as; null: the bot). */
type Lookup = { found: string; author: string | null } | { found: undefined; postCannotSucceed?: true };

/**
 * Exactly-once posting (one instance per worker; its DM-channel cache is per process).
 *
 * Every post carries its idempotency key in Slack message `metadata`. An attempt after the first
 * may follow a failure that happened after Slack committed the message (a lost answer), so before
 * posting again it looks the key up in Slack:
 * - DMs are resolved to their `D…` conversation first (`conversations.open`, cached), so a DM can
 *   be looked up like any conversation (a user id as `channel` cannot be read back);
 * - top-level posts: `conversations.history` with `oldest` = the first attempt's schedule time
 *   minus `LOOKUP_MARGIN_MS`, every page: bounded by time, not by a message count;
 * - thread replies: the whole thread, every page;
 * - a bot that posts with `chat:write.public` is not a member and cannot read the channel
 *   (`not_in_channel`): it joins the public channel (`conversations.join`) and reads it then;
 * - a lookup that fails is retried (the activity fails retryably); "not posted" is never decided
 *   from a failed lookup. The exceptions are answers that mean the post itself cannot succeed
 *   (`thread_not_found`, `channel_not_found`): then the post is attempted and fails permanently
 *   with the platform's own code.
 */
export function createSlackPoster(deps: SlackPosterDeps) {
  const count = (method: string, outcome: string) =>
    deps.metrics?.externalCalls.inc({ system: 'slack', method, outcome });
  const dmChannels = new Map<string, string>();

  async function attemptCall<T>(
    method: string,
    fn: () => Promise<T>,
  ): Promise<{ ok: T } | { failed: SlackErrorClass }> {
    const timer = deps.metrics?.externalCallDuration.startTimer({ system: 'slack', method });
    try {
      const res = await fn();
      count(method, 'ok');
      timer?.({ outcome: 'ok' });
      return { ok: res };
    } catch (err) {
      const c = classifySlackError(err);
      count(method, c.kind);
      timer?.({ outcome: c.kind });
      deps.metrics?.externalCallErrors.inc({ system: 'slack', method, code: c.error });
      return { failed: c };
    }
  }

  /** A Slack call whose failures become classified activity failures; `already_done` answers undefined. */
  async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    const r = await attemptCall(method, fn);
    if ('ok' in r) return r.ok;
    if (r.failed.kind === 'already_done') return undefined as T;
    throw toActivityFailure(method, r.failed);
  }

  /** A lookup's failure: retry the activity (or honour a rate limit / a dead installation), never "not posted". */
  function lookupFailure(method: string, c: SlackErrorClass): ApplicationFailure {
    if (c.kind === 'rate_limited' || c.kind === 'installation_dead') return toActivityFailure(method, c);
    return ApplicationFailure.create({
      type: FailureType.Transient,
      message: `Slack ${method} failed (${c.error}): cannot tell whether an earlier attempt already posted, so not posting again until the check succeeds`,
      details: [{ system: 'slack', method, error: c.error, kind: 'transient' }],
    });
  }

  /**
   * `U…`/`W…` (a person) → their DM conversation `D…`; anything else as given. The cache is per
   * workspace: the same user id in another workspace is another person with another DM.
   */
  async function resolveConversation(channel: string): Promise<string> {
    if (!/^[UW][A-Z0-9]+$/.test(channel)) return channel;
    const cacheKey = `${(await deps.scope?.currentTeam()) ?? ''}:${channel}`;
    const cached = dmChannels.get(cacheKey);
    if (cached) return cached;
    const res = await call('conversations.open', () => deps.slack.conversations.open({ users: channel }));
    const id = res?.channel?.id;
    if (!id) {
      throw ApplicationFailure.create({
        type: FailureType.Transient,
        message: 'Slack conversations.open answered without a channel id',
        details: [{ system: 'slack', method: 'conversations.open', error: 'no_channel_id', kind: 'transient' }],
      });
    }
    dmChannels.set(cacheKey, id);
    return id;
  }

  /** One read of the conversation, joining a public channel once if the bot is not a member. */
  async function read<T>(method: string, channel: string, fn: () => Promise<T>): Promise<T | 'cannot_succeed'> {
    let r = await attemptCall(method, fn);
    if ('failed' in r && r.failed.kind === 'permanent' && r.failed.error === 'not_in_channel' && /^C/.test(channel)) {
      const joined = await attemptCall('conversations.join', () => deps.slack.conversations.join({ channel }));
      if ('failed' in joined && joined.failed.kind !== 'already_done')
        throw lookupFailure('conversations.join', joined.failed);
      r = await attemptCall(method, fn);
    }
    if ('ok' in r) return r.ok;
    if (
      r.failed.kind === 'permanent' &&
      (r.failed.error === 'thread_not_found' || r.failed.error === 'channel_not_found')
    )
      return 'cannot_succeed';
    throw lookupFailure(method, r.failed);
  }

  /** Finds a message an earlier attempt posted with this key. */
  async function findByKey(
    channel: string,
    threadTs: string | undefined,
    key: string,
    person: string | undefined,
  ): Promise<Lookup> {
    const matches = (m: LookupMessage) =>
      m.metadata?.event_type === THREADLINE_POST_EVENT_TYPE && m.metadata.event_payload?.idempotency_key === key;
    const since = firstAttemptScheduledMs();
    const oldest = since === undefined ? undefined : ((since - LOOKUP_MARGIN_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    do {
      const res = await read(threadTs ? 'conversations.replies' : 'conversations.history', channel, () =>
        threadTs
          ? deps.slack.conversations.replies({ channel, ts: threadTs, include_all_metadata: true, limit: 200, cursor })
          : deps.slack.conversations.history({ channel, oldest, include_all_metadata: true, limit: 200, cursor }),
      );
      if (res === 'cannot_succeed') return { found: undefined, postCannotSucceed: true };
      const hit = res.messages?.find(matches);
      // Read with the bot's token (a person's token has no history scope); the key in the metadata
      // finds a post whoever its author is, and the author decides who may edit it later.
      if (hit?.ts) return { found: hit.ts, author: person && !hit.bot_id && hit.user === person ? person : null };
      cursor = res.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return { found: undefined };
  }

  /**
   * Posts once per idempotency key. With `store` the key is checked in and recorded to
   * `slack_messages` (how inbound events find their subject); without it (ops-channel messages, which must
   * work while Postgres is down) Slack's metadata is the only record.
   */
  async function postOnce(input: PostSlackMessageInput, store?: SlackMessagesRepo): Promise<PostedSlackMessage> {
    return inTeam(deps.scope, input.teamId, () => postOnceHere(input, store));
  }

  async function postOnceHere(input: PostSlackMessageInput, store?: SlackMessagesRepo): Promise<PostedSlackMessage> {
    const known = await store?.byIdempotencyKey(input.idempotencyKey);
    if (known)
      return { channel: known.channel, ts: known.ts, threadTs: known.threadTs ?? undefined, deduplicated: true };
    const channel = await resolveConversation(input.channel);
    // The workspace it is posted in: inbound events of that workspace find their subject by it.
    const teamId = (await deps.scope?.currentTeam()) ?? null;
    const person = deps.postAs && deps.scope ? personFor(deps.postAs.people, input.subject, channel) : undefined;
    const record = (ts: string, postedAs: string | null) =>
      store?.record({
        subject: input.subject,
        channel,
        ts,
        threadTs: input.threadTs ?? null,
        purpose: input.purpose,
        idempotencyKey: input.idempotencyKey,
        teamId,
        postedAs,
      });
    // ── pacing hook: a retry whose earlier attempts were all deferred by the pacer never reached Slack ──
    const retry = currentAttempt() > 1;
    const mayHavePosted = retry && (!store || !deps.pacer || (await deps.pacer.mayHavePosted(input.idempotencyKey)));
    if (mayHavePosted) {
      const earlier = await findByKey(channel, input.threadTs, input.idempotencyKey, person);
      if (earlier.found) {
        await record(earlier.found, earlier.author);
        return { channel, ts: earlier.found, threadTs: input.threadTs, deduplicated: true };
      }
    }
    // The SDK's argument type is a union over thread/broadcast shapes; our input is validated upstream.
    const args = {
      channel,
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
    // ── pacing hook: wait for this channel's slot; a 429 holds the channel for every process ──
    await admit({ channel, teamId }, store ? input.idempotencyKey : undefined);
    const { sent, postedAs } = await sendAsPersonOrBot(args, input, person, teamId);
    if ('failed' in sent) {
      if (sent.failed.kind === 'rate_limited')
        await deps.pacer?.holdOff({ channel, teamId, retryAfterSec: sent.failed.retryAfterSec });
      // No "already done" code exists for a post: such an answer would be a request we got wrong.
      const failed =
        sent.failed.kind === 'already_done' ? { kind: 'permanent' as const, error: sent.failed.error } : sent.failed;
      const failure = toActivityFailure('chat.postMessage', failed);
      // A post we stopped waiting for (our timeout: no answer, no reset) may still be committed by
      // Slack after we gave up: the retry's lookup waits for it to settle, or it would look too early
      // and post twice. An answer (5xx) or a reset means Slack is done with the request: quick retry.
      if (failed.kind !== 'transient' || !TIMED_OUT_CODES.has(failed.error)) throw failure;
      throw ApplicationFailure.create({
        type: failure.type ?? FailureType.Transient,
        message: failure.message,
        details: failure.details ? [...failure.details] : undefined,
        nextRetryDelay: AMBIGUOUS_POST_SETTLE_MS,
      });
    }
    const ts = sent.ok.ts!;
    const posted = sent.ok.channel ?? channel;
    await record(ts, postedAs);
    if (store) await deps.pacer?.settled(input.idempotencyKey);
    return { channel: posted, ts, threadTs: input.threadTs, deduplicated: false };
  }

  /**
   * Posts as `person` when they have a live user token here, else (or when Slack refuses their
   * token before posting: `POST_AS_FALLBACK_CODES`) as the bot, in the same attempt: a refused
   * token never posted, so the bot's post is the only one. A token Slack calls dead is marked
   * revoked; every fallback writes one audit row (keyed by the post) and counts
   * `threadline_slack_post_as_total{outcome="fallback"}` before the bot posts.
   */
  async function sendAsPersonOrBot(
    args: Parameters<WebClient['chat']['postMessage']>[0],
    input: PostSlackMessageInput,
    person: string | undefined,
    teamId: string | null,
  ): Promise<{
    sent: { ok: Awaited<ReturnType<WebClient['chat']['postMessage']>> } | { failed: SlackErrorClass };
    postedAs: string | null;
  }> {
    const post = () => deps.slack.chat.postMessage(args);
    if (person && deps.postAs && deps.scope) {
      const { tokens } = deps.postAs;
      const scope = deps.scope;
      let reason = 'no_user_token';
      if (await tokens.canPostAs(teamId ?? undefined, person)) {
        const sent = await attemptCall('chat.postMessage', () => scope.within({ asUser: person }, post));
        const code = 'failed' in sent ? sent.failed.error : undefined;
        if (code === undefined || !(POST_AS_FALLBACK_CODES.has(code) || code === 'user_token_unavailable')) {
          if (code === undefined) deps.metrics?.slackPostAs.inc({ outcome: 'person', reason: 'connected' });
          return { sent, postedAs: person };
        }
        reason = code;
      }
      const revoked = DEAD_USER_TOKEN_CODES.has(reason) && (await tokens.userTokenDied(teamId ?? undefined, person));
      deps.metrics?.slackPostAs.inc({ outcome: 'fallback', reason });
      await deps.postAs.audit.append({
        subject: input.subject,
        action: 'slack.post_as_fallback',
        actor: { kind: 'system', id: 'slack-poster' },
        sourceSystem: 'threadline',
        targetSystem: 'slack',
        outcome: 'ok',
        details: { person, reason, userTokenRevoked: revoked, purpose: input.purpose, team: teamId },
        idempotencyKey: `${input.idempotencyKey}:post-as-fallback`,
      });
    }
    return { sent: await attemptCall('chat.postMessage', post), postedAs: null };
  }

  /**
   * chat.update with the identity that posted the message (Slack lets only a message's author
   * edit it: `cant_update_message`). A message posted as a person whose token has since died
   * cannot be edited by anyone else: that is a permanent failure naming why, which the
   * lifecycle's tolerant step makes loud (audit row, metric, ops-channel post); the bot never tries.
   */
  async function update(input: UpdateSlackMessageInput, store?: SlackMessagesRepo): Promise<void> {
    return inTeam(deps.scope, input.teamId, async () => {
      const send = () =>
        deps.slack.chat.update({ channel: input.channel, ts: input.ts, text: input.text, blocks: input.blocks ?? [] });
      const teamId = await deps.scope?.currentTeam();
      const author = deps.scope ? (await store?.byMessage(teamId, input.channel, input.ts))?.postedAs : undefined;
      if (!author || !deps.scope) {
        await call('chat.update', send);
        return;
      }
      const scope = deps.scope;
      const r = await attemptCall('chat.update', () => scope.within({ asUser: author }, send));
      if ('ok' in r || r.failed.kind === 'already_done') return;
      const code = r.failed.error;
      if (code !== 'user_token_unavailable' && !POST_AS_FALLBACK_CODES.has(code))
        throw toActivityFailure('chat.update', r.failed);
      if (DEAD_USER_TOKEN_CODES.has(code)) await deps.postAs?.tokens.userTokenDied(teamId, author);
      deps.metrics?.slackPostAs.inc({ outcome: 'update_refused', reason: code });
      // The person's token, not the installation, is gone: permanent for this message only.
      throw toActivityFailure('chat.update', { kind: 'permanent', error: `author_token_unusable:${code}` });
    });
  }

  /**
   * Takes the channel's slot. Posts without a store (ops-channel messages) must work while Postgres is down:
   * for them pacing is best effort and their retries always look up Slack.
   */
  async function admit(to: PacedChannel, idempotencyKey: string | undefined): Promise<void> {
    if (!deps.pacer) return;
    if (idempotencyKey) return deps.pacer.admit({ ...to, idempotencyKey });
    await deps.pacer.admit(to).catch((err: unknown) => {
      // The pacer's own answers (deferred, out of time) stand; a database failure does not stop the post.
      if (err instanceof ApplicationFailure) throw err;
    });
  }

  return { call, postOnce, update, resolveConversation };
}
export type SlackPoster = ReturnType<typeof createSlackPoster>;

/** When the activity's first attempt was scheduled (retries keep it); undefined outside an activity. */
function firstAttemptScheduledMs(): number | undefined {
  try {
    return activityInfo().scheduledTimestampMs;
  } catch {
    return undefined;
  }
}

export interface SlackActivityDeps {
  slack: WebClient;
  slackMessages: SlackMessagesRepo;
  metrics?: Metrics;
  /** Share one poster (and its DM cache) with other activities; built from `slack` when absent. */
  poster?: SlackPoster;
  /** As in `SlackPosterDeps.scope`. */
  scope?: SlackPosterDeps['scope'];
}

/**
 * Slack activities. Every post is exactly-once per idempotency key: the key is stored with the
 * message in Slack (`metadata`) and in `slack_messages`; a retry after an ambiguous failure looks
 * it up in Slack before posting again (see `createSlackPoster`).
 */
export function createSlackActivities(deps: SlackActivityDeps) {
  const poster = deps.poster ?? createSlackPoster(deps);
  const { call } = poster;

  return {
    async postSlackMessage(input: PostSlackMessageInput): Promise<PostedSlackMessage> {
      return poster.postOnce(input, deps.slackMessages);
    },

    /** chat.update is naturally idempotent (same content twice is the same state); made as the message's author. */
    async updateSlackMessage(input: UpdateSlackMessageInput): Promise<void> {
      await poster.update(input, deps.slackMessages);
    },

    /**
     * views.open with an interaction's trigger_id (valid 3 s, once). An expired or used trigger is
     * permanent: retrying cannot help, the person has to click again.
     */
    async openSlackView(input: { triggerId: string; view: SlackBlock; teamId?: string }): Promise<{ viewId?: string }> {
      const res = await inTeam(deps.scope, input.teamId, () =>
        call('views.open', () => deps.slack.views.open({ trigger_id: input.triggerId, view: input.view as never })),
      );
      return { viewId: res?.view?.id };
    },

    async postSlackEphemeral(input: PostEphemeralInput): Promise<void> {
      await inTeam(deps.scope, input.teamId, () =>
        call('chat.postEphemeral', () =>
          deps.slack.chat.postEphemeral({
            channel: input.channel,
            user: input.user,
            text: input.text,
            blocks: input.blocks as never,
            thread_ts: input.threadTs,
          }),
        ),
      );
    },
  };
}
export type SlackActivities = ReturnType<typeof createSlackActivities>;
