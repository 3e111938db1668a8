import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import type { AuditEntry } from '../../platform/audit/contract.js';
import type { SlackActivities } from '../../platform/slack/activities.js';
import {
  slackActionUpdate,
  subjectStatusQuery,
  type SlackActionRequest,
  type SlackActionResult,
} from '../../platform/slack/contract.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../platform/temporal/failure-types.js';
import { continueAsNewCheck, untilHandlersFinished } from '../../platform/temporal/workflow/continue-as-new.js';
import { createAuditor, createTolerant, upsertLifecycleStatus } from '../../platform/temporal/workflow/lifecycle.js';
import {
  DB_ACTIVITY_OPTIONS,
  SLACK_ACTIVITY_OPTIONS,
  SLACK_VIEW_OPTIONS,
} from '../../platform/temporal/workflow/presets.js';
import type { TicketOwnerChange, TicketOwnerNotice } from '../tickets/contract.js';
import type { AssignmentActivities } from './activities.js';
import {
  ASSIGNMENT_VERBS,
  assignmentNoticeSignal,
  assignmentReconcileSignal,
  assignmentStateQuery,
  assignmentWorkflowId,
  HANDOVER_JIRA_ACCOUNT_PATCH,
  RECONCILE_SUBJECT,
  type AssignmentEffect,
  type AssignmentOwner,
  type AssignmentState,
  type AssignmentStatus,
  type AssignmentWork,
  type AssignmentWorkflowInput,
  type AssignmentReconcileInput,
  type AssignmentWorkflowResult,
  type ReconcileCounts,
  type ReconcileFinding,
  type RoutingDecision,
} from './contract.js';
import {
  ackTimeoutText,
  buildAssignmentDm,
  buildReassignModal,
  buildSettledDm,
  formatDuration,
  noCandidateText,
  routedNote,
} from './domain/blocks.js';
import {
  DEFAULT_STATUS_MAP,
  driftOf,
  EXCLUDED_LIMIT,
  assignmentStatusSummary,
  hasSeen,
  initialAssignmentState,
  jiraStatusTarget,
  markSeen,
  needsRouting,
  ownerFromRouting,
  transition,
} from './domain/lifecycle.js';
import { appendBounded } from '../../platform/temporal/workflow/bounded.js';

/**
 * The Jira assignee write: rate limits retry after exactly Retry-After, 5xx and timeouts back
 * off, auth and other 4xx are non-retryable. Bounded at 10 minutes: a person is waiting to see
 * the issue as theirs, and reconciliation repairs a write that never landed.
 */
const JIRA_WRITE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};

const slack = proxyActivities<Pick<SlackActivities, 'postSlackMessage' | 'updateSlackMessage'>>(SLACK_ACTIVITY_OPTIONS);
const views = proxyActivities<Pick<SlackActivities, 'openSlackView'>>(SLACK_VIEW_OPTIONS);
const store = proxyActivities<
  Pick<AssignmentActivities, 'saveAssignment' | 'loadAssignment' | 'routeAssignment' | 'jiraAccountOfSlackUser'> &
    ReturnType<typeof createAuditActivities>
>(DB_ACTIVITY_OPTIONS);
const jira = proxyActivities<Pick<AssignmentActivities, 'setJiraAssignee' | 'readJiraAssignments'>>(JIRA_WRITE_OPTIONS);
const reconcileStore =
  proxyActivities<Pick<AssignmentActivities, 'listOpenAssignments' | 'countAssignmentDrift'>>(DB_ACTIVITY_OPTIONS);

const failureText = (err: ActivityFailure): string => {
  const cause = err.cause;
  const info = (cause instanceof ApplicationFailure ? cause.details?.[0] : undefined) as
    { kind?: string; error?: string; status?: number } | undefined;
  return (info?.error ?? info?.kind ?? cause?.message ?? err.message).slice(0, 200);
};

const VERB_WORDS: Record<string, string> = {
  [ASSIGNMENT_VERBS.accept]: 'accept',
  [ASSIGNMENT_VERBS.reassign]: 'reassign',
  [ASSIGNMENT_VERBS.reassignReason]: 'reassign',
};

/**
 * One issue's assignment (`assignment:<KEY>`), from the moment its ticket thread says it exists
 * until it is done or deleted (docs/assignment.md).
 *
 * - Routing: the `routeAssignment` activity decides (rules in force, loads from our records, the
 *   `assignment` feature flag) and stores the decision under its id; the chosen person gets a DM
 *   with Accept / Reassign and the issue's thread a note. Every decision and transition writes an
 *   audit row with the rule id and version, the inputs and the ranked candidates (correlation id:
 *   the decision id).
 * - Accept: the Jira assignee is set, state claimed. Reassign: a modal asks for a reason (and
 *   optionally another pool, or a person); the next candidate is chosen without whoever declined.
 * - Ack timeout (the rule's): not accepted in time → the next candidate, and the lead channel is
 *   told; after `maxReassigns` timeouts the lead is asked to decide and routing stops. The timer
 *   is the workflow's own (durable).
 * - A person changing the assignee in Jira (or handing it to someone from the modal) is recorded
 *   and respected: Threadline does not route the issue again unless the rule reclaims it.
 * - Jira status changes move the state (In Progress, Blocked, Done closes the run).
 * - Continue-as-new carries the state and the queued work.
 */
