import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { z } from 'zod';
import {
  slackActionSignal,
  slackActionUpdate,
  slackThreadEventSignal,
  type SlackActionRequest,
  type SlackResponseRequest,
  type SlackThreadEvent,
  missingViewFields,
  parseActionId,
  parseTarget,
} from '../slack/contract.js';
import type { viewSubmissionSchema } from '../../integrations/slack/inbound.js';
import {
  classifySlackEvent,
  flattenViewState,
  interactionSchema,
  slackEnvelopeSchema,
  slashCommandSchema,
  type SlackInteraction,
} from '../../integrations/slack/inbound.js';
import { verifySlackSignature } from '../../integrations/slack/signature.js';
import { flowConfigOf, type AnyFlow, type ApiDeps, type SubcommandSpec } from '../flow.js';
import { buildSlackRegistry, ROOT_COMMAND, type SlackRegistry } from './registry.js';
import { AppError, describeZodIssues } from '../http/errors.js';
import { handOff, temporalWithin } from '../ledger/handoff.js';
import { budgetOf } from '../http/ack.js';
import { createBudget, DeadlineExceededError, type RequestBudget } from '../http/budget.js';

/** A click's answer that missed the request budget is finished after the ack, within this. */
const FOLLOW_UP_AFTER_ACK_MS = 10_000;
/** `x-slack-retry-reason` values Slack documents; anything else is counted as `other`. */
const RETRY_REASONS = new Set([
  'http_timeout',
  'too_many_redirects',
  'connection_failed',
  'ssl_error',
  'http_error',
  'unknown_error',
]);
const ACK = { config: { ack: true } } as const;
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * The Slack front door: verify → parse → validate → dedup → one Temporal call → ack. Nothing here
 * calls Slack; answers that take longer than the ack go through `slackResponseWorkflow`. Every
 * Postgres and Temporal call of a request shares its budget (`req.budget`, 2.5 s), so Slack gets a
 * 200 or a 503 inside its 3 s, never a late 200. 4xx answers carry `X-Slack-No-Retry: 1`
 * (a retry of a request we refused cannot fare better); 5xx answers never do.
 */
export interface SlackIngressDeps extends ApiDeps {
  flows: readonly AnyFlow[];
}

