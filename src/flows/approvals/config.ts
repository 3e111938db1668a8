import { z } from 'zod';
import { channelId, duration, optionalString } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';

/** Sandbox-only key for signing approval callbacks (`X-Threadline-Signature`); set your own outside the sandbox. */
export const SANDBOX_APPROVAL_CALLBACK_SECRET = 'threadline-sandbox-approval-callback-secret';

export interface ApprovalsConfig {
  /** Default channel for requests filed from Slack without one. */
  channel: string;
  /** Signs decision callbacks; unset outside the sandbox: callbackUrl is refused. */
  callbackSecret: string | undefined;
  remindAfterMs: number;
  expireAfterMs: number;
  decidedGraceMs: number;
  callbackMaxAttempts: number;
  callbackRetryInitialMs: number;
  callbackRetryMaxMs: number;
}

export const approvalsConfig = defineFlowConfig(
  {
    SLACK_CHANNEL_APPROVALS: channelId.optional(),
    APPROVAL_CALLBACK_SECRET: optionalString,
    APPROVAL_REMIND_AFTER: duration('4h'),
    APPROVAL_EXPIRE_AFTER: duration('7d'),
    APPROVAL_DECIDED_GRACE: duration('15m'),
    APPROVAL_CALLBACK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
    APPROVAL_CALLBACK_RETRY_INITIAL: duration('1s'),
    APPROVAL_CALLBACK_RETRY_MAX: duration('5m'),
  },
  (e, ctx): ApprovalsConfig => ({
    channel: ctx.require('SLACK_CHANNEL_APPROVALS', e.SLACK_CHANNEL_APPROVALS, 'C0APPROVAL', 'a Slack channel id'),
    callbackSecret: e.APPROVAL_CALLBACK_SECRET ?? (ctx.sandbox ? SANDBOX_APPROVAL_CALLBACK_SECRET : undefined),
    remindAfterMs: e.APPROVAL_REMIND_AFTER,
    expireAfterMs: e.APPROVAL_EXPIRE_AFTER,
    decidedGraceMs: e.APPROVAL_DECIDED_GRACE,
    callbackMaxAttempts: e.APPROVAL_CALLBACK_MAX_ATTEMPTS,
    callbackRetryInitialMs: e.APPROVAL_CALLBACK_RETRY_INITIAL,
    callbackRetryMaxMs: e.APPROVAL_CALLBACK_RETRY_MAX,
  }),
);