export async function assignmentWorkflow(input: AssignmentWorkflowInput): Promise<AssignmentWorkflowResult> {
  const can = continueAsNewCheck(input);
  const wfId = workflowInfo().workflowId;
  let state: AssignmentState = input.carried ?? initialAssignmentState(input, Date.now());
  const work: AssignmentWork[] = [...(input.pending ?? [])];
  /** A pool chosen in the reassign modal, for the next decision only. */
  let poolOverride: { pool: string; by: string } | undefined;
  const background = new Set<Promise<void>>();
  const inBackground = (p: Promise<void>) => {
    const tracked = p.finally(() => background.delete(tracked));
    background.add(tracked);
  };

  const noticeQueued = (n: TicketOwnerNotice) =>
    work.some((w) => w.kind === 'notice' && w.notice.eventIds.join() === n.eventIds.join());
  setHandler(assignmentNoticeSignal, (n: TicketOwnerNotice) => {
    if (n.eventIds.length > 0 && n.eventIds.every((id) => hasSeen(state, id))) return;
    if (!noticeQueued(n)) work.push({ kind: 'notice', notice: n });
  });
  setHandler(assignmentReconcileSignal, (f: ReconcileFinding) => {
    if (hasSeen(state, f.findingId) || work.some((w) => w.kind === 'reconcile' && w.finding.findingId === f.findingId))
      return;
    work.push({ kind: 'reconcile', finding: f });
  });
  setHandler(assignmentStateQuery, () => state);
  setHandler(subjectStatusQuery, () => assignmentStatusSummary(wfId, state, new Date(Date.now()).toISOString()));

  /** The newest attempt answered in this run (its effect may be running in the main loop already). */
  let answeredAttempt = 0;
  const answered = (attempt: number) =>
    attempt <= answeredAttempt ||
    work.some((w) => (w.kind === 'accepted' || w.kind === 'declined') && w.interactionId.startsWith(`${attempt}:`));

  /** Who may answer the DM: the person it was sent to, for the attempt it was sent for, once. */
  function checkAnswer(req: SlackActionRequest): void {
    const words = VERB_WORDS[req.verb];
    if (!words) throw new Error('This button is not supported here.');
    const cur = state.current;
    const attempt = Number(req.value);
    if (state.status !== 'routed' || !cur || attempt !== cur.attempt || answered(attempt))
      throw new Error(`${state.key} is no longer waiting for your answer.`);
    if (req.user !== cur.slack) throw new Error(`Only <@${cur.slack}> can ${words} ${state.key}.`);
    if (req.verb === ASSIGNMENT_VERBS.reassign && !req.triggerId)
      throw new Error('Missing trigger; please click again.');
  }

  async function openReassignModal(req: SlackActionRequest, attempt: number): Promise<void> {
    try {
      await views.openSlackView({
        triggerId: req.triggerId ?? '',
        view: buildReassignModal(state, wfId, attempt, state.policy?.pools ?? []),
      });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('could not open the reassign modal', { error: failureText(err) });
    }
  }

  // The handler awaits nothing (Slack's 3 s window): it queues the answer; the main loop does the I/O.
  setHandler(
    slackActionUpdate,
    (req: SlackActionRequest): Promise<SlackActionResult> => {
      const attempt = Number(req.value);
      if (req.verb === ASSIGNMENT_VERBS.reassign) {
        inBackground(openReassignModal(req, attempt));
        return Promise.resolve({ accepted: true });
      }
      const interactionId = `${attempt}:${req.interactionId}`;
      answeredAttempt = Math.max(answeredAttempt, attempt);
      if (req.verb === ASSIGNMENT_VERBS.accept) {
        work.push({ kind: 'accepted', user: req.user, interactionId });
        return Promise.resolve({ accepted: true, message: `${state.key} is yours; Jira is being updated.` });
      }
      const f = req.fields ?? {};
      const pool = (f['pool.pool'] ?? '').trim();
      const handTo = (f['hand_to.hand_to'] ?? '').trim();
      work.push({
        kind: 'declined',
        user: req.user,
        interactionId,
        reason: (f['reason.reason'] ?? '').trim().slice(0, 500),
        ...(pool ? { pool } : {}),
        ...(handTo && handTo !== req.user ? { handTo } : {}),
      });
      return Promise.resolve({ accepted: true, message: `Thanks, ${state.key} goes to someone else.` });
    },
    {
      validator: (req: SlackActionRequest) => {
        checkAnswer(req);
        if (req.verb === ASSIGNMENT_VERBS.reassignReason && !(req.fields?.['reason.reason'] ?? '').trim())
          throw new Error('Please give a reason for passing it on.');
      },
    },
  );

  const audit = createAuditor(store.recordAudit, { actorId: 'assignment-workflow' });
  const tolerant = createTolerant(audit, 'assignment');
  /** Business rows: always on the issue's subject (`ticket:<KEY>`), with the rule in force. */
  const record = (action: string, step: string, extra: Partial<AuditEntry>) =>
    audit(action, step, {
      subject: `ticket:${state.key}`,
      ruleId: state.policy?.ruleId,
      ruleVersion: state.policy?.ruleVersion,
      sourceSystem: 'threadline',
      ...extra,
      details: { key: state.key, workflowId: wfId, status: state.status, ...extra.details },
    });

  let shown = '';
  async function persist() {
    state = { ...state, version: state.version + 1 };
    if (state.status !== shown) upsertLifecycleStatus('assignment', state.status);
    shown = state.status;
    await store.saveAssignment(state);
  }

  /** Moves the state machine; a refused transition is audited and changes nothing. */
  async function moveTo(to: AssignmentStatus, step: string, why: string): Promise<boolean> {
    const t = transition(state, to);
    if (t.ok) {
      state = t.state;
      return true;
    }
    await record('assignment.transition_rejected', `rejected:${step}`, {
      outcome: 'skipped',
      before: { status: state.status },
      after: { status: to },
      details: { why, reason: t.reason },
    });
    return false;
  }

  const personOf = (o: AssignmentOwner | undefined) => (o ? { name: o.name, jira: o.jira ?? null, by: o.by } : null);

  async function post(step: string, channel: string, text: string, purpose: string, threadTs?: string) {
    const posted = await tolerant(step, () =>
      slack.postSlackMessage({
        subject: wfId,
        channel,
        ...(threadTs ? { threadTs } : {}),
        text,
        purpose,
        idempotencyKey: `${wfId}:${step}`,
      }),
    );
    return posted ? 'ok' : 'failed';
  }
  const note = (step: string, text: string) =>
    state.thread ? post(step, state.thread.channel, text, 'assignment_note', state.thread.ts) : Promise.resolve('none');

  /** Replaces the DM's buttons with what happened. */
  async function settleDm(step: string, outcome: string): Promise<void> {
    const dm = state.current?.dm;
    if (!dm) return;
    const m = buildSettledDm(state, outcome);
    await tolerant(step, () =>
      slack.updateSlackMessage({ channel: dm.channel, ts: dm.ts, text: m.text, blocks: m.blocks }),
    );
  }

  /** Sets the Jira assignee; a failure is audited, told to operators, and left for reconciliation to repair. */
  async function writeAssignee(
    step: string,
    accountId: string | null,
  ): Promise<{ outcome: 'ok' | 'failed'; error?: string }> {
    try {
      await jira.setJiraAssignee({ key: state.key, accountId });
      state = { ...state, jiraWrite: { accountId, outcome: 'ok', atMs: Date.now() } };
      return { outcome: 'ok' };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const error = failureText(err);
      state = { ...state, jiraWrite: { accountId, outcome: 'failed', atMs: Date.now(), error } };
      await Promise.all([
        record('assignment.jira_write_failed', `jira_failed:${step}`, {
          targetSystem: 'jira',
          outcome: 'failed',
          after: { assignee: accountId },
          details: { step, error },
        }),
        post(
          `ops:${step}`,
          input.opsChannel,
          `:warning: Threadline could not set the Jira assignee of ${state.key} (${error}); reconciliation will retry.`,
          'ops_alert',
        ),
      ]);
      return { outcome: 'failed', error };
    }
  }

  async function escalate(step: string, why: 'ack_cap' | 'nobody_left', decision?: RoutingDecision) {
    const lead = state.policy?.lead;
    const text =
      why === 'nobody_left' || !state.current
        ? noCandidateText(state, decision, lead?.slack)
        : ackTimeoutText(state, state.current, state.policy?.ackTimeoutMs ?? 0, {
            final: true,
            lead: lead?.slack,
            timeouts: state.timeouts,
          });
    state = { ...state, escalated: true, current: undefined };
    const [leadDm, channel] = await Promise.all([
      lead?.slack ? post(`escalate_dm:${step}`, lead.slack, text, 'assignment_escalation') : 'none',
      state.policy?.leadChannel
        ? post(`escalate:${step}`, state.policy.leadChannel, text, 'assignment_escalation')
        : 'none',
    ]);
    await note(
      `escalate_note:${step}`,
      `:rotating_light: No owner yet; escalated to ${lead ? lead.name : 'the lead'}.`,
    );
    await record('assignment.escalated', `escalated:${step}`, {
      targetSystem: 'slack',
      outcome: leadDm === 'failed' && channel === 'failed' ? 'failed' : 'ok',
      after: { escalated: true, lead: lead?.name ?? null },
      details: {
        why,
        timeouts: state.timeouts,
        excluded: state.excluded,
        leadDm,
        leadChannel: channel,
        decision: decision?.summary ?? null,
      },
    });
  }

  async function route(): Promise<void> {
    const n = state.decisions + 1;
    state = { ...state, decisions: n };
    const decisionId = `${wfId}:decision:${n}`;
    const pool = poolOverride;
    poolOverride = undefined;
    let answer;
    try {
      answer = await store.routeAssignment({
        decisionId,
        key: state.key,
        site: state.site,
        issue: state.issue,
        excluded: state.excluded,
        ...(pool ? { pool } : {}),
        scope: {
          project: state.issue.project,
          ...(state.thread ? { channel: state.thread.channel } : {}),
          ...(input.workspace ? { workspace: input.workspace } : {}),
        },
      });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Our own database did not answer within its bound: try again later, loudly.
      const nowMs = Date.now();
      state = { ...state, paused: { scope: 'error', reason: failureText(err), sinceMs: nowMs, checkedAtMs: nowMs } };
      await record('assignment.route_failed', `route_failed:${n}`, {
        outcome: 'failed',
        correlationId: decisionId,
        details: { decisionId, error: failureText(err) },
      });
      await persist();
      return;
    }
    if (answer.outcome === 'disabled') {
      const nowMs = Date.now();
      const was = state.paused;
      state = {
        ...state,
        paused: { scope: answer.scope, reason: answer.reason, sinceMs: was?.sinceMs ?? nowMs, checkedAtMs: nowMs },
      };
      if (was?.scope !== answer.scope)
        await record('assignment.routing_paused', `paused:${n}`, {
          outcome: 'skipped',
          correlationId: decisionId,
          details: { decisionId, flag: 'assignment', scope: answer.scope, reason: answer.reason },
        });
      await persist();
      return;
    }
    const { decision, policy } = answer;
    const resumed = state.paused;
    state = { ...state, policy, paused: undefined };
    const inputs = {
      issue: {
        project: state.issue.project,
        type: state.issue.type ?? null,
        priority: state.issue.priority ?? null,
        labels: state.issue.labels ?? [],
        components: state.issue.components ?? [],
      },
      excluded: state.excluded,
      pool: pool ?? null,
    };
    const explained = {
      decisionId,
      inputs,
      matched: decision.matched,
      skipped: decision.skipped,
      strategy: decision.strategy,
      pool: decision.pool,
      candidates: decision.candidates,
      summary: decision.summary,
      ...(resumed ? { resumedAfter: resumed } : {}),
    };
    const chosen = decision.chosen;
    if (!chosen) {
      await record('assignment.no_candidate', `no_candidate:${n}`, {
        outcome: 'skipped',
        ruleId: decision.ruleId,
        ruleVersion: decision.ruleVersion,
        correlationId: decisionId,
        details: explained,
      });
      await escalate(`nobody:${n}`, 'nobody_left', decision);
      await persist();
      return;
    }
    const before = state.status;
    const attempt = state.attempt + 1;
    state = {
      ...state,
      attempt,
      current: {
        attempt,
        decisionId,
        person: chosen.person,
        name: chosen.name,
        slack: chosen.slack,
        jira: chosen.jira,
        routedAtMs: Date.now(),
      },
    };
    await moveTo('routed', `route:${n}`, 'routed');
    const dm = buildAssignmentDm(state, wfId, state.current!, decision, policy.ackTimeoutMs);
    const posted = await tolerant(`dm:${attempt}`, () =>
      slack.postSlackMessage({
        subject: wfId,
        channel: chosen.slack,
        text: dm.text,
        blocks: dm.blocks,
        purpose: 'assignment_dm',
        idempotencyKey: `${wfId}:dm:${attempt}`,
      }),
    );
    if (posted) state = { ...state, current: { ...state.current!, dm: { channel: posted.channel, ts: posted.ts } } };
    const threadNote = await note(`routed:${attempt}`, routedNote(state, state.current!, decision));
    await record('assignment.routed', `routed:${attempt}`, {
      sourceSystem: 'jira',
      targetSystem: 'slack',
      ruleId: decision.ruleId,
      ruleVersion: decision.ruleVersion,
      correlationId: decisionId,
      outcome: posted ? 'ok' : 'failed',
      before: { status: before },
      after: { status: 'routed', person: chosen.person, name: chosen.name, attempt },
      details: {
        ...explained,
        dm: posted ? 'ok' : 'failed',
        ...(posted ? { dmRef: { channel: posted.channel, ts: posted.ts } } : {}),
        threadNote,
      },
    });
    await persist();
  }

  async function accept(e: Extract<AssignmentEffect, { kind: 'accepted' }>) {
    const cur = state.current;
    if (state.status !== 'routed' || !cur || !e.interactionId.startsWith(`${cur.attempt}:`)) return;
    const write = await writeAssignee(`accept:${cur.attempt}`, cur.jira);
    state = {
      ...state,
      owner: ownerFromRouting(cur, Date.now(), { kind: 'slack_user', id: e.user }),
    };
    await moveTo('claimed', `accept:${cur.attempt}`, 'accepted in Slack');
    await settleDm(`dm_settled:${cur.attempt}`, `:white_check_mark: You took ${state.key}.`);
    state = { ...state, current: undefined, timeouts: 0 };
    const threadNote = await note(`accepted:${cur.attempt}`, `:white_check_mark: <@${cur.slack}> took it.`);
    await record('assignment.accepted', `accepted:${cur.attempt}`, {
      actor: { kind: 'slack_user', id: e.user },
      sourceSystem: 'slack',
      targetSystem: 'jira',
      correlationId: cur.decisionId,
      outcome: write.outcome,
      before: { status: 'routed', person: cur.person },
      after: { status: 'claimed', owner: cur.name, jiraAssignee: cur.jira },
      details: { decisionId: cur.decisionId, attempt: cur.attempt, jiraWrite: write, threadNote },
    });
    await persist();
  }

  async function decline(e: Extract<AssignmentEffect, { kind: 'declined' }>) {
    const cur = state.current;
    if (state.status !== 'routed' || !cur || !e.interactionId.startsWith(`${cur.attempt}:`)) return;
    const why = `declined: ${e.reason}`;
    state = {
      ...state,
      excluded: appendBounded(state.excluded, [{ person: cur.person, why }], EXCLUDED_LIMIT).list,
    };
    await settleDm(`dm_settled:${cur.attempt}`, `:leftwards_arrow_with_hook: You passed ${state.key} on: ${e.reason}`);
    await moveTo('reassigned', `decline:${cur.attempt}`, 'declined in Slack');
    state = { ...state, current: undefined };
    const threadNote = await note(
      `declined:${cur.attempt}`,
      `:leftwards_arrow_with_hook: <@${cur.slack}> passed it on: ${e.reason}`,
    );
    await record('assignment.declined', `declined:${cur.attempt}`, {
      actor: { kind: 'slack_user', id: e.user },
      sourceSystem: 'slack',
      correlationId: cur.decisionId,
      before: { status: 'routed', person: cur.person },
      after: { status: 'reassigned' },
      details: {
        decisionId: cur.decisionId,
        attempt: cur.attempt,
        reason: e.reason,
        pool: e.pool ?? null,
        handTo: e.handTo ?? null,
        threadNote,
      },
    });
    if (e.pool) poolOverride = { pool: e.pool, by: e.user };
    if (e.handTo) await handOver(e.user, e.handTo, `decline:${cur.attempt}`);
    await persist();
  }

  /** A person gave it to someone from the reassign modal: their choice stands (a manual override from Slack). */
  async function handOver(by: string, to: string, step: string) {
    // Histories from before the roster lookup cleared the assignee; newer runs look the person up.
    const known = patched(HANDOVER_JIRA_ACCOUNT_PATCH)
      ? await store.jiraAccountOfSlackUser({ slack: to })
      : { accountId: null };
    const write = await writeAssignee(`handover:${step}`, known.accountId);
    state = {
      ...state,
      overridden: true,
      owner: {
        name: known.name ?? to,
        slack: to,
        ...(known.accountId ? { jira: known.accountId } : {}),
        by: 'person',
        sinceMs: Date.now(),
        actor: { kind: 'slack_user', id: by },
      },
    };
    await moveTo('claimed', `handover:${step}`, 'handed over in Slack');
    const threadNote = await note(
      `handover:${step}`,
      `:handshake: <@${by}> handed it to <@${to}>; Threadline stops routing it.`,
    );
    await record('assignment.handed_over', `handover:${step}`, {
      actor: { kind: 'slack_user', id: by },
      sourceSystem: 'slack',
      targetSystem: 'jira',
      outcome: write.outcome,
      after: { status: state.status, owner: to, by: 'person' },
      details: {
        to,
        jiraWrite: write,
        threadNote,
        jiraAssignee: known.accountId,
        note: known.accountId
          ? 'the Jira assignee is the person the rules know by this Slack id'
          : 'the rules do not know this Slack user: the Jira assignee is cleared until the person takes it in Jira',
      },
    });
  }

  async function ackTimeout() {
    const cur = state.current!;
    const policy = state.policy;
    const timeoutMs = policy?.ackTimeoutMs ?? 0;
    state = {
      ...state,
      timeouts: state.timeouts + 1,
      excluded: appendBounded(
        state.excluded,
        [{ person: cur.person, why: `did not answer within ${formatDuration(timeoutMs)}` }],
        EXCLUDED_LIMIT,
      ).list,
    };
    await settleDm(
      `dm_settled:${cur.attempt}`,
      `:hourglass: No answer within ${formatDuration(timeoutMs)}; ${state.key} went to someone else.`,
    );
    await moveTo('reassigned', `timeout:${cur.attempt}`, 'ack timeout');
    const final = state.timeouts > (policy?.maxReassigns ?? 0);
    if (final) {
      await record('assignment.ack_timeout', `timeout:${cur.attempt}`, {
        correlationId: cur.decisionId,
        before: { status: 'routed', person: cur.person },
        after: { status: 'reassigned', escalated: true },
        details: {
          decisionId: cur.decisionId,
          attempt: cur.attempt,
          timeouts: state.timeouts,
          cap: policy?.maxReassigns ?? 0,
        },
      });
      await escalate(`cap:${cur.attempt}`, 'ack_cap');
    } else {
      const text = ackTimeoutText(state, cur, timeoutMs, { final: false, timeouts: state.timeouts });
      const channel = policy?.leadChannel
        ? await post(`timeout_lead:${cur.attempt}`, policy.leadChannel, text, 'assignment_timeout')
        : 'none';
      state = { ...state, current: undefined };
      await record('assignment.ack_timeout', `timeout:${cur.attempt}`, {
        correlationId: cur.decisionId,
        targetSystem: 'slack',
        before: { status: 'routed', person: cur.person },
        after: { status: 'reassigned' },
        details: {
          decisionId: cur.decisionId,
          attempt: cur.attempt,
          timeouts: state.timeouts,
          cap: policy?.maxReassigns ?? 0,
          leadChannel: channel,
        },
      });
    }
    await persist();
  }

  async function close(step: string, reason: string) {
    if (state.status === 'routed')
      await settleDm(`dm_settled:${state.current?.attempt ?? 0}`, `${state.key} is ${reason}.`);
    const before = state.status;
    if (!(await moveTo('closed', step, reason))) return;
    state = { ...state, closedReason: reason, current: undefined };
    await record('assignment.closed', step, {
      sourceSystem: 'jira',
      before: { status: before, owner: personOf(state.owner) },
      after: { status: 'closed' },
      details: { reason },
    });
  }

  /** A person changed the assignee in Jira: record it and never fight it. */
  async function assigneeChanged(c: TicketOwnerChange) {
    const to = c.toId ?? null;
    const cur = state.current;
    const actor = { kind: 'jira_user' as const, ...(c.actor ? { id: c.actor.id, name: c.actor.name } : {}) };
    const auditActor = { kind: 'jira_user' as const, ...(c.actor ? { id: c.actor.id } : {}) };
    if (state.status === 'routed' && cur && to === cur.jira) {
      // The routed person took it in Jira themselves: as good as Accept.
      state = {
        ...state,
        owner: ownerFromRouting(cur, c.atMs, actor),
        jiraWrite: { accountId: to, outcome: 'ok', atMs: c.atMs },
      };
      await moveTo('claimed', `jira_claim:${c.eventId}`, 'took it in Jira');
      await settleDm(`dm_settled:${cur.attempt}`, `:white_check_mark: You took ${state.key} in Jira.`);
      state = { ...state, current: undefined, timeouts: 0 };
      await record('assignment.accepted', `jira_claim:${c.eventId}`, {
        actor: auditActor,
        sourceSystem: 'jira',
        correlationId: cur.decisionId,
        before: { status: 'routed', person: cur.person },
        after: { status: 'claimed', owner: cur.name },
        details: { via: 'jira', eventId: c.eventId },
      });
      return;
    }
    if (to !== null && to === (state.owner?.jira ?? null)) return;
    const before = { status: state.status, owner: personOf(state.owner), routedTo: cur?.name ?? null };
    if (cur)
      await settleDm(
        `dm_settled:${cur.attempt}`,
        `${c.actor?.name ?? 'Someone'} changed the assignee of ${state.key} in Jira; no answer needed.`,
      );
    if (to === null) {
      const reclaim = state.policy?.reclaim ?? false;
      state = {
        ...state,
        owner: undefined,
        current: undefined,
        overridden: !reclaim,
        escalated: reclaim ? false : state.escalated,
      };
      await moveTo('unassigned', `unassigned:${c.eventId}`, 'unassigned in Jira');
      await record('assignment.unassigned_by_person', `unassigned:${c.eventId}`, {
        actor: auditActor,
        sourceSystem: 'jira',
        before,
        after: { status: state.status, owner: null },
        details: { eventId: c.eventId, reclaim, routesAgain: reclaim },
      });
      return;
    }
    state = {
      ...state,
      current: undefined,
      overridden: true,
      owner: { name: c.to ?? to, jira: to, by: 'person', sinceMs: c.atMs, actor },
    };
    if (state.status !== 'in_progress' && state.status !== 'blocked')
      await moveTo('claimed', `override:${c.eventId}`, 'assigned in Jira');
    const threadNote = await note(
      `override:${c.eventId}`,
      `:bust_in_silhouette: ${c.actor?.name ?? 'Someone'} assigned it to ${c.to ?? to} in Jira; Threadline stops routing it.`,
    );
    await record('assignment.overridden', `override:${c.eventId}`, {
      actor: auditActor,
      sourceSystem: 'jira',
      before,
      after: { status: state.status, owner: personOf(state.owner) },
      details: {
        eventId: c.eventId,
        handoff: `${before.owner?.name ?? before.routedTo ?? 'nobody'} → ${c.to ?? to}`,
        threadNote,
      },
    });
  }

  async function applyNotice(n: TicketOwnerNotice) {
    state = markSeen(state, n.eventIds);
    const atMs = n.issueAtMs;
    if (atMs >= state.issueAtMs) state = { ...state, issue: { ...state.issue, ...n.issue }, issueAtMs: atMs };
    if (n.thread) state = { ...state, thread: n.thread };
    // Every ticket event re-checks a paused routing (the flag may have been switched back on).
    if (state.paused) state = { ...state, paused: { ...state.paused, checkedAtMs: 0 } };
    if (n.deleted) {
      await close(`closed:${n.eventIds[0]}`, 'deleted in Jira');
      await persist();
      return;
    }
    const person = n.changes.filter((c) => !c.byUs);
    for (const c of person) if (c.field === 'assignee') await assigneeChanged(c);
    if (n.created && !state.owner && state.status === 'unassigned' && n.issue.assignee) {
      // Created with an assignee by a person: their choice stands.
      state = {
        ...state,
        overridden: true,
        owner: {
          name: n.issue.assignee.name,
          jira: n.issue.assignee.id,
          by: 'person',
          sinceMs: atMs,
          actor: { kind: 'jira_user' },
        },
      };
      await moveTo('claimed', `created_owned:${n.eventIds[0]}`, 'created with an assignee');
      await record('assignment.owner_at_creation', `created_owned:${n.eventIds[0]}`, {
        sourceSystem: 'jira',
        after: { status: state.status, owner: personOf(state.owner) },
        details: { eventIds: n.eventIds },
      });
    }
    const status = state.issue.status;
    if (status && (n.created || n.changes.some((c) => c.field === 'status'))) {
      const target = jiraStatusTarget(state.policy?.statuses ?? DEFAULT_STATUS_MAP, status, !!state.owner);
      const step = `status:${n.eventIds.at(-1)}`;
      if (target === 'closed') await close(step, `done in Jira (${status.name})`);
      else if (target && target !== state.status) {
        const before = state.status;
        if (await moveTo(target, step, `Jira status ${status.name}`))
          await record('assignment.status_changed', step, {
            sourceSystem: 'jira',
            before: { status: before },
            after: { status: target, jiraStatus: status.name },
            details: { eventIds: n.eventIds },
          });
      }
    }
    await persist();
  }

  /**
   * Reconciliation found Jira and this assignment apart. Re-checked against the live state (the
   * finding was computed from a saved snapshot): only what still differs is repaired, each repair
   * a `maintenance` audit row. A person's missed change is recorded as theirs (never fought).
   */
  async function applyReconcile(f: ReconcileFinding) {
    state = markSeen(state, [f.findingId]);
    const drifts = driftOf(state, f.jira);
    for (const d of drifts) {
      const step = `repair:${f.findingId}:${d.field}`;
      const maintenance = (details: Record<string, unknown>, extra: Partial<AuditEntry> = {}) =>
        record('assignment.repaired', step, {
          category: 'maintenance',
          actor: { kind: 'system', id: 'assignment-reconcile' },
          sourceSystem: 'jira',
          correlationId: f.runId,
          ...extra,
          details: { reconcileRun: f.runId, field: d.field, ...details },
        });
      if (d.field === 'status') {
        const before = state.status;
        state = {
          ...state,
          issue: { ...state.issue, status: { ...f.jira.status } },
          issueAtMs: Math.max(state.issueAtMs, f.observedAtMs),
        };
        const target = jiraStatusTarget(state.policy?.statuses ?? DEFAULT_STATUS_MAP, f.jira.status, !!state.owner);
        if (target === 'closed')
          await close(`closed:${f.findingId}`, `done in Jira (${f.jira.status.name}), found by reconciliation`);
        else if (target && target !== state.status) await moveTo(target, step, `Jira status ${f.jira.status.name}`);
        await maintenance(
          { ours: d.ours, jira: d.jira },
          { before: { status: before, jiraStatus: d.ours }, after: { status: state.status, jiraStatus: d.jira } },
        );
      } else if (d.repair === 'jira') {
        const write = await writeAssignee(step, d.ours);
        await maintenance(
          { repair: 'jira', ours: d.ours, jira: d.jira, jiraWrite: write },
          {
            targetSystem: 'jira',
            outcome: write.outcome,
            before: { jiraAssignee: d.jira },
            after: { jiraAssignee: d.ours },
          },
        );
      } else {
        await assigneeChanged({
          eventId: f.findingId,
          field: 'assignee',
          from: null,
          to: f.jira.assignee?.name ?? null,
          toId: d.jira,
          byUs: false,
          atMs: f.observedAtMs,
        });
        await maintenance(
          { repair: d.repair, ours: d.ours, jira: d.jira },
          { before: { owner: d.ours }, after: { owner: d.jira, status: state.status } },
        );
      }
    }
    await persist();
  }

  // ─── the run ─────────────────────────────────────────────────────────────────────────────

  if (!input.carried) {
    const previous = await store.loadAssignment({ site: input.site, key: input.key });
    if (previous && previous.status !== 'closed') state = previous;
    else if (previous) {
      // Reopened after it closed: a fresh assignment that keeps the decision count (decision ids stay unique).
      state = {
        ...state,
        decisions: previous.decisions,
        attempt: previous.attempt,
        version: previous.version,
        seenIds: previous.seenIds,
      };
    }
  }

  const ackDeadline = () =>
    state.status === 'routed' && state.current && state.policy
      ? state.current.routedAtMs + state.policy.ackTimeoutMs
      : undefined;
  const recheckAt = () => (state.paused ? state.paused.checkedAtMs + input.flagRecheckMs : undefined);
  const routable = () => needsRouting(state) && state.issueAtMs > 0;

  for (;;) {
    if (can.due()) {
      await untilHandlersFinished(() => background.size === 0);
      return continueAsNew<typeof assignmentWorkflow>({ ...input, carried: state, pending: work.splice(0) });
    }
    if (state.status === 'closed') break;
    const next = work.shift();
    if (next) {
      if (next.kind === 'notice') await applyNotice(next.notice);
      else if (next.kind === 'accepted') await accept(next);
      else if (next.kind === 'declined') await decline(next);
      else await applyReconcile(next.finding);
      continue;
    }
    if (routable() && (!state.paused || Date.now() >= recheckAt()!)) {
      await route();
      continue;
    }
    const deadline = ackDeadline() ?? (routable() ? recheckAt() : undefined);
    const woke =
      deadline === undefined
        ? await condition(() => work.length > 0 || can.dueWhileWaiting()).then(() => true)
        : await condition(() => work.length > 0 || can.dueWhileWaiting(), Math.max(1, deadline - Date.now()));
    if (!woke && work.length === 0) {
      const due = ackDeadline();
      if (due !== undefined && Date.now() >= due) await ackTimeout();
    }
  }
  await untilHandlersFinished(() => background.size === 0);
  return {
    key: state.key,
    status: state.status,
    ...(state.owner ? { owner: { name: state.owner.name, slack: state.owner.slack, jira: state.owner.jira } } : {}),
  };
}