export async function slackRoutes(app: FastifyInstance, deps: SlackIngressDeps): Promise<void> {
  const registry = buildSlackRegistry(deps.flows);
  // Signatures are over the exact bytes: take every body raw, verify, and only then parse.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    done(null, body);
  });

  const now = deps.now ?? Date.now;
  const hand = { inbound: deps.repos.inbound, metrics: deps.metrics };
  const metric = (type: string, outcome: string) => deps.metrics.inboundEvents.inc({ source: 'slack', type, outcome });

  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode >= 400 && reply.statusCode < 500) void reply.header('x-slack-no-retry', '1');
    return payload;
  });

  /** Counts Slack's redeliveries (signed ones only, with bounded label values). */
  function countRetry(req: FastifyRequest): void {
    const num = header(req, 'x-slack-retry-num');
    if (num === undefined) return;
    const reason = header(req, 'x-slack-retry-reason') ?? 'unknown_error';
    deps.metrics.slackRetries.inc({
      reason: RETRY_REASONS.has(reason) ? reason : 'other',
      num: /^[1-9]$/.test(num) ? num : 'other',
    });
  }

  function verify(req: FastifyRequest, kind: string): Buffer {
    const raw = req.rawBody ?? Buffer.alloc(0);
    const res = verifySlackSignature({
      signingSecret: deps.config.slack.signingSecret,
      timestamp: header(req, 'x-slack-request-timestamp'),
      signature: header(req, 'x-slack-signature'),
      rawBody: raw,
      nowSeconds: Math.floor(now() / 1000),
    });
    if (!res.ok) {
      metric(kind, 'rejected');
      throw AppError.unauthorized(res.reason, `Slack request verification failed: ${res.reason}`);
    }
    countRetry(req);
    return raw;
  }

  function requireType(req: FastifyRequest, expected: string): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== expected) {
      throw AppError.badRequest('unsupported_content_type', `content-type must be ${expected} (got ${type || 'none'})`);
    }
  }

  function parseJson(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw AppError.badRequest('invalid_json', `${what} is not valid JSON: ${(err as Error).message}`);
    }
  }

  function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
    const r = schema.safeParse(value);
    if (!r.success) throw AppError.badRequest('invalid_payload', `${what}: ${describeZodIssues(r.error.issues)}`);
    return r.data;
  }

  /** A Temporal call bounded by the request's remaining budget (gRPC deadline). */
  const withDeadline = <T>(budget: RequestBudget, fn: () => Promise<T>) => temporalWithin(deps.temporal, budget, fn);

  /**
   * Starts the workflow that answers the user after the ack, once per interaction id: a running
   * one is joined, and a finished one is never started again (a late first attempt and its
   * retry must not answer twice).
   */
  const respondLater = (budget: RequestBudget, id: string, request: SlackResponseRequest) =>
    withDeadline(budget, () =>
      deps.temporal.workflow.start('slackResponseWorkflow', {
        workflowId: `slack-response:${id}`,
        taskQueue: deps.config.temporal.taskQueue,
        args: [request],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    ).then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return; // already answered
        throw err;
      },
    );

  /**
   * A click's answer, after its update was applied. Started within what is left of the budget;
   * if that is not enough, the click is acknowledged anyway (it took effect: a 503 would show the
   * person an error for a click that worked) and the answer is started after the ack.
   */
  async function followUp(req: FastifyRequest, budget: RequestBudget, id: string, request: SlackResponseRequest) {
    try {
      await respondLater(budget, id, request);
      deps.metrics.slackFollowUps.inc({ outcome: 'in_time' });
      return;
    } catch {
      // Missed the budget (or Temporal refused): finish it after the ack.
    }
    void respondLater(createBudget(FOLLOW_UP_AFTER_ACK_MS), id, request).then(
      () => deps.metrics.slackFollowUps.inc({ outcome: 'after_ack' }),
      (err: unknown) => {
        deps.metrics.slackFollowUps.inc({ outcome: 'failed' });
        req.log.error(
          { interaction: id, error: err instanceof Error ? err.message.slice(0, 200) : 'unknown' },
          'could not answer a click after its update: the person sees no confirmation',
        );
      },
    );
  }

  // ─── Events API ────────────────────────────────────────────────────────────────────────────
  app.post('/slack/events', ACK, async (req, reply) => {
    const budget = budgetOf(req);
    const raw = verify(req, 'event');
    requireType(req, JSON_TYPE);
    const envelope = validate(slackEnvelopeSchema, parseJson(raw.toString('utf8'), 'body'), 'event envelope');

    if (envelope.type === 'url_verification') return reply.send({ challenge: envelope.challenge });
    if (envelope.type === 'app_rate_limited') {
      req.log.error({ minute: envelope.minute_rate_limited }, 'Slack is rate limiting our Events API subscription');
      metric('app_rate_limited', 'ignored');
      return reply.send();
    }

    const c = classifySlackEvent(envelope);
    const type = envelope.event.subtype ? `${envelope.event.type}.${envelope.event.subtype}` : envelope.event.type;
    if (c.kind === 'own_echo') {
      metric(type, 'own_echo');
      return reply.send();
    }
    if (c.kind === 'installation_ended') {
      // Loud: every Slack call will fail from now on until someone reinstalls the app.
      req.log.error({ event: c.type, team: envelope.team_id }, 'Slack installation ended: reinstall the app');
      metric(type, 'installation_ended');
      return reply.send();
    }
    if (c.kind === 'unsupported') {
      metric(type, 'unsupported');
      return reply.send();
    }

    let subject: string | undefined;
    try {
      subject = await deps.repos.slackMessages.subjectFor(c.lookup.channel, c.lookup.ts, budget);
    } catch (err) {
      metric(type, 'failed');
      if (err instanceof DeadlineExceededError) deps.metrics.ackBudgetExceeded.inc({ source: 'slack', step: err.step });
      throw AppError.unavailable('storage_unavailable', 'could not look up the thread owner');
    }
    if (!subject) {
      metric(type, 'not_ours');
      return reply.send();
    }
    const signal: SlackThreadEvent = { ...c.event, eventId: envelope.event_id, eventTime: envelope.event_time };
    await handOff(hand, {
      source: 'slack',
      eventId: envelope.event_id,
      type,
      rawBody: raw,
      subject,
      workflowId: subject,
      budget,
      send: () =>
        withDeadline(budget, () =>
          deps.temporal.workflow.getHandle(subject).signal(slackThreadEventSignal, signal),
        ).catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return 'ignored'; // the lifecycle has ended
          throw err;
        }),
    });
    return reply.send();
  });

  // ─── Interactivity ─────────────────────────────────────────────────────────────────────────
  app.post('/slack/interactions', ACK, async (req, reply) => {
    const budget = budgetOf(req);
    const raw = verify(req, 'interaction');
    requireType(req, FORM_TYPE);
    const payloadText = new URLSearchParams(raw.toString('utf8')).get('payload');
    if (!payloadText) throw AppError.badRequest('missing_payload', 'form field "payload" is required');
    const p = validate(interactionSchema, parseJson(payloadText, 'payload'), 'payload');

    if (p.type === 'view_closed') {
      metric('view_closed', 'ignored');
      return reply.send();
    }
    if (p.type === 'shortcut' || p.type === 'message_action') {
      metric(p.type, 'unsupported');
      return reply.send();
    }

    const parsed = toActionRequest(p, registry);
    if (!parsed) {
      metric(p.type, 'unknown_action');
      return reply.send();
    }
    const { request, workflowId, spec, flow } = parsed;

    if (spec.mode === 'start') {
      // A modal that files a new lifecycle: the flow validates inside the 3 s window, then ONE
      // Temporal call starts it (its id was minted when the modal was opened, so a repeat joins it).
      const decision = spec.start?.(request, workflowId, {
        flowConfig: flowConfigOf(deps.config, flow),
        config: deps.config,
      });
      if (!decision) {
        metric(p.type, 'unknown_action');
        return reply.send();
      }
      if (!decision.ok) return reply.send({ response_action: 'errors', errors: decision.errors });
      await handOff(hand, {
        source: 'slack_interaction',
        eventId: request.interactionId,
        type: `${p.type}:${request.verb}`,
        rawBody: raw,
        subject: workflowId,
        workflowId,
        budget,
        send: () =>
          withDeadline(budget, () =>
            deps.temporal.workflow.start(decision.workflowType, {
              workflowId,
              taskQueue: deps.config.temporal.taskQueue,
              args: decision.args,
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          ),
      });
      return reply.send();
    }

    if (p.type === 'view_submission') {
      const errors = missingViewFields(spec.requiredFields ?? [], request.fields ?? {});
      if (Object.keys(errors).length > 0) return reply.send({ response_action: 'errors', errors });
    }

    let rejection: string | undefined;
    await handOff(hand, {
      source: 'slack_interaction',
      eventId: request.interactionId,
      type: `${p.type}:${request.verb}`,
      rawBody: raw,
      subject: workflowId,
      workflowId,
      budget,
      send: async () => {
        try {
          if (spec.mode === 'signal') {
            await withDeadline(budget, () =>
              deps.temporal.workflow.getHandle(workflowId).signal(slackActionSignal, request),
            );
            return;
          }
          // Handlers apply the click synchronously and leave Slack work (posting, updating, modals)
          // to the workflow's main loop, so the whole update completes within one workflow task.
          // (A startUpdate waiting for ACCEPTED does not throw on a validator rejection: the
          // rejection only surfaces from handle.result(), so we wait for the outcome instead.)
          const result = await withDeadline(budget, () =>
            deps.temporal.workflow.getHandle(workflowId).executeUpdate(slackActionUpdate, {
              args: [request],
              updateId: request.interactionId,
            }),
          );
          if (result.message && p.type === 'block_actions') {
            await followUp(req, budget, request.interactionId, {
              kind: 'notice',
              responseUrl: request.responseUrl,
              channel: request.channel,
              user: request.user,
              text: result.message,
            });
          }
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) rejection = err.cause?.message ?? err.message;
          else if (err instanceof WorkflowNotFoundError) rejection = 'This request is closed; nothing was changed.';
          else throw err;
          if (p.type === 'block_actions') {
            await followUp(req, budget, request.interactionId, {
              kind: 'notice',
              responseUrl: request.responseUrl,
              channel: request.channel,
              user: request.user,
              text: rejection,
            });
          }
        }
      },
    });
    if (rejection && p.type === 'view_submission') {
      const firstBlock = Object.keys(p.view.state?.values ?? {})[0] ?? 'reason';
      return reply.send({ response_action: 'errors', errors: { [firstBlock]: rejection } });
    }
    return reply.send();
  });

  // ─── Slash commands ────────────────────────────────────────────────────────────────────────
  app.post('/slack/commands', ACK, async (req, reply) => {
    const budget = budgetOf(req);
    // Slack probes the URL with ssl_check=1; it has no effect, so answer before verification.
    if (req.rawBody && new URLSearchParams(req.rawBody.toString('utf8')).get('ssl_check') === '1') return reply.send();
    const raw = verify(req, 'command');
    requireType(req, FORM_TYPE);
    const cmd = validate(slashCommandSchema, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))), 'command');
    /** A command's slower answer: deduped by trigger id, one Temporal call. */
    const handOffCommand = (type: string, send: () => Promise<unknown>, workflowId: string) =>
      handOff(hand, {
        source: 'slack_command',
        eventId: cmd.trigger_id,
        type,
        rawBody: raw,
        subject: `command:${cmd.user_id}`,
        workflowId,
        budget,
        send,
      });
    const respondCommandLater = (type: string, request: SlackResponseRequest) =>
      handOffCommand(type, () => respondLater(budget, cmd.trigger_id, request), `slack-response:${cmd.trigger_id}`);
    /** Runs a flow's (sub)command handler and acts on its answer. */
    const runFlowCommand = async (
      name: string,
      entry: { spec: SubcommandSpec<unknown>; flow: AnyFlow },
      text: string,
    ) => {
      const answer = entry.spec.handle(
        {
          userId: cmd.user_id,
          channelId: cmd.channel_id,
          teamId: cmd.team_id,
          triggerId: cmd.trigger_id,
          responseUrl: cmd.response_url,
          args: text.split(/\s+/).filter(Boolean),
          text,
        },
        { flowConfig: flowConfigOf(deps.config, entry.flow), config: deps.config },
      );
      const start = answer.start;
      if (answer.later) await respondCommandLater(name, answer.later);
      else if (start) {
        await handOffCommand(
          name,
          () =>
            withDeadline(budget, () =>
              deps.temporal.workflow.start(start.workflowType, {
                workflowId: start.workflowId,
                taskQueue: deps.config.temporal.taskQueue,
                args: start.args,
                workflowIdConflictPolicy: 'USE_EXISTING',
              }),
            ),
          start.workflowId,
        );
      }
      metric(`command:${name}`, answer.later || start ? 'handed_off' : 'answered');
      return reply.send(answer.reply ? ephemeral(answer.reply) : undefined);
    };

    if (cmd.command !== ROOT_COMMAND) {
      const own = registry.commands.get(cmd.command);
      if (own) return runFlowCommand(cmd.command, own, cmd.text.trim());
      metric(`command:${cmd.command}`, 'unknown');
      return reply.send(ephemeral(`Threadline does not handle \`${cmd.command}\`.`));
    }
    const [sub = 'help', ...args] = cmd.text.trim().split(/\s+/).filter(Boolean);
    if (sub === 'status') {
      const query = args[0];
      if (!query) return reply.send(ephemeral(`Usage: \`/threadline status <id>\` (${registry.statusForms}).`));
      await respondCommandLater('status', {
        kind: 'status',
        responseUrl: cmd.response_url,
        user: cmd.user_id,
        channel: cmd.channel_id,
        query,
        forms: registry.statusForms,
      });
      metric('command:status', 'handed_off');
      return reply.send(ephemeral(`Looking up \`${query}\`…`));
    }
    const entry = registry.subcommands.get(sub);
    if (entry) return runFlowCommand(sub, entry, cmd.text.trim().slice(sub.length).trim());
    metric(`command:${sub}`, sub === 'help' ? 'answered' : 'unknown');
    return reply.send(ephemeral(helpText(registry, sub === 'help' ? undefined : sub)));
  });
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function ephemeral(text: string) {
  return { response_type: 'ephemeral', text };
}

