import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ApprovalActivities } from './activities.js';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import type { SlackResponseActivities } from '../../platform/slack/response-activities.js';
import type { SlackActivities } from '../../platform/slack/activities.js';
import {
  APPROVAL_PATCHES,
  approvalReadyUpdate,
  approvalStateQuery,
  cancelApprovalUpdate,
  type ApprovalCallbackBody,
  type ApprovalMessageRef,
  type ApprovalRequestSpec,
  type ApprovalState,
  type ApprovalStatus,
  type ApprovalWorkflowInput,
  type ApprovalWorkflowResult,
} from './contract.js';
import type { Actor } from '../../platform/audit/contract.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../platform/temporal/failure-types.js';
import { createAuditor, createTolerant, upsertLifecycleStatus } from '../../platform/temporal/workflow/lifecycle.js';
import { appendBounded, SLACK_EVENT_ID_LIMIT, TIMELINE_LIMIT } from '../../platform/temporal/workflow/bounded.js';
import { continueAsNewCheck, untilHandlersFinished } from '../../platform/temporal/workflow/continue-as-new.js';
import { countEscalation } from '../../platform/temporal/workflow/metrics.js';
import {
  DB_ACTIVITY_OPTIONS,
  DB_LOCAL_ACTIVITY_OPTIONS,
  SLACK_ACTIVITY_OPTIONS,
  SLACK_LOOKUP_LOCAL_OPTIONS,
  SLACK_LOOKUP_OPTIONS,
  SLACK_RESPONSE_URL_OPTIONS,
  SLACK_VIEW_OPTIONS,
} from '../../platform/temporal/workflow/presets.js';
import { localActivities } from '../../platform/temporal/workflow/local.js';
import {
  slackActionUpdate,
  handleSlackThreadEvents,
  subjectStatusQuery,
  type SlackActionRequest,
  type SlackActionResult,
  type SlackThreadEvent,
} from '../../platform/slack/contract.js';
import {
  buildLockedMessage,
  buildRejectReasonModal,
  buildRequestMessage,
  decisionReply,
  escalationText,
  levelAdvancedText,
  outcomeLine,
  reminderText,
  requesterNotice,
} from './domain/blocks.js';
import {
  applyVote,
  approvalsAtCurrentLevel,
  checkDecisionAuthority,
  closedText,
  closeRequest,
  nextSlaTimer,
  participantProblems,
  pendingApprovers,
} from './domain/policy.js';

// Slack: transient errors and rate limits are retried (posts are keyed, updates are idempotent);
// permanent ones are audited and the request goes on (see `tolerant`).
const slack = proxyActivities<SlackActivities>(SLACK_ACTIVITY_OPTIONS);
const views = proxyActivities<Pick<SlackActivities, 'openSlackView'>>(SLACK_VIEW_OPTIONS);
const responses = proxyActivities<Pick<SlackResponseActivities, 'respondToSlack'>>(SLACK_RESPONSE_URL_OPTIONS);
// Participant resolution runs while POST /v1/approvals waits: bounded, so a Slack outage becomes a
// 503 for the caller instead of a request that opens minutes later.
const directory = proxyActivities<Pick<ApprovalActivities, 'resolveApprovalParticipants'>>(SLACK_LOOKUP_OPTIONS);

const store = proxyActivities<ReturnType<typeof createAuditActivities>>(DB_ACTIVITY_OPTIONS);
// The same, inside the workflow task (APPROVAL_PATCHES.leanBookkeeping): no activity task each.
const localDirectory =
  localActivities<Pick<ApprovalActivities, 'resolveApprovalParticipants'>>(SLACK_LOOKUP_LOCAL_OPTIONS);
const localStore = localActivities<ReturnType<typeof createAuditActivities>>(DB_LOCAL_ACTIVITY_OPTIONS);

type Effect =
  { kind: 'recorded' | 'level_advanced'; user: string } | { kind: 'decided'; user: string; status: ApprovalStatus };

const nowIso = () => new Date(Date.now()).toISOString();

function initialState(spec: ApprovalRequestSpec, nowMs: number): ApprovalState {
  return {
    approvalId: spec.approvalId,
    status: 'pending',
    phase: 'resolving',
    title: spec.title,
    levels: spec.levels.map((l) => ({ approvers: [], required: l.required })),
    escalationApprovers: [],
    escalationChannel: spec.escalation?.channel,
    currentLevel: 0,
    votes: [],
    reminded: false,
    escalated: false,
    messages: [],
    processedEventIds: [],
    createdAtMs: nowMs,
    timeline: [],
    version: 0,
  };
}

