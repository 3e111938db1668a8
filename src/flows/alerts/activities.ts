import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { WebClient } from '@slack/web-api';
import { classifySlackError, toActivityFailure } from '../../integrations/slack/errors.js';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { SlackBlock } from '../../platform/slack/contract.js';
import { currentAttempt } from '../../platform/temporal/attempt.js';
import { classifiedFailure, FailureType } from '../../platform/temporal/failure-types.js';
import type { AlertsConfig } from './config.js';
import type { AlertState, InvokeChatopsActionInput, InvokeChatopsActionResult } from './contract.js';
import { alertsRepo, type AlertsRepo } from './repo.js';

/** Headers of a ChatOps action request (receivers verify the signature before acting). */
export const ACTION_SIGNATURE_HEADER = 'x-threadline-signature';
export const ACTION_DELIVERY_HEADER = 'x-threadline-delivery';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`: the timestamp is signed with
 * the body, so a receiver can refuse replays older than a few minutes (like Stripe's scheme).
 */
export function signActionRequest(secret: string, body: string, nowSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${nowSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${nowSeconds},v1=${v1}`;
}

/** Members of a channel we keep per occurrence (a bigger channel should entitle through a group). */
export const MEMBERS_LIMIT = 1000;
const MEMBERS_TTL_MS = 5 * 60_000;

export interface AlertActivityDeps {
  slack: WebClient;
  repo: AlertsRepo;
  /** Incoming-webhook URLs by name (secrets). */
  incomingWebhooks: Record<string, string>;
  /** Action endpoints by name (the URL may carry a token, so it stays out of workflow input). */
  actionUrls: Record<string, string>;
  actionSigningSecret: string | undefined;
  metrics?: Metrics;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface PostIncomingWebhookInput {
  webhook: string;
  text: string;
  blocks?: SlackBlock[];
  attachments?: Record<string, unknown>[];
}

/**
 * Alert activities: snapshots (Postgres), channel members (Slack, cached per process so an alert
 * storm asks once per channel), incoming-webhook posts, and ChatOps action requests. Every
 * failure is classified (permanent = non-retryable; 429 after Retry-After; else transient) and
 * carries no secret: neither webhook URLs nor the signing key appear in errors.
 */
export function createAlertActivities(deps: AlertActivityDeps) {
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  const count = (system: string, method: string, outcome: string) =>
    deps.metrics?.externalCalls.inc({ system, method, outcome });
  const members = new Map<string, { at: number; value: Promise<{ members: string[]; truncated: boolean }> }>();

  async function fetchMembers(channel: string): Promise<{ members: string[]; truncated: boolean }> {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      let res;
      try {
        res = await deps.slack.conversations.members({ channel, limit: 200, cursor });
        count('slack', 'conversations.members', 'ok');
      } catch (err) {
        const c = classifySlackError(err);
        count('slack', 'conversations.members', c.kind);
        if (c.kind === 'already_done') break;
        throw toActivityFailure('conversations.members', c);
      }
      out.push(...(res.members ?? []));
      cursor = res.response_metadata?.next_cursor || undefined;
    } while (cursor && out.length < MEMBERS_LIMIT);
    return { members: out.slice(0, MEMBERS_LIMIT), truncated: out.length > MEMBERS_LIMIT || cursor !== undefined };
  }

  function httpFailure(system: string, method: string, status: number, code: string, retryAfter: string | null) {
    if (status === 429) {
      const after = Number(retryAfter ?? '1');
      return classifiedFailure(
        { system, method },
        {
          kind: 'rate_limited',
          error: 'rate_limited',
          retryAfterSec: Math.min(600, Math.max(1, Number.isFinite(after) ? after : 1)),
        },
      );
    }
    if (status === 408 || status >= 500)
      return classifiedFailure({ system, method }, { kind: 'transient', error: code, ambiguous: true });
    return classifiedFailure({ system, method }, { kind: 'permanent', error: code });
  }

