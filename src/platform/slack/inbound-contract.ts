import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

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
}

/** A click on one of our buttons, or a modal submission, as handed to the owning workflow. */
export interface SlackActionRequest {
  /** Dedup id: the interaction's trigger_id (unique per interaction). */
  interactionId: string;
  /** Verb from the action id `tl:<verb>` or the view callback id `tl:<verb>`, e.g. `approval.approve`. */
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
}

/** Wire name `slackThreadEvent`. */
export const slackThreadEventSignal = defineSignal<[SlackThreadEvent]>('slackThreadEvent');
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
      responseUrl?: string;
      channel?: string;
      user: string;
      text: string;
      replaceOriginal?: boolean;
    }
  | {
      kind: 'status';
      responseUrl: string;
      user: string;
      channel?: string;
      query: string;
    }
  | {
      /** Opens a modal with a command's or shortcut's trigger_id (valid 3 s: opened first thing). */
      kind: 'open_view';
      triggerId: string;
      user: string;
      /** The modal, as plain Block Kit JSON. */
      view: { type: string } & Record<string, unknown>;
      /** Where to say so if the trigger expired before we could use it. */
      responseUrl?: string;
    };
