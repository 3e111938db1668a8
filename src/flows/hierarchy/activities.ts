import { ApplicationFailure } from '@temporalio/common';
import type { WebClient } from '@slack/web-api';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { createSlackPoster, type SlackPoster } from '../../platform/slack/activities.js';
import { classifiedFailure, FailureType, type FailureDetails } from '../../platform/temporal/failure-types.js';
import type { HierarchyConfig } from './config.js';
import type {
  EnsureChannelInput,
  EnsuredChannel,
  MembershipProblem,
  NotificationOutcome,
  ReconcileResult,
  ResolvedAudience,
} from './contract.js';
import { alternativeName, membershipDiff } from './domain/channel.js';
import { orgRepo, type OrgRepo } from './repo.js';

export interface HierarchyActivityDeps {
  slack: WebClient;
  repo: OrgRepo;
  metrics?: Metrics;
  poster?: SlackPoster;
}

/** The Slack error code a classified failure carries (ApplicationFailure details, set by the error table). */
function codeOf(err: unknown): string | undefined {
  return err instanceof ApplicationFailure
    ? (err.details?.[0] as Partial<FailureDetails> | undefined)?.error
    : undefined;
}
/** Permanent for this call (not a dead installation, which must fail the step loudly). */
const isPermanent = (err: unknown) => err instanceof ApplicationFailure && err.type === FailureType.Permanent;

/** The channel itself is unusable (archived, deleted, the bot removed): a new one is needed. */
const CHANNEL_GONE = new Set(['channel_not_found', 'is_archived', 'channel_is_archived']);
/** Removing someone who is already out of the channel (or of the workspace), or the bot itself: nothing to do. */
const REMOVE_DONE = new Set(['not_in_channel', 'user_not_found', 'cant_kick_self']);
/** Inviting the bot itself, or someone already in: nothing to do. */
const INVITE_DONE = new Set(['already_in_channel', 'cant_invite_self']);

/** Alternatives tried when a channel name is held by a channel the bot cannot use. */
const NAME_ATTEMPTS = 5;

/**
 * Org-channel activities: the audience from the closure table, the person's private channel
 * (created on demand), and membership reconciliation with each Slack error handled on its own:
 * - invites: `already_in_channel` / `cant_invite_self` are success; `user_not_found`, `cant_invite`
 *   (deactivated or pending accounts), `ura_max_channels` (single-channel guests) and any other
 *   per-person refusal are returned as problems (reported once; the post goes on);
 * - removals: `not_in_channel`, `user_not_found`, `cant_kick_self` are success; `restricted_action`
 *   (the workspace lets only admins remove people) and others are problems;
 * - `channel_not_found` / `is_archived` anywhere: `channelGone` (the workflow makes a new channel);
 * - rate limits and transient errors fail the activity so its retry policy waits (Retry-After).
 */