  return {
    async saveAlertSnapshot(input: { workflowId: string; state: AlertState }): Promise<void> {
      await deps.repo.saveSnapshot(input.workflowId, input.state);
    },

    async loadAlertSnapshot(input: { workflowId: string }): Promise<AlertState | null> {
      return (await deps.repo.get(input.workflowId)) ?? null;
    },

    /** `conversations.members`, every page up to MEMBERS_LIMIT; answers from a 5-minute cache. */
    async listAlertChannelMembers(input: { channel: string }): Promise<{ members: string[]; truncated: boolean }> {
      const hit = members.get(input.channel);
      if (hit && now() - hit.at < MEMBERS_TTL_MS) return hit.value;
      const value = fetchMembers(input.channel);
      members.set(input.channel, { at: now(), value });
      value.catch(() => members.delete(input.channel));
      return value;
    },

    /**
     * Posts through a Slack incoming webhook (notification-only routes). Slack answers `ok` (200)
     * or an error code as plain text: 400 invalid_payload / no_text, 403 action_prohibited,
     * 404 channel_not_found / no_service, 410 channel_is_archived / no_active_hooks: permanent;
     * 429 after Retry-After; 5xx and network errors are retried. A webhook post cannot be read
     * back, so a retry after a lost answer may post twice (documented in docs/alerts.md).
     */
    async postAlertIncomingWebhook(input: PostIncomingWebhookInput): Promise<{ status: number }> {
      const url = deps.incomingWebhooks[input.webhook];
      if (!url)
        throw classifiedFailure(
          { system: 'slack', method: 'incoming-webhook' },
          { kind: 'permanent', error: 'unknown_webhook' },
        );
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            text: input.text,
            blocks: input.blocks,
            attachments: input.attachments,
            unfurl_links: false,
          }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch {
        count('slack', 'incoming-webhook', 'transient');
        throw classifiedFailure(
          { system: 'slack', method: 'incoming-webhook' },
          { kind: 'transient', error: 'network', ambiguous: true },
        );
      }
      const text = (await res.text().catch(() => '')).trim();
      if (res.ok) {
        count('slack', 'incoming-webhook', 'ok');
        return { status: res.status };
      }
      const code = /^[a-z_]{1,60}$/.test(text) ? text : `http_${res.status}`;
      count(
        'slack',
        'incoming-webhook',
        res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'transient' : 'permanent',
      );
      throw httpFailure('slack', 'incoming-webhook', res.status, code, res.headers.get('retry-after'));
    },

    /**
     * Calls a ChatOps action's endpoint: JSON body, signed (`x-threadline-signature`), with the
     * run id as `x-threadline-delivery` so the receiver can deduplicate retries. 2xx = done;
     * 408/429/5xx/network = retried by the run's policy; other answers (and redirects) are final.
     */
    async invokeChatopsAction(input: InvokeChatopsActionInput): Promise<InvokeChatopsActionResult> {
      const url = deps.actionUrls[input.action];
      if (!url || !deps.actionSigningSecret)
        throw ApplicationFailure.nonRetryable(`action ${input.action} is not configured here`, FailureType.Permanent, {
          system: 'chatops',
          method: input.action,
          error: 'not_configured',
          kind: 'permanent',
        });
      const attempt = currentAttempt();
      const body = JSON.stringify({
        type: 'threadline.action',
        runId: input.runId,
        action: input.action,
        args: input.args,
        invokedBy: input.invokedBy,
        channel: input.channel,
        approvalId: input.approvalId ?? null,
        requestedAt: input.requestedAt,
      });
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Threadline-ChatOps/1',
            [ACTION_SIGNATURE_HEADER]: signActionRequest(deps.actionSigningSecret, body, Math.floor(now() / 1000)),
            [ACTION_DELIVERY_HEADER]: input.runId,
            'x-threadline-attempt': String(attempt),
          },
          body,
          signal: AbortSignal.timeout(input.timeoutMs),
        });
      } catch (err) {
        count('chatops', input.action, 'transient');
        const timedOut = err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
        throw classifiedFailure(
          { system: 'chatops', method: input.action },
          { kind: 'transient', error: timedOut ? 'timeout' : 'network', ambiguous: true },
        );
      }
      const text = await res.text().catch(() => '');
      if (res.ok) {
        count('chatops', input.action, 'ok');
        return { httpStatus: res.status, attempt, output: outputOf(text) };
      }
      count(
        'chatops',
        input.action,
        res.status === 429 ? 'rate_limited' : res.status >= 500 || res.status === 408 ? 'transient' : 'permanent',
      );
      throw httpFailure('chatops', input.action, res.status, `http_${res.status}`, res.headers.get('retry-after'));
    },
  };
}
export type AlertActivities = ReturnType<typeof createAlertActivities>;

/** The endpoint's `message` (JSON) or the start of its text, bounded for the thread. */
function outputOf(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j.message === 'string') return j.message.slice(0, 500);
  } catch {
    // not JSON: use the text
  }
  return text.slice(0, 500);
}

/** The worker's factory (flow.ts). */
export function alertActivities(ctx: FlowWorkerContext<AlertsConfig>) {
  return createAlertActivities({
    slack: ctx.slack,
    repo: alertsRepo(ctx.pool),
    incomingWebhooks: ctx.flowConfig.incomingWebhooks,
    actionUrls: Object.fromEntries(Object.values(ctx.flowConfig.settings.actions).map((a) => [a.name, a.url])),
    actionSigningSecret: ctx.flowConfig.actionSigningSecret,
    metrics: ctx.metrics,
  });
}
