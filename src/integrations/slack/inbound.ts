import { z } from 'zod';
import type { SlackThreadEvent } from '../../platform/slack/contract.js';

/**
 * Zod schemas for what Slack sends us, strict only where we depend on a field (Slack adds fields
 * over time; unknown ones pass through). Shapes follow Slack's docs and SDK test payloads.
 */
const messageLike = z
  .object({
    type: z.string().optional(),
    user: z.string().optional(),
    bot_id: z.string().optional(),
    app_id: z.string().optional(),
    bot_profile: z.object({ app_id: z.string().optional() }).loose().optional(),
    text: z.string().optional(),
    ts: z.string(),
    thread_ts: z.string().optional(),
    /** A thread reply's root author (Slack sets it on replies). */
    parent_user_id: z.string().optional().catch(undefined),
    subtype: z.string().optional(),
  })
  .loose();
export type SlackMessageLike = z.infer<typeof messageLike>;

/**
 * Only `type` is required. Other fields are read when they have the shape we use and dropped
 * otherwise (`.catch`): event types we do not handle (team_join's `user` is an object, say) must
 * be acknowledged, not rejected as malformed.
 */
const str = z.string().optional().catch(undefined);
export const slackEventSchema = z
  .object({
    type: z.string().min(1),
    subtype: str,
    user: str,
    bot_id: str,
    app_id: str,
    bot_profile: z.object({ app_id: str }).loose().optional().catch(undefined),
    channel: str,
    text: str,
    ts: str,
    thread_ts: str,
    /** A thread reply's root author (Slack sets it on replies). */
    parent_user_id: str,
    /** A reaction's message author. */
    item_user: str,
    event_ts: str,
    message: messageLike.optional().catch(undefined),
    previous_message: messageLike.optional().catch(undefined),
    reaction: str,
    item: z.object({ type: z.string(), channel: str, ts: str }).loose().optional().catch(undefined),
    /** `tokens_revoked`: the user ids whose user tokens (`oauth`) and bot users (`bot`) died. */
    tokens: z
      .object({ oauth: z.array(z.string()).optional(), bot: z.array(z.string()).optional() })
      .loose()
      .optional()
      .catch(undefined),
  })
  .loose();
export type SlackEvent = z.infer<typeof slackEventSchema>;

export const slackEnvelopeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string().min(1), token: z.string().optional() }).loose(),
  z
    .object({
      type: z.literal('event_callback'),
      event_id: z.string().min(1),
      event_time: z.number(),
      team_id: z.string().optional(),
      enterprise_id: z.string().nullish(),
      is_enterprise_install: z.boolean().optional(),
      api_app_id: z.string().optional(),
      event: slackEventSchema,
      authorizations: z
        .array(
          z
            .object({
              user_id: z.string().optional(),
              is_bot: z.boolean().optional(),
              team_id: z.string().nullish(),
              enterprise_id: z.string().nullish(),
              is_enterprise_install: z.boolean().optional(),
            })
            .loose(),
        )
        .optional(),
    })
    .loose(),
  z.object({ type: z.literal('app_rate_limited'), minute_rate_limited: z.number().optional() }).loose(),
]);
export type SlackEnvelope = z.infer<typeof slackEnvelopeSchema>;

const user = z.object({ id: z.string().min(1), team_id: z.string().optional() }).loose();
/** Which workspace (and Grid org) an interaction came from; null in some org-wide payloads. */
const workspaceFields = {
  team: z.object({ id: z.string() }).loose().nullish(),
  enterprise: z.object({ id: z.string() }).loose().nullish(),
  is_enterprise_install: z.boolean().optional(),
};

export const blockActionsSchema = z
  .object({
    type: z.literal('block_actions'),
    user,
    ...workspaceFields,
    trigger_id: z.string().min(1),
    api_app_id: z.string().optional(),
    response_url: z.string().optional(),
    channel: z.object({ id: z.string() }).loose().optional(),
    container: z
      .object({ type: z.string(), message_ts: z.string().optional(), channel_id: z.string().optional() })
      .loose()
      .optional(),
    message: z.object({ ts: z.string() }).loose().optional(),
    view: z.object({ id: z.string(), private_metadata: z.string().optional() }).loose().optional(),
    actions: z
      .array(
        z
          .object({
            action_id: z.string().min(1),
            block_id: z.string().optional(),
            value: z.string().optional(),
            action_ts: z.string().optional(),
            selected_option: z.object({ value: z.string() }).loose().optional(),
          })
          .loose(),
      )
      .min(1),
  })
  .loose();

