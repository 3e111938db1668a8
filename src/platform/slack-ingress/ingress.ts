import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
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
  slackThreadEventsSignal,
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
  installationOf,
  installationOfEnvelope,
  interactionSchema,
  slackEnvelopeSchema,
  slashCommandSchema,
  type SlackInteraction,
} from '../../integrations/slack/inbound.js';
import { flowConfigOf, type AnyFlow, type ApiDeps, type SubcommandSpec } from '../flow.js';
import { buildSlackRegistry, ROOT_COMMAND, type SlackRegistry } from './registry.js';
import { AppError, describeZodIssues } from '../http/errors.js';
import { handOff, temporalWithin } from '../ledger/handoff.js';
import { outboxFor, recordDelivery } from '../ledger/outbox.js';
import type { RelayCall } from '../relay/call.js';
import { UNKNOWN_WORKFLOW, parkedSource } from '../slack/parked.js';
import { createBudget, DeadlineExceededError, type RequestBudget } from '../http/budget.js';
import { recordInstallationEnded } from './installation-events.js';

/** A click's answer that missed the request budget is finished after the ack, within this. */
const FOLLOW_UP_AFTER_ACK_MS = 10_000;
/**
 * How long a thread event waits for its root to be recorded: past a post's retries (a lost answer
 * is looked up within a minute; a worker down for a deploy, minutes). Replies to the bot's
 * unrecorded posts (ops-channel messages, response_url answers) wait this long too, then expire.
 */
const PARK_RETENTION_MS = 60 * 60_000;
/** Live parked events beyond which nothing more is parked (a bound on what unrecorded roots can hold). */
const PARK_MAX = 10_000;

/**
 * What the Slack ingress needs: the API's dependencies and the flows (their verbs and commands).
 * `repos.slackSubjects` records the workspace of lifecycles started from Slack;
 * `repos.installations` takes `app_uninstalled` / `tokens_revoked`.
 */
export interface SlackIngressDeps extends ApiDeps {
  flows: readonly AnyFlow[];
}

/** One delivery, from whichever transport brought it (HTTP after its signature check, or Socket Mode). */
export interface IngressInput {
  /** The bytes the ledger hashes (the HTTP body; the envelope payload's JSON over Socket Mode). */
  raw: Buffer;
  budget: RequestBudget;
  log: Pick<FastifyBaseLogger, 'error' | 'warn' | 'info'>;
}

/** What to answer Slack with: the HTTP 200 body, or the Socket Mode ack payload. */
export interface IngressAnswer {
  body?: unknown;
}

/**
 * The Slack pipeline both transports share: validate → classify → dedup in the ledger → ONE
 * hand-off → answer. Nothing here calls Slack; answers that take longer than the ack go through
 * `slackResponseWorkflow`. Every request resolves its installation (team, or the Grid org of an
 * org-wide install) and carries it on: thread lookups match on it (channel ids repeat across
 * workspaces), signals and clicks carry `teamId`, lifecycles started from Slack record it as
 * their workspace. Errors are thrown as `AppError` (4xx: refused, never retried; 503: retry).
 */
