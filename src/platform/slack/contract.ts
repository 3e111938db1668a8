import { defineQuery, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

/**
 * Block Kit blocks as plain data. Workflows and domain builders produce them; only activities hand
 * them to @slack/web-api (the sandbox cannot import Slack's packages, and history stores plain JSON).
 */
export type SlackBlock = { type: string } & Record<string, unknown>;

/** Input of the `postSlackMessage` activity. */
export interface PostSlackMessageInput {
  /** Business subject that owns the message, `<kind>:<id>`. */
  subject: string;
  /** Channel id, or a user id to DM. */
  channel: string;
  /** Fallback text (notifications, screen readers); always sent with blocks. */
  text: string;
  blocks?: SlackBlock[];
  /** Parent ts to reply in a thread (always the root's ts, never a reply's). */
  threadTs?: string;
  replyBroadcast?: boolean;
  /** 'root', 'reply', 'escalation', … (recorded in slack_messages). */
  purpose: string;
  /** Derived from workflow id + step: the same key never posts twice. */
  idempotencyKey: string;
  /**
   * The installation to post with (team id, or an org-wide install's enterprise id). Unset: the
   * workspace recorded for the posting workflow (`slack_subjects`), else the default installation.
   */
  teamId?: string;
}

export interface PostedSlackMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  /** True when an earlier attempt had already posted it (found in our DB or in Slack by metadata). */
  deduplicated: boolean;
}

export interface UpdateSlackMessageInput {
  /** As in `PostSlackMessageInput.teamId`. */
  teamId?: string;
  channel: string;
  ts: string;
  text: string;
  blocks?: SlackBlock[];
}

export interface PostEphemeralInput {
  /** As in `PostSlackMessageInput.teamId`. */
  teamId?: string;
  channel: string;
  user: string;
  text: string;
  blocks?: SlackBlock[];
  threadTs?: string;
}

/** Metadata event type we stamp on every post; lets a retry find an ambiguous earlier post. */
export const THREADLINE_POST_EVENT_TYPE = 'threadline_post';

// ─── Inbound: what the ingress hands to workflows ─────────────────────────────────────────────

/**
 * What a person did in a thread Threadline owns (message, edit, delete, reaction), delivered to
 * the owning workflow by the Slack ingress. `eventId` is Slack's `event_id`: workflows keep the ids
 * they processed, so a re-delivery after a crash between hand-off and ledger commit is a no-op.
 */
export interface SlackThreadEvent {
  eventId: string;
  kind: 'message' | 'message_changed' | 'message_deleted' | 'reaction_added' | 'reaction_removed';
  channel: string;
  /** The thread root's ts (for reactions: the reacted message's thread root when known, else the message). */
  threadTs: string;
  /** The message's own ts (for reactions: the reacted message). */
  ts: string;
  user: string;
  text?: string;
  reaction?: string;
  eventTime: number;
  /**
   * The installation this belongs to (team id, or the enterprise id of an org-wide install).
   * Optional: lifecycles recorded before multi-workspace support, and single-workspace mode.
   */
  teamId?: string;
}

/** A click on one of our buttons, or a modal submission, as handed to the owning workflow. */
export interface SlackActionRequest {
  /** Dedup id: the interaction's trigger_id (unique per interaction). */
  interactionId: string;
  /** Verb from the action id `tl:<verb>` or the view callback id `tl:<verb>`, `<kind>.<action>`. */
  verb: string;
  user: string;
  value?: string;
  /** Modal field values keyed `block_id.action_id` (view submissions). */
  fields?: Record<string, string>;
  channel?: string;
  messageTs?: string;
  triggerId?: string;
  responseUrl?: string;
  actionTs?: string;
  /**
   * The installation this belongs to (team id, or the enterprise id of an org-wide install).
   * Optional: lifecycles recorded before multi-workspace support, and single-workspace mode.
   */
  teamId?: string;
}

export interface SlackActionResult {
  accepted: boolean;
  /** Shown to the clicking user (ephemeral) when present. */
  message?: string;
}

/** Generic status every thread-owning workflow answers (`/threadline status`). */
export interface SubjectStatus {
  subject: string;
  kind: string;
  status: string;
  summary: string;
  updatedAt: string;
  link?: string;
  /**
   * Slack user ids entitled to see this status besides its audit actors and the members of the
   * conversations its messages are in: the people the flow names (an owner, a requester,
   * deciders). Never shown; only checked.
   */
  participants?: string[];
}