/**
 * One approval request, from "created" to approved / rejected / expired / cancelled.
 *
 * - Started with `executeUpdateWithStart(approvalReady)`: participants are resolved first (emails →
 *   Slack ids) so the API can answer 400 for unknown people without calling Slack itself.
 * - Clicks arrive as `slackActionUpdate`; the validator (synchronous, no history) refuses
 *   non-approvers, the requester and closed requests with the sentence the person sees.
 * - Votes are applied by a pure reducer (domain/approvals/policy.ts): any one, N of M, sequential
 *   levels, escalation approvers gaining authority.
 * - SLA timers are `condition(fn, timeout)` deadlines counted from creation: durable across worker
 *   and server restarts, and across continue-as-new.
 * - Every post is keyed `approval:<id>:<step>`; every transition writes one audit row.
 * - Continue-as-new is checked inside every wait (comments in the thread only change state) and
 *   carries the bounded state; timers keep their deadlines because they count from `createdAtMs`
 *   (the decided-grace period from `closedAtMs`).
 */
export async function approvalWorkflow(input: ApprovalWorkflowInput): Promise<ApprovalWorkflowResult> {
  const info = workflowInfo();
  const wfId = info.workflowId;
  const subject = wfId;
  const spec = input.request;
  // Before any await: the run decides once whether it may continue as new while waiting.
  const can = continueAsNewCheck(input);
  // Runs recorded before the patch replay their activities; new runs (and every continued run) are lean.
  const lean = patched(APPROVAL_PATCHES.leanBookkeeping);
  let state: ApprovalState = input.carried ?? initialState(spec, Date.now());
  const effects: Effect[] = [];

  /** Appends to the bounded timeline (the audit log keeps every transition). */
  const timeline = (kind: string, summary: string, actor?: string) => {
    const entry = { at: nowIso(), kind, summary, ...(actor ? { actor } : {}) };
    const { list, dropped } = appendBounded(state.timeline, [entry], TIMELINE_LIMIT);
    state = {
      ...state,
      timeline: list,
      ...(dropped ? { timelineDropped: (state.timelineDropped ?? 0) + dropped } : {}),
    };
  };

  const audit = createAuditor((lean ? localStore : store).recordAudit, { actorId: 'approval-workflow' });
  /** A permanent Slack failure for one post/update is audited; the request goes on. */
  const tolerant = createTolerant(audit, 'approval');

  /** Tells the clicking person something only they see (response_url, else an ephemeral). */
  async function answer(req: SlackActionRequest, text: string): Promise<void> {
    try {
      if (req.responseUrl) await responses.respondToSlack({ responseUrl: req.responseUrl, text });
      else if (req.channel) await slack.postSlackEphemeral({ channel: req.channel, user: req.user, text });
    } catch (err) {
      // A lost ephemeral must not fail the click's update (the decision itself is already applied).
      log.warn('could not answer the clicking user', { error: err instanceof Error ? err.message : 'unknown' });
    }
  }

  // ─── Handlers (registered before the first await, so a start-with-update is accepted) ─────
  setHandler(approvalStateQuery, () => state);
  setHandler(subjectStatusQuery, () => ({
    subject,
    kind: 'approval',
    status: state.status,
    summary:
      state.status === 'pending'
        ? `${spec.title}: waiting for ${pendingApprovers(state)
            .map((u) => `<@${u}>`)
            .join(' ')}`
        : `${spec.title}: ${outcomeLine(state)}`,
    updatedAt: state.timeline.at(-1)?.at ?? spec.receivedAt,
    // Entitled to `/threadline status`: the requester, every approver at every level, escalation
    // approvers and whoever decided (besides members of the channels the request was posted in).
    participants: [
      ...new Set(
        [
          state.requesterId,
          ...state.levels.flatMap((l) => l.approvers),
          ...state.escalationApprovers,
          state.decidedBy,
        ].filter((u): u is string => typeof u === 'string' && /^[UW]/.test(u)),
      ),
    ],
  }));

  setHandler(approvalReadyUpdate, async () => {
    await condition(() => state.phase !== 'resolving');
    return state.phase === 'invalid'
      ? { ok: false as const, problems: state.problems ?? [] }
      : { ok: true as const, status: state.status };
  });

  setHandler(cancelApprovalUpdate, ({ by, reason }) => {
    if (state.status !== 'pending' || state.phase !== 'open') return { cancelled: false, status: state.status };
    state = closeRequest(state, 'cancelled', nowIso(), by, reason);
    effects.push({ kind: 'decided', user: by, status: 'cancelled' });
    return { cancelled: true, status: state.status };
  });

  handleSlackThreadEvents((e: SlackThreadEvent) => {
    if (state.processedEventIds.includes(e.eventId)) return;
    state = {
      ...state,
      processedEventIds: appendBounded(state.processedEventIds, [e.eventId], SLACK_EVENT_ID_LIMIT).list,
    };
    if (e.kind === 'message' && e.text) timeline('comment', e.text.slice(0, 300), e.user);
  });

  /**
   * Work a handler starts but does not wait for (the reason modal), tracked so the workflow never
   * completes or continues-as-new with it in flight.
   */
  const background = new Set<Promise<void>>();
  const inBackground = (p: Promise<void>) => {
    const tracked = p.finally(() => background.delete(tracked));
    background.add(tracked);
  };

  async function openReasonModal(req: SlackActionRequest): Promise<void> {
    try {
      await views.openSlackView({ triggerId: req.triggerId ?? '', view: buildRejectReasonModal(wfId, spec.title) });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      await answer(req, 'Slack did not let me open the reason form in time; please click Reject again.');
    }
  }

  // The handler completes without awaiting anything: the ingress waits for the whole update (its
  // outcome is the only place a validator rejection shows), and Slack's 3 s window is short.
  setHandler(
    slackActionUpdate,
    (req: SlackActionRequest): Promise<SlackActionResult> => {
      if (req.verb === 'approval.reject') {
        // The trigger expires 3 s after the click: open the reason modal at once, in the background.
        inBackground(openReasonModal(req));
        return Promise.resolve({ accepted: true });
      }
      const decision = req.verb === 'approval.approve' ? 'approve' : 'reject';
      const reason = decision === 'reject' ? (req.fields?.['reason.reason'] ?? '').trim() : undefined;
      // Accepted updates of one workflow task run in order: re-check against the current state.
      const r = applyVote(state, { user: req.user, decision, at: nowIso(), level: state.currentLevel, reason });
      if (r.outcome === 'ignored') {
        const check = checkDecisionAuthority(state, req.user, decision);
        return Promise.resolve({ accepted: false, message: check.ok ? closedText(state) : check.message });
      }
      state = r.state;
      if (r.outcome === 'approved' || r.outcome === 'rejected') {
        effects.push({ kind: 'decided', user: req.user, status: r.outcome });
        return Promise.resolve({ accepted: true });
      }
      timeline(
        r.outcome === 'level_advanced' ? 'level_advanced' : 'approved_vote',
        `approval by <@${req.user}>`,
        req.user,
      );
      effects.push({ kind: r.outcome, user: req.user });
      if (r.outcome === 'level_advanced')
        return Promise.resolve({ accepted: true, message: 'Your approval is recorded; the next level is asked now.' });
      const missing = state.levels[state.currentLevel]!.required - approvalsAtCurrentLevel(state).length;
      return Promise.resolve({ accepted: true, message: `Your approval is recorded; ${missing} more needed.` });
    },
    {
      // Synchronous, writes no history: unauthorized clicks never reach the handler.
      validator: (req: SlackActionRequest) => {
        const decision =
          req.verb === 'approval.approve'
            ? 'approve'
            : req.verb === 'approval.reject'
              ? 'open_reject'
              : req.verb === 'approval.reject_reason'
                ? 'reject'
                : undefined;
        if (!decision) throw new Error('This button is not supported here.');
        if (decision === 'open_reject' && !req.triggerId) throw new Error('Missing trigger; please click again.');
        const check = checkDecisionAuthority(state, req.user, decision);
        if (!check.ok) throw new Error(check.message);
      },
    },
  );

  const upsertStatus = () => upsertLifecycleStatus('approval', state.phase === 'invalid' ? 'invalid' : state.status);

  /** Posts the request (with buttons) to a channel or a user's DM, and remembers it for locking. */
  async function postRequest(to: string, purpose: string, step: string, user?: string) {
    const content = buildRequestMessage(state, spec, wfId);
    const posted = await tolerant(step, () =>
      slack.postSlackMessage({
        subject,
        channel: to,
        text: content.text,
        blocks: content.blocks,
        purpose: `approval_${purpose}`,
        idempotencyKey: `${wfId}:${step}`,
      }),
    );
    if (posted && !state.messages.some((m) => m.channel === posted.channel && m.ts === posted.ts)) {
      const ref: ApprovalMessageRef = { channel: posted.channel, ts: posted.ts, purpose, ...(user ? { user } : {}) };
      state = { ...state, messages: [...state.messages, ref] };
    }
  }

  const dmLevel = (level: number) =>
    Promise.all(
      (state.levels[level]?.approvers ?? [])
        .filter((u) => u !== state.requesterId)
        .map((u) => postRequest(u, 'dm', `post:dm:L${level}:${u}`, u)),
    );

  /** Where thread replies go: the channel post if there is one, else every DM. */
  const homeThreads = () => {
    const channel = state.messages.filter((m) => m.purpose === 'channel');
    return channel.length ? channel : state.messages;
  };

  const replyInThreads = (step: string, text: string) =>
    Promise.all(
      homeThreads().map((m) =>
        tolerant(`${step}:${m.channel}`, () =>
          slack.postSlackMessage({
            subject,
            channel: m.channel,
            threadTs: m.ts,
            text,
            purpose: `approval_${step.split(':')[0]}`,
            idempotencyKey: `${wfId}:${step}:${m.channel}:${m.ts}`,
          }),
        ),
      ),
    );

  /** Re-renders every posted copy (progress while pending, locked once closed). */
  const refreshMessages = (step: string) => {
    const content =
      state.status === 'pending' ? buildRequestMessage(state, spec, wfId) : buildLockedMessage(state, spec);
    return Promise.all(
      state.messages.map((m) =>
        tolerant(`${step}:${m.channel}:${m.ts}`, () =>
          slack.updateSlackMessage({ channel: m.channel, ts: m.ts, text: content.text, blocks: content.blocks }),
        ),
      ),
    );
  };

  // ─── Resolution: emails → Slack ids; unknown people end the request before anything is posted ──
  if (state.phase === 'resolving') {
    try {
      const r = await (lean ? localDirectory : directory).resolveApprovalParticipants({
        requester: spec.requester,
        groups: [
          ...spec.levels.map((l, i) => ({
            field: i === 0 ? 'approvers' : `policy.levels.${i - 1}.approvers`,
            values: l.approvers,
          })),
          { field: 'sla.escalateTo.approvers', values: spec.escalation?.approvers ?? [] },
        ],
      });
      const levels = spec.levels.map((l, i) => ({ approvers: r.groups[i] ?? [], required: l.required }));
      const problems = r.unknown.map((u) => ({
        field: u.field,
        message: `${JSON.stringify(u.value.slice(0, 80))} is not a person in this Slack workspace`,
      }));
      if (!problems.length && r.requesterId)
        problems.push(...participantProblems({ requesterId: r.requesterId, levels }));
      state = problems.length
        ? { ...state, phase: 'invalid', problems }
        : {
            ...state,
            phase: 'open',
            requesterId: r.requesterId,
            levels,
            escalationApprovers: (r.groups[spec.levels.length] ?? []).filter((u) => u !== r.requesterId),
          };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      state = {
        ...state,
        phase: 'invalid',
        problems: [{ field: '_service', message: 'Slack could not be reached to resolve the participants' }],
      };
    }
  }
  upsertStatus();

  if (state.phase === 'invalid') {
    await audit('approval.invalid', 'invalid', {
      actor: creator(spec),
      outcome: 'failed',
      details: { problems: state.problems ?? [] },
    });
    if (spec.source === 'slack' && /^[UW]/.test(spec.createdBy)) {
      await tolerant('invalid:notify', () =>
        slack.postSlackMessage({
          subject,
          channel: spec.createdBy,
          text: `Your approval request *${spec.title}* could not be opened: ${(state.problems ?? []).map((p) => p.message).join('; ')}`,
          purpose: 'approval_invalid',
          idempotencyKey: `${wfId}:invalid:notify`,
        }),
      );
    }
    await untilHandlersFinished(() => background.size === 0);
    return { approvalId: spec.approvalId, status: 'invalid' };
  }

  if (!input.carried) {
    timeline('created', `requested by <@${state.requesterId}>`, state.requesterId);
    await audit('approval.created', 'created', {
      actor: creator(spec),
      sourceSystem: spec.source,
      after: { status: state.status, levels: state.levels, channel: spec.channel ?? null },
      details: { title: spec.title.slice(0, 200), sla: spec.sla, requester: state.requesterId ?? null },
    });
    await Promise.all([spec.channel ? postRequest(spec.channel, 'channel', 'post:channel') : undefined, dmLevel(0)]);
    timeline('posted', `posted to ${state.messages.length} place(s)`);
    // A click may have landed while we were posting: the new messages must show it.
    if (state.version > 0) await refreshMessages(`refresh:${state.version}`);
  }

  async function applyEffect(e: Effect) {
    if (e.kind === 'recorded') {
      await Promise.all([
        audit('approval.vote', `vote:${e.user}:L${state.currentLevel}`, {
          actor: { kind: 'slack_user', id: e.user },
          details: { decision: 'approve', level: state.currentLevel + 1 },
        }),
        refreshMessages(`progress:${state.version}`),
      ]);
    } else if (e.kind === 'level_advanced') {
      const level = state.currentLevel;
      await Promise.all([
        audit('approval.level_advanced', `level:${level}`, {
          actor: { kind: 'slack_user', id: e.user },
          after: { level: level + 1, approvers: state.levels[level]?.approvers ?? [] },
        }),
        refreshMessages(`level:${level}`),
        replyInThreads(`level:${level}`, levelAdvancedText(state)),
        dmLevel(level),
      ]);
    }
  }

  async function finalize(actor: Actor) {
    const status = state.status;
    const action = `approval.${status === 'approved' || status === 'rejected' ? 'decided' : status}`;
    timeline(status === 'approved' || status === 'rejected' ? 'decided' : status, outcomeLine(state), state.decidedBy);
    upsertStatus();
    // Lock every copy first (the latency people notice), then reply, notify and audit in parallel.
    await Promise.all([
      refreshMessages('locked'),
      replyInThreads('decision', decisionReply(state)),
      state.requesterId
        ? tolerant('notify:requester', () =>
            slack.postSlackMessage({
              subject,
              channel: state.requesterId!,
              text: requesterNotice(state, spec),
              purpose: 'approval_requester_notice',
              idempotencyKey: `${wfId}:notify:requester`,
            }),
          )
        : undefined,
      audit(action, 'closed', {
        actor,
        before: { status: 'pending' },
        after: { status, decidedBy: state.decidedBy ?? null, reason: state.reason ?? null },
        details: { votes: state.votes.length, level: state.currentLevel + 1 },
      }),
    ]);
    if (spec.callbackUrl) await deliverCallback(spec.callbackUrl);
  }

  async function deliverCallback(url: string) {
    const cb = input.runtime.callback;
    // The policy comes from config through the input; created here so it can vary per deployment.
    const callbacks = proxyActivities<Pick<ApprovalActivities, 'deliverApprovalCallback'>>({
      startToCloseTimeout: '15 seconds',
      retry: {
        initialInterval: cb.initialIntervalMs,
        backoffCoefficient: 2,
        maximumInterval: cb.maximumIntervalMs,
        maximumAttempts: cb.maxAttempts,
        nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
      },
    });
    const deliveryId = `${wfId}:decision`;
    const body: ApprovalCallbackBody = {
      type: 'approval.decided',
      deliveryId,
      approvalId: spec.approvalId,
      status: state.status,
      decidedBy: state.decidedBy ?? null,
      decidedAt: state.decidedAt ?? null,
      reason: state.reason ?? null,
      votes: state.votes,
    };
    state = { ...state, callback: { status: 'pending' } };
    try {
      const res = await callbacks.deliverApprovalCallback({ url, body: JSON.stringify(body), deliveryId });
      state = { ...state, callback: { status: 'delivered', attempts: res.attempt } };
      timeline('callback_delivered', `callback answered ${res.status} (attempt ${res.attempt})`);
      await audit('approval.callback_delivered', 'callback', {
        targetSystem: 'callback',
        details: { status: res.status, attempt: res.attempt, host: hostOf(url) },
      });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const message = (err.cause?.message ?? err.message).slice(0, 300);
      state = { ...state, callback: { status: 'failed', error: message } };
      timeline('callback_failed', `callback failed: ${message}`);
      await audit('approval.callback_failed', 'callback', {
        targetSystem: 'callback',
        outcome: 'failed',
        details: {
          error: message,
          failureType: err.cause instanceof ApplicationFailure ? (err.cause.type ?? null) : null,
          host: hostOf(url),
        },
      });
    }
  }

  async function fireTimer(kind: 'remind' | 'escalate' | 'expire') {
    if (kind === 'remind') {
      state = { ...state, reminded: true, version: state.version + 1 };
      timeline('reminded', `reminded ${pendingApprovers(state).length} approver(s)`);
      await Promise.all([
        replyInThreads('reminder', reminderText(state, spec, spec.sla.remindAfterMs ?? 0)),
        audit('approval.reminded', 'reminded', { details: { pending: pendingApprovers(state) } }),
      ]);
    } else if (kind === 'escalate') {
      state = { ...state, escalated: true, version: state.version + 1 };
      countEscalation('approval');
      timeline('escalated', `escalated to ${state.escalationApprovers.length} approver(s)`);
      const text = escalationText(state, spec, spec.sla.escalateAfterMs ?? 0);
      await Promise.all([
        state.escalationChannel ? postRequest(state.escalationChannel, 'escalation', 'post:escalation') : undefined,
        ...state.escalationApprovers.map((u) => postRequest(u, 'escalation_dm', `post:escalation_dm:${u}`, u)),
        replyInThreads('escalation', text),
        audit('approval.escalated', 'escalated', {
          after: { approvers: state.escalationApprovers, channel: state.escalationChannel ?? null },
        }),
      ]);
      await refreshMessages('escalated');
    } else {
      state = closeRequest(state, 'expired', nowIso());
      effects.push({ kind: 'decided', user: 'system', status: 'expired' });
    }
  }

  // ─── Main loop: apply effects of clicks, run SLA timers, close once decided ─────────────────
  for (;;) {
    while (effects.length > 0) {
      const e = effects.shift()!;
      if (e.kind === 'decided') {
        effects.length = 0; // anything queued behind a decision is moot
        await finalize(
          e.status === 'expired'
            ? { kind: 'system', id: 'sla' }
            : e.status === 'cancelled'
              ? { kind: 'api_client', id: e.user }
              : { kind: 'slack_user', id: e.user },
        );
        break;
      }
      await applyEffect(e);
    }
    if (state.status !== 'pending') break;
    if (can.due()) {
      await Promise.all(background);
      await untilHandlersFinished();
      if (effects.length === 0) return handOver();
      continue;
    }
    const timer = nextSlaTimer(state, spec.sla);
    const waitMs = timer.atMs - Date.now();
    if (waitMs > 0 && (await condition(() => effects.length > 0 || can.dueWhileWaiting(), waitMs))) continue;
    if (effects.length > 0 || can.dueWhileWaiting()) continue;
    await fireTimer(timer.kind);
  }

  // Stay a while so late clicks are told who decided (the validator answers them without history).
  if (!can.inWait) {
    // Runs from before the patch: a plain timer from here.
    if (input.runtime.decidedGraceMs > 0) await condition(() => false, input.runtime.decidedGraceMs);
  } else {
    state = { ...state, closedAtMs: state.closedAtMs ?? Date.now() };
    const graceUntil = state.closedAtMs! + input.runtime.decidedGraceMs;
    while (Date.now() < graceUntil) {
      if (await condition(() => can.dueWhileWaiting(), graceUntil - Date.now())) {
        await untilHandlersFinished(() => background.size === 0);
        return handOver();
      }
    }
  }
  await untilHandlersFinished(() => background.size === 0);
  return { approvalId: spec.approvalId, status: state.status };

  /** Continue as new with the bounded state (timers restart from their anchors in it). */
  function handOver(): Promise<never> {
    return continueAsNew<typeof approvalWorkflow>({ ...input, carried: state });
  }
}

function creator(spec: ApprovalRequestSpec): Actor {
  return spec.source === 'api'
    ? { kind: 'api_client', id: spec.createdBy }
    : { kind: 'slack_user', id: spec.createdBy };
}

/** Audit keeps the receiver's host only: callback URLs may carry tokens in their path or query. */
function hostOf(url: string): string {
  const m = /^https?:\/\/([^/?#]+)/i.exec(url);
  return m?.[1]?.replace(/^.*@/, '') ?? 'invalid';
}
