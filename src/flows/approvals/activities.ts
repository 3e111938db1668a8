import { createHmac } from 'node:crypto';
import { currentAttempt } from '../../platform/temporal/attempt.js';
import { ApplicationFailure } from '@temporalio/common';
import type { WebClient } from '@slack/web-api';
import type { DeliverCallbackInput, DeliverCallbackResult } from './contract.js';
import { FailureType } from '../../platform/temporal/failure-types.js';
import { classifySlackError, toActivityFailure } from '../../integrations/slack/errors.js';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { ApprovalsConfig } from './config.js';

export interface ApprovalActivityDeps {
  slack: WebClient;
  /** Signs callback bodies; undefined disables callbacks (the API refuses callbackUrl then). */
  approvalCallbackSecret: string | undefined;
  metrics?: Metrics;
  fetch?: typeof fetch;
}

/** Header carrying `sha256=<hex HMAC-SHA256(secret, raw body)>` on every callback. */
export const CALLBACK_SIGNATURE_HEADER = 'x-threadline-signature';

/** The callback signature over the exact bytes sent (receivers verify before parsing). */
export function signCallbackBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

const SLACK_ID = /^[UW][A-Z0-9]{2,}$/;

/**
 * A receiver's `Retry-After` in whole seconds, clamped to 1–600: delta-seconds or an HTTP date
 * (RFC 9110 allows both); missing or unreadable → 1.
 */
function retryAfterSeconds(value: string | null, nowMs: number): number {
  const v = value?.trim() ?? '';
  const seconds = /^\d+$/.test(v) ? Number(v) : Math.ceil((Date.parse(v) - nowMs) / 1000);
  return Math.min(600, Math.max(1, Number.isFinite(seconds) ? seconds : 1));
}

export interface ResolveParticipantsInput {
  requester: string;
  /** `field` names the request field (for a 400), `values` are ids or emails. */
  groups: { field: string; values: string[] }[];
}

export interface ResolveParticipantsResult {
  requesterId?: string;
  /** Same order as the input groups, duplicates merged. */
  groups: string[][];
  unknown: { field: string; value: string }[];
}

/**
 * Approval activities: participant resolution (users.info / users.lookupByEmail), and the signed
 * decision callback. Slack errors are classified like every other Slack call; a person Slack does
 * not know is a result (`unknown`), not a failure, so the API can answer 400 naming the field.
 */
export function createApprovalActivities(deps: ApprovalActivityDeps) {
  const doFetch = deps.fetch ?? fetch;
  const count = (system: string, method: string, outcome: string) =>
    deps.metrics?.externalCalls.inc({ system, method, outcome });

  async function resolveOne(value: string): Promise<string | undefined> {
    const v = value.trim();
    const method = SLACK_ID.test(v) ? 'users.info' : 'users.lookupByEmail';
    try {
      const res = SLACK_ID.test(v)
        ? await deps.slack.users.info({ user: v })
        : await deps.slack.users.lookupByEmail({ email: v });
      count('slack', method, 'ok');
      const u = res.user;
      if (!u?.id || u.deleted || u.is_bot) return undefined;
      return u.id;
    } catch (err) {
      const c = classifySlackError(err);
      count('slack', method, c.kind);
      if (c.kind === 'permanent' && /user(s)?_not_found/.test(c.error)) return undefined;
      if (c.kind === 'already_done') return undefined;
      throw toActivityFailure(method, c);
    }
  }

  return {
    /** Resolves the requester and every approver to Slack user ids; unknown people are reported, not thrown. */
    async resolveApprovalParticipants(input: ResolveParticipantsInput): Promise<ResolveParticipantsResult> {
      const cache = new Map<string, Promise<string | undefined>>();
      const resolve = (v: string) => {
        const key = v.trim().toLowerCase();
        if (!cache.has(key)) cache.set(key, resolveOne(v));
        return cache.get(key)!;
      };
      const unknown: { field: string; value: string }[] = [];
      const requesterId = await resolve(input.requester);
      if (!requesterId) unknown.push({ field: 'requester', value: input.requester });
      const groups: string[][] = [];
      for (const g of input.groups) {
        const ids: string[] = [];
        for (const [i, v] of g.values.entries()) {
          const id = await resolve(v);
          if (!id) unknown.push({ field: `${g.field}.${i}`, value: v });
          else if (!ids.includes(id)) ids.push(id);
        }
        groups.push(ids);
      }
      return { requesterId, groups, unknown };
    },

    /**
     * POSTs the decision to the caller's URL, signed. 2xx = delivered; 408/429/5xx/network = retried
     * by the activity policy (429 after Retry-After); any other answer is permanent (the receiver
     * refused it, or redirects, which we do not follow). Every attempt is counted in metrics.
     */
    async deliverApprovalCallback(input: DeliverCallbackInput): Promise<DeliverCallbackResult> {
      if (!deps.approvalCallbackSecret) {
        throw ApplicationFailure.nonRetryable('APPROVAL_CALLBACK_SECRET is not set', FailureType.Permanent);
      }
      let url: URL;
      try {
        url = new URL(input.url);
      } catch {
        throw ApplicationFailure.nonRetryable('callbackUrl is not a URL', FailureType.Permanent);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw ApplicationFailure.nonRetryable('callbackUrl must be http(s)', FailureType.Permanent);
      }
      const n = currentAttempt();
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Threadline-Approvals/1',
            [CALLBACK_SIGNATURE_HEADER]: signCallbackBody(deps.approvalCallbackSecret, input.body),
            'x-threadline-delivery': input.deliveryId,
            'x-threadline-attempt': String(n),
          },
          body: input.body,
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        count('callback', 'POST', 'transient');
        throw ApplicationFailure.create({
          type: FailureType.Transient,
          message: `callback request failed: ${err instanceof Error ? err.message.slice(0, 200) : 'network error'}`,
        });
      }
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) {
        count('callback', 'POST', 'ok');
        return { status: res.status, attempt: n };
      }
      if (res.status === 429) {
        count('callback', 'POST', 'rate_limited');
        throw ApplicationFailure.create({
          type: FailureType.RateLimited,
          message: 'callback receiver answered 429',
          nextRetryDelay: `${retryAfterSeconds(res.headers.get('retry-after'), Date.now())}s`,
        });
      }
      if (res.status === 408 || res.status >= 500) {
        count('callback', 'POST', 'transient');
        throw ApplicationFailure.create({
          type: FailureType.Transient,
          message: `callback receiver answered ${res.status}`,
        });
      }
      count('callback', 'POST', 'permanent');
      throw ApplicationFailure.nonRetryable(
        `callback receiver answered ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`,
        FailureType.Permanent,
        { status: res.status },
      );
    },
  };
}
export type ApprovalActivities = ReturnType<typeof createApprovalActivities>;

/** The worker's factory (flow.ts): real deps from the worker context. */
export function approvalActivities(ctx: FlowWorkerContext<ApprovalsConfig>) {
  return createApprovalActivities({
    slack: ctx.slack,
    approvalCallbackSecret: ctx.flowConfig.callbackSecret,
    metrics: ctx.metrics,
  });
}