/** Wire name `slackThreadEvent`. */
export const slackThreadEventSignal = defineSignal<[SlackThreadEvent]>('slackThreadEvent');
/**
 * Wire name `slackThreadEvents`: several events of one thread in one signal, oldest first. The
 * relay sends a thread's backlog this way (the ingress names it as the `batchSignal` of every
 * thread event's call), so a burst costs one signal and one workflow task.
 */
export const slackThreadEventsSignal = defineSignal<[SlackThreadEvent[]]>('slackThreadEvents');

/**
 * In a workflow that owns a thread: handles its events, one per `slackThreadEvent` signal or
 * several per `slackThreadEvents` batch, in order. Every such workflow installs its handler with
 * this (installing a handler issues no command: replay-safe for histories of either signal).
 */
export function handleSlackThreadEvents(handler: (e: SlackThreadEvent) => void): void {
  setHandler(slackThreadEventSignal, handler);
  setHandler(slackThreadEventsSignal, (events) => {
    for (const e of events) handler(e);
  });
}
/** Wire name `slackAction`: clicks that need no synchronous answer. */
export const slackActionSignal = defineSignal<[SlackActionRequest]>('slackAction');
/** Wire name `slackActionUpdate`: clicks that must be authorized/answered (validator rejects unauthorized users). */
export const slackActionUpdate = defineUpdate<SlackActionResult, [SlackActionRequest]>('slackActionUpdate');
/** Wire name `threadlineStatus`. */
export const subjectStatusQuery = defineQuery<SubjectStatus>('threadlineStatus');

/** Input of `slackResponseWorkflow`: answers sent after the 3 s ack, through response_url or an ephemeral. */
export type SlackResponseRequest =
  | {
      kind: 'notice';
      /** The installation the answer goes to (ephemerals, modals); unset: the default one. */
      teamId?: string;
      responseUrl?: string;
      channel?: string;
      user: string;
      text: string;
      replaceOriginal?: boolean;
    }
  | {
      kind: 'status';
      teamId?: string;
      responseUrl: string;
      user: string;
      channel?: string;
      query: string;
      /** The id forms the registered flows understand, for a "not found" answer. */
      forms?: string;
    }
  | {
      /** Opens a modal with a command's or shortcut's trigger_id (valid 3 s: opened first thing). */
      kind: 'open_view';
      teamId?: string;
      triggerId: string;
      user: string;
      /** The modal, as plain Block Kit JSON. */
      view: { type: string } & Record<string, unknown>;
      /** Where to say so if the trigger expired before we could use it. */
      responseUrl?: string;
    };

// ─── Naming convention for everything clickable ───────────────────────────────────────────────
// Action ids and view callback ids are `tl:<verb>` (verbs are `<kind>.<action>`, declared by each
// flow); a button's value, or a view's private_metadata, carries the owning workflow id
// (`<kind>:<id>`), optionally followed by `|<extra>`. So the ingress routes a click without
// knowing the flows.

export const ACTION_PREFIX = 'tl:';

export function actionId(verb: string): string {
  return `${ACTION_PREFIX}${verb}`;
}

export function parseActionId(id: string): string | undefined {
  return id.startsWith(ACTION_PREFIX) ? id.slice(ACTION_PREFIX.length) : undefined;
}

/** `<workflowId>|<extra>`, as a button value or private_metadata. */
export function target(workflowId: string, extra?: string): string {
  return extra === undefined ? workflowId : `${workflowId}|${extra}`;
}

/** Splits `<workflowId>|<extra>`; undefined unless the workflow id is `<one of kinds>:<id>`. */
export function parseTarget(
  value: string | undefined,
  kinds: readonly string[],
): { workflowId: string; kind: string; extra?: string } | undefined {
  if (!value) return undefined;
  const [workflowId, ...rest] = value.split('|');
  const m = /^([a-z][a-z0-9_-]*):[\w.:-]{1,200}$/.exec(workflowId ?? '');
  if (!workflowId || !m || !kinds.includes(m[1]!)) return undefined;
  return rest.length ? { workflowId, kind: m[1]!, extra: rest.join('|') } : { workflowId, kind: m[1]! };
}

/** Field errors for a view submission: `required` fields that are empty (pure, so it fits the 3 s window). */
export function missingViewFields(
  required: readonly { blockId: string; actionId: string; message: string }[],
  fields: Record<string, string>,
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const f of required) {
    if (!(fields[`${f.blockId}.${f.actionId}`] ?? '').trim()) errors[f.blockId] = f.message;
  }
  return errors;
}