export function createSlackIngress(deps: SlackIngressDeps) {
  const registry = buildSlackRegistry(deps.flows);
  const hand = { inbound: deps.repos.inbound, metrics: deps.metrics };
  const outbox = outboxFor(deps);
  const metric = (type: string, outcome: string) => deps.metrics.inboundEvents.inc({ source: 'slack', type, outcome });

  /** A Temporal call bounded by the request's remaining budget (gRPC deadline). */
  const withDeadline = <T>(budget: RequestBudget, fn: () => Promise<T>) => temporalWithin(deps.temporal, budget, fn);

  /**
   * Starts (or joins) a lifecycle filed from Slack, after recording the workspace it belongs to
   * (before its first post: its Slack calls then use that installation).
   */
  const startLifecycle = async (
    budget: RequestBudget,
    team: string | undefined,
    start: { workflowId: string; workflowType: string; args: unknown[] },
  ) => {
    if (team) await deps.repos.slackSubjects?.assign(start.workflowId, team, budget);
    return withDeadline(budget, () =>
      deps.temporal.workflow.start(start.workflowType, {
        workflowId: start.workflowId,
        taskQueue: deps.config.temporal.taskQueue,
        args: start.args,
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    );
  };

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
  async function followUp(input: IngressInput, id: string, request: SlackResponseRequest) {
    try {
      await respondLater(input.budget, id, request);
      deps.metrics.slackFollowUps.inc({ outcome: 'in_time' });
      return;
    } catch {
      // Missed the budget (or Temporal refused): finish it after the ack.
    }
    void respondLater(createBudget(FOLLOW_UP_AFTER_ACK_MS), id, request).then(
      () => deps.metrics.slackFollowUps.inc({ outcome: 'after_ack' }),
      (err: unknown) => {
        deps.metrics.slackFollowUps.inc({ outcome: 'failed' });
        input.log.error(
          { interaction: id, error: err instanceof Error ? err.message.slice(0, 200) : 'unknown' },
          'could not answer a click after its update: the person sees no confirmation',
        );
      },
    );
  }

  // ─── Events API ────────────────────────────────────────────────────────────────────────────
  async function event(input: IngressInput & { body: unknown }): Promise<IngressAnswer> {
    const { budget, raw } = input;
    const envelope = validate(slackEnvelopeSchema, input.body, 'event envelope');

    if (envelope.type === 'url_verification') return { body: { challenge: envelope.challenge } };
    if (envelope.type === 'app_rate_limited') {
      input.log.error({ minute: envelope.minute_rate_limited }, 'Slack is rate limiting our Events API subscription');
      metric('app_rate_limited', 'ignored');
      return {};
    }

    const team = installationOfEnvelope(envelope);
    const c = classifySlackEvent(envelope);
    const type = envelope.event.subtype ? `${envelope.event.type}.${envelope.event.subtype}` : envelope.event.type;
    if (c.kind === 'own_echo') {
      metric(type, 'own_echo');
      return {};
    }
    if (c.kind === 'installation_ended') {
      await recordInstallationEnded(deps, hand, {
        team,
        eventId: envelope.event_id,
        type: c.type,
        tokens: c.tokens,
        raw,
        budget,
        log: input.log,
      });
      return {};
    }
    if (c.kind === 'unsupported') {
      metric(type, 'unsupported');
      return {};
    }

    const signal: SlackThreadEvent = {
      ...c.event,
      eventId: envelope.event_id,
      eventTime: envelope.event_time,
      ...(team ? { teamId: team } : {}),
    };
    const storage = async <T>(fn: () => Promise<T>, what: string): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        metric(type, 'failed');
        if (err instanceof DeadlineExceededError)
          deps.metrics.ackBudgetExceeded.inc({ source: 'slack', step: err.step });
        throw AppError.unavailable('storage_unavailable', `could not ${what}`);
      }
    };
    const owner = await storage(
      () =>
        deps.repos.slackMessages.ownerOf(
          { teamId: team, channel: c.lookup.channel, ts: c.lookup.ts, messageTs: c.event.ts },
          budget,
        ),
      'look up the thread owner',
    );
    let subject: string;
    if (owner) {
      // A message we posted as a connected person comes back without a bot id: it is ours all the same.
      if (owner.ownMessage && (c.event.kind === 'message' || c.event.kind === 'message_changed')) {
        metric(type, 'own_echo');
        return {};
      }
      subject = owner.subject;
    } else {
      // Not recorded: someone else's thread (dropped, nothing stored), or a root of ours whose post
      // the worker has not recorded yet (Slack names its author): parked until it is.
      const parent = c.parentUser;
      const ours =
        parent !== undefined && (parent === c.botUserId || Object.values(deps.config.slack.postAs).includes(parent));
      if (!ours) {
        metric(type, 'not_ours');
        return {};
      }
      const parked = await storage(async () => {
        const sealed = await outbox.sealer.seal(parkedSource('slack'), envelope.event_id, {
          call: threadEventCall(UNKNOWN_WORKFLOW, signal),
          type,
        });
        return deps.repos.slackMessages.park(
          {
            source: 'slack',
            eventId: envelope.event_id,
            teamId: team,
            channel: c.lookup.channel,
            threadTs: c.lookup.ts,
            type,
            payloadHash: createHash('sha256').update(raw).digest('hex'),
            lane: outbox.lane,
            call: sealed,
            retentionMs: PARK_RETENTION_MS,
            max: PARK_MAX,
          },
          budget,
        );
      }, 'park the event');
      if (parked.expired > 0) deps.metrics.slackParkedEvents.inc({ outcome: 'expired' }, parked.expired);
      if (parked.outcome !== 'owned') {
        deps.metrics.slackParkedEvents.inc({ outcome: parked.outcome });
        metric(type, parked.outcome === 'full' ? 'park_full' : parked.outcome);
        if (parked.outcome === 'full')
          input.log.error(
            { eventId: envelope.event_id, max: PARK_MAX },
            'a thread event of an unrecorded root of ours was dropped: the parking table is full',
          );
        return {};
      }
      // Recorded meanwhile (the poster held the thread's lock): handed off as usual.
      subject = parked.subject;
    }
    // Acked once recorded: the relay signals the thread's workflow (a thread message needs no answer).
    await recordDelivery(outbox, {
      source: 'slack',
      eventId: envelope.event_id,
      type,
      rawBody: raw,
      subject,
      budget,
      teamId: team,
      call: threadEventCall(subject, signal),
    });
    return {};
  }

  // ─── Interactivity ─────────────────────────────────────────────────────────────────────────
  async function interaction(input: IngressInput & { payload: unknown }): Promise<IngressAnswer> {
    const { budget, raw } = input;
    const p = validate(interactionSchema, input.payload, 'payload');

    if (p.type === 'view_closed') {
      metric('view_closed', 'ignored');
      return {};
    }
    if (p.type === 'shortcut' || p.type === 'message_action') {
      metric(p.type, 'unsupported');
      return {};
    }

    const parsed = toActionRequest(p, registry);
    if (!parsed) {
      metric(p.type, 'unknown_action');
      return {};
    }
    const { request, workflowId, spec, flow } = parsed;
    const team = request.teamId;
    /** The interaction's one Temporal call, deduped by its interaction id. */
    const handOffInteraction = (send: () => Promise<unknown>) =>
      handOff(hand, {
        source: 'slack_interaction',
        eventId: request.interactionId,
        type: `${p.type}:${request.verb}`,
        rawBody: raw,
        subject: workflowId,
        workflowId,
        budget,
        teamId: team,
        send,
      });

    if (spec.mode === 'start') {
      // A modal that files a new lifecycle: the flow validates inside the 3 s window, then ONE
      // Temporal call starts it (its id was minted when the modal was opened, so a repeat joins it).
      const decision = spec.start?.(request, workflowId, {
        flowConfig: flowConfigOf(deps.config, flow),
        config: deps.config,
      });
      if (!decision) {
        metric(p.type, 'unknown_action');
        return {};
      }
      if (!decision.ok) return { body: { response_action: 'errors', errors: decision.errors } };
      await handOffInteraction(() => startLifecycle(budget, team, { workflowId, ...decision }));
      return {};
    }

    if (p.type === 'view_submission') {
      const errors = missingViewFields(spec.requiredFields ?? [], request.fields ?? {});
      if (Object.keys(errors).length > 0) return { body: { response_action: 'errors', errors } };
    }

    if (spec.mode === 'signal') {
      // No answer depends on the workflow: acked once recorded, the relay signals it.
      await recordDelivery(outbox, {
        source: 'slack_interaction',
        eventId: request.interactionId,
        type: `${p.type}:${request.verb}`,
        rawBody: raw,
        subject: workflowId,
        budget,
        teamId: team,
        call: { kind: 'signal', workflowId, signal: slackActionSignal.name, args: [request] },
      });
      return {};
    }

    // An update: its validator may refuse the click (an ephemeral, or the modal's errors), which
    // Slack must get in this response, so the call stays direct, within the request budget.
    let rejection: string | undefined;
    /** The click's answer to the person who clicked (ephemeral, in the click's workspace). */
    const notice = (text: string) =>
      followUp(input, request.interactionId, {
        kind: 'notice',
        ...(team ? { teamId: team } : {}),
        responseUrl: request.responseUrl,
        channel: request.channel,
        user: request.user,
        text,
      });
    await handOffInteraction(async () => {
      try {
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
          await notice(result.message);
        }
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) rejection = err.cause?.message ?? err.message;
        else if (err instanceof WorkflowNotFoundError) rejection = 'This request is closed; nothing was changed.';
        else throw err;
        if (p.type === 'block_actions') {
          await notice(rejection);
        }
      }
    });
    if (rejection && p.type === 'view_submission') {
      const firstBlock = Object.keys(p.view.state?.values ?? {})[0] ?? 'reason';
      return { body: { response_action: 'errors', errors: { [firstBlock]: rejection } } };
    }
    return {};
  }

  // ─── Slash commands ────────────────────────────────────────────────────────────────────────
  async function command(input: IngressInput & { fields: Record<string, unknown> }): Promise<IngressAnswer> {
    const { budget, raw } = input;
    const cmd = validate(slashCommandSchema, input.fields, 'command');
    const team = installationOf({
      teamId: cmd.team_id,
      enterpriseId: cmd.enterprise_id,
      isEnterpriseInstall: cmd.is_enterprise_install === 'true',
    });
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
        teamId: team,
        send,
      });
    const respondCommandLater = (type: string, request: SlackResponseRequest) =>
      handOffCommand(
        type,
        () => respondLater(budget, cmd.trigger_id, team ? { ...request, teamId: team } : request),
        `slack-response:${cmd.trigger_id}`,
      );
    /** Runs a flow's (sub)command handler and acts on its answer. */
    const runFlowCommand = async (
      name: string,
      entry: { spec: SubcommandSpec<unknown>; flow: AnyFlow },
      text: string,
    ): Promise<IngressAnswer> => {
      const answer = entry.spec.handle(
        {
          userId: cmd.user_id,
          channelId: cmd.channel_id,
          teamId: team,
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
        await handOffCommand(name, () => startLifecycle(budget, team, start), start.workflowId);
      }
      metric(`command:${name}`, answer.later || start ? 'handed_off' : 'answered');
      return { body: answer.reply ? ephemeral(answer.reply) : undefined };
    };

    if (cmd.command !== ROOT_COMMAND) {
      const own = registry.commands.get(cmd.command);
      if (own) return runFlowCommand(cmd.command, own, cmd.text.trim());
      metric(`command:${cmd.command}`, 'unknown');
      return { body: ephemeral(`Threadline does not handle \`${cmd.command}\`.`) };
    }
    const [sub = 'help', ...args] = cmd.text.trim().split(/\s+/).filter(Boolean);
    if (sub === 'status') {
      const query = args[0];
      if (!query) return { body: ephemeral(`Usage: \`/threadline status <id>\` (${registry.statusForms}).`) };
      await respondCommandLater('status', {
        kind: 'status',
        responseUrl: cmd.response_url,
        user: cmd.user_id,
        channel: cmd.channel_id,
        query,
        forms: registry.statusForms,
      });
      metric('command:status', 'handed_off');
      return { body: ephemeral(`Looking up \`${query}\`…`) };
    }
    const entry = registry.subcommands.get(sub);
    if (entry) return runFlowCommand(sub, entry, cmd.text.trim().slice(sub.length).trim());
    metric(`command:${sub}`, sub === 'help' ? 'answered' : 'unknown');
    return { body: ephemeral(helpText(registry, sub === 'help' ? undefined : sub)) };
  }

  return { event, interaction, command, registry };
}
export type SlackIngress = ReturnType<typeof createSlackIngress>;