const stateValue = z
  .object({
    type: z.string().optional(),
    value: z.string().nullish(),
    selected_option: z.object({ value: z.string() }).loose().nullish(),
    selected_user: z.string().nullish(),
    selected_users: z.array(z.string()).nullish(),
    selected_conversation: z.string().nullish(),
    selected_date: z.string().nullish(),
  })
  .loose();

export const viewSubmissionSchema = z
  .object({
    type: z.enum(['view_submission', 'view_closed']),
    user,
    ...workspaceFields,
    trigger_id: z.string().optional(),
    api_app_id: z.string().optional(),
    view: z
      .object({
        id: z.string(),
        callback_id: z.string().optional(),
        private_metadata: z.string().optional(),
        state: z
          .object({ values: z.record(z.string(), z.record(z.string(), stateValue)) })
          .loose()
          .optional(),
      })
      .loose(),
  })
  .loose();

export const shortcutSchema = z
  .object({
    type: z.enum(['shortcut', 'message_action']),
    callback_id: z.string().min(1),
    trigger_id: z.string().min(1),
    user,
    response_url: z.string().optional(),
  })
  .loose();

export const interactionSchema = z.discriminatedUnion('type', [
  blockActionsSchema,
  viewSubmissionSchema,
  shortcutSchema,
]);
export type SlackInteraction = z.infer<typeof interactionSchema>;

export const slashCommandSchema = z
  .object({
    command: z.string().min(1),
    text: z.string().default(''),
    user_id: z.string().min(1),
    channel_id: z.string().min(1),
    team_id: z.string().optional(),
    enterprise_id: z.string().optional(),
    is_enterprise_install: z.enum(['true', 'false']).optional(),
    response_url: z.string().min(1),
    trigger_id: z.string().min(1),
  })
  .loose();
export type SlashCommand = z.infer<typeof slashCommandSchema>;

/** Flattens view state to `block_id.action_id` → value (text, selected option, users joined by comma). */
export function flattenViewState(values: Record<string, Record<string, z.infer<typeof stateValue>>> | undefined) {
  const out: Record<string, string> = {};
  for (const [blockId, actions] of Object.entries(values ?? {})) {
    for (const [actionId, v] of Object.entries(actions)) {
      const value =
        v.value ??
        v.selected_option?.value ??
        v.selected_user ??
        v.selected_users?.join(',') ??
        v.selected_conversation ??
        v.selected_date ??
        '';
      out[`${blockId}.${actionId}`] = value;
    }
  }
  return out;
}

/**
 * The installation a request belongs to, from what Slack says about it (bolt-js's rule): the
 * Grid org for an org-wide install, else the workspace. Undefined when Slack names neither.
 */
export function installationOf(w: {
  teamId?: string | null | undefined;
  enterpriseId?: string | null | undefined;
  isEnterpriseInstall?: boolean | undefined;
}): string | undefined {
  if (w.isEnterpriseInstall && w.enterpriseId) return w.enterpriseId;
  return w.teamId ?? w.enterpriseId ?? undefined;
}

/** The installation of an Events API callback (its first authorization says how the app is installed). */
export function installationOfEnvelope(env: Extract<SlackEnvelope, { type: 'event_callback' }>): string | undefined {
  const a = env.authorizations?.[0];
  return installationOf({
    teamId: env.team_id ?? a?.team_id,
    enterpriseId: env.enterprise_id ?? a?.enterprise_id,
    isEnterpriseInstall: env.is_enterprise_install ?? a?.is_enterprise_install,
  });
}

export type ClassifiedEvent =
  | { kind: 'own_echo' }
  | { kind: 'installation_ended'; type: string; tokens?: { oauth: string[]; bot: string[] } }
  | { kind: 'unsupported'; reason: string }
  | {
      kind: 'thread';
      /** Where to look up the owning subject (slack_messages: a message's ts or its thread root). */
      lookup: { channel: string; ts: string };
      /** The workflow signal minus what the envelope adds (event id and time). */
      event: Omit<SlackThreadEvent, 'eventId' | 'eventTime'>;
      /**
       * Who wrote the message `lookup.ts` names, when Slack says (a reply's `parent_user_id`, a
       * reaction's `item_user`): a thread whose root is ours but not recorded yet is told apart by it.
       */
      parentUser?: string;
      /** Our bot's user id in this installation (the envelope's bot authorization). */
      botUserId?: string;
    };