export function createHierarchyActivities(deps: HierarchyActivityDeps) {
  const poster = deps.poster ?? createSlackPoster({ slack: deps.slack, metrics: deps.metrics });
  const { call } = poster;
  let botUserId: string | undefined;

  async function bot(): Promise<string> {
    botUserId ??= (await call('auth.test', () => deps.slack.auth.test())).user_id;
    if (!botUserId)
      throw ApplicationFailure.create({
        type: FailureType.Transient,
        message: 'Slack auth.test answered without a user id',
      });
    return botUserId;
  }

  /** A private channel of this name the bot is in (and not archived), by listing its private channels. */
  async function findOwnPrivate(name: string): Promise<string | undefined> {
    let cursor: string | undefined;
    do {
      const res = await call('conversations.list', () =>
        deps.slack.conversations.list({ types: 'private_channel', exclude_archived: true, limit: 200, cursor }),
      );
      const hit = res?.channels?.find((c) => c.name === name && !c.is_archived);
      if (hit?.id) return hit.id;
      cursor = res?.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
  }

  return {
    async resolveAudience(input: { personId: string; includeReportingChain: boolean }): Promise<ResolvedAudience> {
      return deps.repo.audience(input.personId, input.includeReportingChain);
    },

    /**
     * The person's private channel: the one on record, else a new one (`conversations.create` with
     * `is_private`). A name already taken by a channel of ours (an earlier attempt created it and
     * the answer was lost) is that channel; one taken by a channel we cannot use gets `-2`, `-3`, ….
     */
    async ensurePersonChannel(input: EnsureChannelInput): Promise<EnsuredChannel> {
      const known = await deps.repo.channelOf(input.personId);
      if (known && known.id !== input.stale) return { ...known, created: false };
      for (let n = 1; n <= NAME_ATTEMPTS; n++) {
        const name = n === 1 ? input.name : alternativeName(input.name, n);
        // A stale channel keeps its name (archived channels hold it): start from the next one.
        if (input.stale && known?.name === name) continue;
        const res = await call('conversations.create', () =>
          deps.slack.conversations.create({ name, is_private: true }),
        );
        // `name_taken` answers undefined (already done): is it ours?
        const id = res?.channel?.id ?? (await findOwnPrivate(name));
        if (id && id !== input.stale) {
          await deps.repo.saveChannel(input.personId, id, name);
          return { id, name, created: res?.channel?.id !== undefined };
        }
      }
      throw classifiedFailure(
        { system: 'slack', method: 'conversations.create', label: 'Slack conversations.create' },
        { kind: 'permanent', error: 'name_taken' },
      );
    },

    /** Expected members against `conversations.members`: invite the missing, remove the departed. */
    async reconcileChannelMembers(input: { channel: string; expected: string[] }): Promise<ReconcileResult> {
      const gone: ReconcileResult = { channelGone: true, added: [], removed: [], problems: [], members: 0 };
      const me = await bot();
      try {
        const info = await call('conversations.info', () => deps.slack.conversations.info({ channel: input.channel }));
        if (info?.channel?.is_archived) return gone;
      } catch (err) {
        if (CHANNEL_GONE.has(codeOf(err) ?? '')) return gone;
        throw err;
      }
      const actual: string[] = [];
      let cursor: string | undefined;
      try {
        do {
          const res = await call('conversations.members', () =>
            deps.slack.conversations.members({ channel: input.channel, limit: 200, cursor }),
          );
          actual.push(...(res?.members ?? []));
          cursor = res?.response_metadata?.next_cursor || undefined;
        } while (cursor);
      } catch (err) {
        if (CHANNEL_GONE.has(codeOf(err) ?? '')) return gone;
        throw err;
      }
      const diff = membershipDiff(input.expected, actual, me);
      const added: string[] = [];
      const removed: string[] = [];
      const problems: MembershipProblem[] = [];
      for (const user of diff.invite) {
        try {
          await call('conversations.invite', () =>
            deps.slack.conversations.invite({ channel: input.channel, users: user }),
          );
          added.push(user);
        } catch (err) {
          const code = codeOf(err) ?? 'unknown';
          if (INVITE_DONE.has(code)) continue;
          // Only the bot's own membership makes `not_in_channel` on an invite: the channel is lost to us.
          if (CHANNEL_GONE.has(code) || code === 'not_in_channel') return gone;
          if (!isPermanent(err)) throw err;
          problems.push({ user, op: 'invite', error: code });
        }
      }
      for (const user of diff.remove) {
        try {
          await call('conversations.kick', () => deps.slack.conversations.kick({ channel: input.channel, user }));
          removed.push(user);
        } catch (err) {
          const code = codeOf(err) ?? 'unknown';
          if (REMOVE_DONE.has(code)) continue;
          if (CHANNEL_GONE.has(code)) return gone;
          if (!isPermanent(err)) throw err;
          problems.push({ user, op: 'remove', error: code });
        }
      }
      const members = new Set([...actual.filter((u) => u !== me && !removed.includes(u)), ...added]).size;
      return { channelGone: false, added, removed, problems, members };
    },

    async recordNotificationOutcome(o: NotificationOutcome): Promise<void> {
      await deps.repo.recordOutcome(o);
    },
  };
}
export type HierarchyActivities = ReturnType<typeof createHierarchyActivities>;

/** The worker's factory (flow.ts). */
export function hierarchyActivities(ctx: FlowWorkerContext<HierarchyConfig>) {
  return createHierarchyActivities({ slack: ctx.slack, repo: orgRepo(ctx.pool), metrics: ctx.metrics });
}