export function helpText(registry: SlackRegistry, unknown?: string): string {
  return [
    unknown ? `Unknown command \`${unknown}\`.` : '*Threadline*: durable operational work in Slack.',
    `• \`/threadline status <id>\`: where a lifecycle stands (${registry.statusForms}; only you see the answer)`,
    ...[...registry.subcommands.values()].map((c) => `• ${c.spec.usage}: ${c.spec.description}`),
    '• `/threadline help`: this message',
  ].join('\n');
}

/** Maps a click or modal submission to the workflow request, or undefined when it is not one of ours. */
function toActionRequest(p: SlackInteraction, registry: SlackRegistry) {
  if (p.type === 'shortcut' || p.type === 'message_action') return undefined;
  if (p.type === 'block_actions') {
    const a = p.actions[0]!;
    const verb = parseActionId(a.action_id);
    const entry = verb ? registry.actions.get(verb) : undefined;
    const t = parseTarget(a.value ?? a.selected_option?.value ?? p.view?.private_metadata, registry.kinds);
    if (!verb || !entry || !t || !verb.startsWith(`${t.kind}.`)) return undefined;
    const request: SlackActionRequest = {
      interactionId: p.trigger_id,
      verb,
      user: p.user.id,
      value: t.extra,
      channel: p.channel?.id ?? p.container?.channel_id,
      messageTs: p.message?.ts ?? p.container?.message_ts,
      triggerId: p.trigger_id,
      responseUrl: p.response_url,
      actionTs: a.action_ts,
    };
    return { request, workflowId: t.workflowId, spec: entry.spec, flow: entry.flow };
  }
  // The remaining members share one schema (view_submission | view_closed); zod's loose index type hides `view`.
  const v = p as z.infer<typeof viewSubmissionSchema>;
  const verb = parseActionId(v.view.callback_id ?? '');
  const entry = verb ? registry.actions.get(verb) : undefined;
  const t = parseTarget(v.view.private_metadata, registry.kinds);
  if (!verb || !entry || !t || !verb.startsWith(`${t.kind}.`)) return undefined;
  const request: SlackActionRequest = {
    interactionId: v.trigger_id ?? `view:${v.view.id}:${v.user.id}`,
    verb,
    user: v.user.id,
    value: t.extra,
    fields: flattenViewState(v.view.state?.values),
    triggerId: v.trigger_id,
  };
  return { request, workflowId: t.workflowId, spec: entry.spec, flow: entry.flow };
}