type EventCallback = Extract<SlackEnvelope, { type: 'event_callback' }>;

/** The fields that are set (optional properties stay absent rather than undefined). */
function known<T extends Record<string, string | undefined>>(o: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<Record<keyof T, string>>;
}

/**
 * Decides what an Events API callback means for Threadline, from the wire payload alone:
 * our own posts and edits come back as `message` (no subtype, with `bot_id`) and
 * `message_changed` events and must never trigger work; people's thread replies, edits,
 * deletions and reactions are routed to the thread's owner.
 */
export function classifySlackEvent(env: EventCallback): ClassifiedEvent {
  const e = env.event;
  const botUserId = env.authorizations?.find((a) => a.is_bot)?.user_id;
  const ours = (
    m: { user?: string; bot_id?: string; app_id?: string; bot_profile?: { app_id?: string } } | undefined,
  ) =>
    m !== undefined &&
    ((env.api_app_id !== undefined && (m.app_id === env.api_app_id || m.bot_profile?.app_id === env.api_app_id)) ||
      (botUserId !== undefined && m.user === botUserId));

  if (e.type === 'app_uninstalled') return { kind: 'installation_ended', type: e.type };
  if (e.type === 'tokens_revoked') {
    return {
      kind: 'installation_ended',
      type: e.type,
      tokens: { oauth: e.tokens?.oauth ?? [], bot: e.tokens?.bot ?? [] },
    };
  }

  if (e.type === 'reaction_added' || e.type === 'reaction_removed') {
    if (botUserId !== undefined && e.user === botUserId) return { kind: 'own_echo' };
    if (e.item?.type !== 'message' || !e.item.channel || !e.item.ts || !e.user || !e.reaction) {
      return { kind: 'unsupported', reason: 'reaction_not_on_message' };
    }
    return {
      kind: 'thread',
      lookup: { channel: e.item.channel, ts: e.item.ts },
      ...known({ parentUser: e.item_user, botUserId }),
      event: {
        kind: e.type,
        channel: e.item.channel,
        threadTs: e.item.ts,
        ts: e.item.ts,
        user: e.user,
        reaction: e.reaction,
      },
    };
  }

  if (e.type !== 'message') return { kind: 'unsupported', reason: `event_type:${e.type}` };
  if (!e.channel) return { kind: 'unsupported', reason: 'no_channel' };

  if (e.subtype === 'message_changed' || e.subtype === 'message_deleted') {
    const m = e.subtype === 'message_changed' ? e.message : e.previous_message;
    if (!m) return { kind: 'unsupported', reason: `${e.subtype}_without_message` };
    if (ours(m) || ours(e)) return { kind: 'own_echo' };
    if (!m.thread_ts || m.thread_ts === m.ts || !m.user) return { kind: 'unsupported', reason: 'not_a_thread_reply' };
    return {
      kind: 'thread',
      lookup: { channel: e.channel, ts: m.thread_ts },
      ...known({ parentUser: m.parent_user_id, botUserId }),
      event: {
        kind: e.subtype,
        channel: e.channel,
        threadTs: m.thread_ts,
        ts: m.ts,
        user: m.user,
        text: e.subtype === 'message_changed' ? m.text : undefined,
      },
    };
  }

  // New messages: no subtype (people, and current apps' bots), or a broadcast thread reply.
  if (e.subtype !== undefined && e.subtype !== 'thread_broadcast' && e.subtype !== 'file_share') {
    return { kind: 'unsupported', reason: `subtype:${e.subtype}` };
  }
  if (ours(e)) return { kind: 'own_echo' };
  if (!e.ts || !e.thread_ts || e.thread_ts === e.ts) return { kind: 'unsupported', reason: 'top_level_message' };
  if (!e.user) return { kind: 'unsupported', reason: 'no_user' };
  return {
    kind: 'thread',
    lookup: { channel: e.channel, ts: e.thread_ts },
    ...known({ parentUser: e.parent_user_id, botUserId }),
    event: { kind: 'message', channel: e.channel, threadTs: e.thread_ts, ts: e.ts, user: e.user, text: e.text },
  };
}
