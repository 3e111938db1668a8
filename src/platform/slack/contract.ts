/**
 * Block Kit blocks as plain data. Workflows and domain builders produce them; only activities hand
 * them to @slack/web-api (the sandbox cannot import Slack's packages, and history stores plain JSON).
 */
export type SlackBlock = { type: string } & Record<string, unknown>;

/** Input of the `postSlackMessage` activity. */
export interface PostSlackMessageInput {
  /** Business subject that owns the message, e.g. `payment:order_123`. */
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
}

export interface PostedSlackMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  /** True when an earlier attempt had already posted it (found in our DB or in Slack by metadata). */
  deduplicated: boolean;
}

export interface UpdateSlackMessageInput {
  channel: string;
  ts: string;
  text: string;
  blocks?: SlackBlock[];
}

export interface PostEphemeralInput {
  channel: string;
  user: string;
  text: string;
  blocks?: SlackBlock[];
  threadTs?: string;
}

/** Metadata event type we stamp on every post; lets a retry find an ambiguous earlier post. */
export const THREADLINE_POST_EVENT_TYPE = 'threadline_post';