/**
 * One reconciliation pass (started by its Temporal Schedule, `assignment-reconcile-<task queue>`,
 * default hourly): reads the open assignments we saved, asks Jira for their assignee and status
 * with the enhanced search (`key in (…)`, `nextPageToken` pages; rate limits wait Retry-After
 * through the activity retry policy), and hands each difference to the issue's running workflow,
 * which repairs only what Threadline owns. Every finding and the pass itself are `maintenance`
 * audit rows; differences are counted in `threadline_assignment_drift_total`. Short-lived: no
 * continue-as-new (bounded by `maxIssues`).
 */
export async function assignmentReconcileWorkflow(input: AssignmentReconcileInput): Promise<ReconcileCounts> {
  const info = workflowInfo();
  const runId = `${info.workflowId}:${info.runId}`;
  const audit = createAuditor(store.recordAudit, { actorId: 'assignment-reconcile' });
  const open = await reconcileStore.listOpenAssignments({ site: input.site, limit: input.maxIssues });
  const byKey = new Map(open.map((s) => [s.key, s]));
  const counts: ReconcileCounts = { owned: open.length, pages: 0, drifted: 0, signalled: 0, orphaned: 0, byField: {} };
  const seen = new Set<string>();
  const keys = [...byKey.keys()];
  for (let i = 0; i < keys.length; i += input.pageSize) {
    const chunk = keys.slice(i, i + input.pageSize);
    let token: string | undefined;
    do {
      const page = await jira.readJiraAssignments({
        keys: chunk,
        pageSize: input.pageSize,
        ...(token ? { nextPageToken: token } : {}),
      });
      counts.pages++;
      token = page.nextPageToken;
      for (const facts of page.issues) {
        seen.add(facts.key);
        const s = byKey.get(facts.key);
        if (!s) continue;
        const drifts = driftOf(s, facts);
        if (drifts.length === 0) continue;
        counts.drifted++;
        for (const d of drifts) {
          const label = d.field === 'status' ? 'status' : `assignee:${d.repair}`;
          counts.byField[label] = (counts.byField[label] ?? 0) + 1;
        }
        const finding: ReconcileFinding = {
          findingId: `${runId}:${facts.key}`,
          runId,
          jira: facts,
          observedAtMs: Date.now(),
        };
        // The finding first, so the trail reads finding → repairs.
        await Promise.all([
          reconcileStore.countAssignmentDrift({
            drifts: drifts.map((d) => ({ field: d.field, repair: d.field === 'status' ? 'status' : d.repair })),
          }),
          audit('assignment.drift_found', `drift:${facts.key}`, {
            subject: `ticket:${facts.key}`,
            category: 'maintenance',
            sourceSystem: 'jira',
            targetSystem: 'threadline',
            correlationId: runId,
            before: { status: s.status, owner: s.owner?.jira ?? null, jiraStatus: s.issue.status?.name ?? null },
            after: { jiraAssignee: facts.assignee?.id ?? null, jiraStatus: facts.status.name },
            details: { drifts },
          }),
        ]);
        try {
          await getExternalWorkflowHandle(assignmentWorkflowId(facts.key)).signal(assignmentReconcileSignal, finding);
          counts.signalled++;
        } catch {
          // The assignment is no longer running (closed, or its run was lost): nothing to repair it.
          counts.orphaned++;
          await audit('assignment.drift_unrepaired', `unrepaired:${facts.key}`, {
            subject: `ticket:${facts.key}`,
            category: 'maintenance',
            correlationId: runId,
            outcome: 'skipped',
            details: { reason: 'the assignment workflow is not running' },
          });
        }
      }
    } while (token);
  }
  counts.orphaned += keys.filter((k) => !seen.has(k)).length;
  await audit('assignment.reconciled', 'reconciled', {
    subject: RECONCILE_SUBJECT,
    category: 'maintenance',
    sourceSystem: 'jira',
    targetSystem: 'threadline',
    correlationId: runId,
    details: { site: input.site, ...counts },
  });
  return counts;
}