/** A thread event's hand-off: its own signal, or with the thread's backlog in one batch (the relay decides). */
function threadEventCall(workflowId: string, event: SlackThreadEvent): RelayCall {
  return {
    kind: 'signal',
    workflowId,
    signal: slackThreadEventSignal.name,
    args: [event],
    batchSignal: slackThreadEventsSignal.name,
  };
}

function ephemeral(text: string) {
  return { response_type: 'ephemeral', text };
}

/** Throws a 400 naming the field when `value` does not fit `schema`. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.badRequest('invalid_payload', `${what}: ${describeZodIssues(r.error.issues)}`);
  return r.data;
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
    const team = installationOf({
      teamId: p.team?.id ?? p.user.team_id,
      enterpriseId: p.enterprise?.id,
      isEnterpriseInstall: p.is_enterprise_install,
    });
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
      ...(team ? { teamId: team } : {}),
    };
    return { request, workflowId: t.workflowId, spec: entry.spec, flow: entry.flow };
  }
  // The remaining members share one schema (view_submission | view_closed); zod's loose index type hides `view`.
  const v = p as z.infer<typeof viewSubmissionSchema>;
  const verb = parseActionId(v.view.callback_id ?? '');
  const entry = verb ? registry.actions.get(verb) : undefined;
  const t = parseTarget(v.view.private_metadata, registry.kinds);
  if (!verb || !entry || !t || !verb.startsWith(`${t.kind}.`)) return undefined;
  const team = installationOf({
    teamId: v.team?.id ?? v.user.team_id,
    enterpriseId: v.enterprise?.id,
    isEnterpriseInstall: v.is_enterprise_install,
  });
  const request: SlackActionRequest = {
    interactionId: v.trigger_id ?? `view:${v.view.id}:${v.user.id}`,
    verb,
    user: v.user.id,
    value: t.extra,
    fields: flattenViewState(v.view.state?.values),
    triggerId: v.trigger_id,
    ...(team ? { teamId: team } : {}),
  };
  return { request, workflowId: t.workflowId, spec: entry.spec, flow: entry.flow };
}
