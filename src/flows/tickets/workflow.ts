import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import type { AuditEntry } from '../../platform/audit/contract.js';
import type { SlackActivities } from '../../platform/slack/activities.js';
import { handleSlackThreadEvents, subjectStatusQuery, type SlackThreadEvent } from '../../platform/slack/contract.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../platform/temporal/failure-types.js';
import { createAuditor, createTolerant, upsertLifecycleStatus } from '../../platform/temporal/workflow/lifecycle.js';
import {
  DB_ACTIVITY_OPTIONS,
  DB_LOCAL_ACTIVITY_OPTIONS,
  SLACK_ACTIVITY_OPTIONS,
  SLACK_LOOKUP_LOCAL_OPTIONS,
  SLACK_LOOKUP_OPTIONS,
} from '../../platform/temporal/workflow/presets.js';
import { localActivities } from '../../platform/temporal/workflow/local.js';
import type { TicketActivities } from './activities.js';
import type { CommentDraft } from './tracker.js';
import {
  ticketEventSignal,
  ticketFiledSignal,
  ticketStateQuery,
  TICKET_PATCHES,
  ticketWorkflowId,
  type TicketEvent,
  type TicketOwnerActivities,
  type TicketFiledNotice,
  type TicketRequestInput,
  type TicketRequestResult,
  type TicketSlackPerson,
  type TicketThreadState,
  type TicketWorkflowInput,
  type TicketWorkflowResult,
} from './contract.js';
import {
  buildDoneReply,
  buildNoDoneTransitionReply,
  buildOpsAlert,
  buildRootMessage,
  buildScopeBackReply,
  buildTrackerFailureReply,
  type TicketMessage,
} from './domain/blocks.js';
import {
  applySnapshot,
  commentForSlackTs,
  hasSeen,
  initialTicketState,
  markSeen,
  planTrackerBatch,
  recordCommentDeleted,
  recordCommentWrite,
  recordMirror,
  recordPosted,
  recordTransition,
  rememberPerson,
  ticketStatusSummary,
  type TicketAudit,
} from './domain/thread.js';
import { slackToPlain } from './domain/text.js';
import { ownerNoticeOf } from './domain/owner.js';

/**
 * Tracker writes (comments, transitions, filing issues). Rate limits come back with
 * nextRetryDelay = Retry-After (never earlier); 5xx and timeouts back off; auth, not-found and
 * other 4xx are non-retryable. Bounded: after 30 minutes of failures the step is reported
 * (audit, ops channel, a note in the thread) and the thread goes on.
 */
export const TRACKER_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};
/** Our own tracker account: needed before the first batch, so bounded short (the ledger still guards without it). */
const TRACKER_LOOKUP_OPTIONS: ActivityOptions = {
  ...TRACKER_ACTIVITY_OPTIONS,
  scheduleToCloseTimeout: '1 minute',
};

const slack = proxyActivities<SlackActivities>(SLACK_ACTIVITY_OPTIONS);
const store = proxyActivities<
  Pick<TicketActivities, 'saveTicketThread' | 'loadTicketThread' | 'handTicketToThread'> &
    ReturnType<typeof createAuditActivities>
>(DB_ACTIVITY_OPTIONS);
const directory = proxyActivities<Pick<TicketActivities, 'resolveTicketSlackPerson'>>(SLACK_LOOKUP_OPTIONS);
// The same, inside the workflow task (TICKET_PATCHES.leanBookkeeping): no activity task each.
const localStore = localActivities<
  Pick<TicketActivities, 'saveTicketThread' | 'loadTicketThread'> & ReturnType<typeof createAuditActivities>
>(DB_LOCAL_ACTIVITY_OPTIONS);
const localDirectory = localActivities<Pick<TicketActivities, 'resolveTicketSlackPerson'>>(SLACK_LOOKUP_LOCAL_OPTIONS);
const tracker =
  proxyActivities<
    Pick<
      TicketActivities,
      | 'addTicketComment'
      | 'updateTicketComment'
      | 'deleteTicketComment'
      | 'transitionTicketToDone'
      | 'fileTrackerTicket'
    >
  >(TRACKER_ACTIVITY_OPTIONS);
/** The issue's assignment (src/flows/assignment) hears about creation, assignee and status changes. */
const owner = proxyActivities<TicketOwnerActivities>(DB_ACTIVITY_OPTIONS);
const trackerLookup = proxyActivities<Pick<TicketActivities, 'resolveTicketTrackerSelf'>>(TRACKER_LOOKUP_OPTIONS);

/** The reaction that moves an issue to done. */
const DONE_REACTION = 'white_check_mark';

type TrackerOutcome<T> = { ok: true; value: T } | { ok: false; notFound: boolean; failureType: string; error: string };

interface FailureInfo {
  kind?: string;
  error?: string;
  status?: number;
}

/** What went wrong with a tracker call, from the classified failure's details (codes only). */
function failureOf(err: ActivityFailure): { failureType: string; info: FailureInfo; message: string } {
  const cause = err.cause;
  const app = cause instanceof ApplicationFailure ? cause : undefined;
  const info = (app?.details?.[0] ?? {}) as FailureInfo;
  return {
    failureType: app?.type ?? cause?.name ?? 'unknown',
    info,
    message: (info.error ?? cause?.message ?? err.message).slice(0, 200),
  };
}

const reasonInWords = (info: FailureInfo, failureType: string) =>
  info.kind === 'auth'
    ? `Threadline's Jira account is not allowed to (HTTP ${info.status ?? '401/403'})`
    : info.kind === 'permanent'
      ? `Jira refused it (${info.error ?? 'HTTP 4xx'})`
      : failureType === 'TimeoutFailure'
        ? 'Jira kept failing for 30 minutes'
        : `Jira failed (${info.error ?? failureType})`;

/** Announces a permanent tracker failure in the operations channel (once per workflow and step). */
function announce(
  tolerant: ReturnType<typeof createTolerant>,
  opts: { wfId: string; opsChannel: string; step: string; alert: TicketMessage },
) {
  return tolerant(`ops:${opts.step}`, () =>
    slack.postSlackMessage({
      subject: opts.wfId,
      channel: opts.opsChannel,
      text: opts.alert.text,
      blocks: opts.alert.blocks,
      purpose: 'ops_alert',
      idempotencyKey: `${opts.wfId}:ops:${opts.step}`,
    }),
  );
}

/**
 * One Slack thread per tracker issue (`ticket:<KEY>`), for as long as the issue is synced.
 *
 * - Started by the first tracker event for the issue (`signalWithStart` from the webhook), or by
 *   `/ticket` through `ticketRequestWorkflow`. The root shows the issue's current state and is
 *   updated in place; each change becomes one reply.
 * - Tracker events wait `mergeWindowMs` in a queue: within it they are ordered by their own time,
 *   duplicates (redeliveries, the comment double delivery) collapse, and a burst of field changes
 *   by one person becomes one reply. A late, older event never overwrites newer root state.
 * - People's replies become tracker comments (edits update them, deletions delete or mark them);
 *   ✅ on the root moves the issue to done. These run at once, not in the window.
 * - Loop prevention: our own account's events and the echoes of everything in the write ledger
 *   are dropped (domain/thread.ts `echoOf`); the ingress already drops our bot's Slack echoes.
 * - Every Slack post carries an idempotency key `ticket:<KEY>:<step>`; every tracker failure that
 *   retrying cannot fix is audited, announced in the ops channel and told in the thread.
 * - Continue-as-new carries the state (thread ts, write ledger, seen ids) and the queued signals.
 */
export async function ticketWorkflow(input: TicketWorkflowInput): Promise<TicketWorkflowResult> {
  const wfId = workflowInfo().workflowId;
  // Runs recorded before the patch replay their activities; new runs (and continued ones) are lean.
  const lean = patched(TICKET_PATCHES.leanBookkeeping);
  const bookkeeping = lean ? localStore : store;
  let state: TicketThreadState = input.carried ?? initialTicketState(input.key);
  const trackerQueue = [...(input.pending?.tracker ?? [])];
  const slackQueue: SlackThreadEvent[] = [...(input.pending?.slack ?? [])];
  const filedQueue: TicketFiledNotice[] = [...(input.pending?.filed ?? [])];

  const queued = (id: string) =>
    trackerQueue.some((q) => q.event.eventId === id) || slackQueue.some((e) => e.eventId === id);
  // Signals are at-least-once: ids already applied or queued are dropped here, and again when applied.
  setHandler(ticketEventSignal, (e: TicketEvent) => {
    if (!hasSeen(state, e.eventId) && !queued(e.eventId)) trackerQueue.push({ event: e, arrivedAtMs: Date.now() });
  });
  handleSlackThreadEvents((e: SlackThreadEvent) => {
    if (!hasSeen(state, e.eventId) && !queued(e.eventId)) slackQueue.push(e);
  });
  setHandler(ticketFiledSignal, (n: TicketFiledNotice) => {
    if (!hasSeen(state, `filed:${n.requestId}`) && !filedQueue.some((f) => f.requestId === n.requestId))
      filedQueue.push(n);
  });
  setHandler(ticketStateQuery, () => state);
  setHandler(subjectStatusQuery, () => ticketStatusSummary(wfId, state, new Date(Date.now()).toISOString()));

  const audit = createAuditor(bookkeeping.recordAudit, { actorId: 'ticket-workflow' });
  /** A permanent Slack failure of one post or update is audited; the thread goes on. */
  const tolerant = createTolerant(audit, 'ticket');
  const writeAudit = (a: TicketAudit) =>
    audit(a.action, a.step, {
      actor: a.actor,
      sourceSystem: a.sourceSystem,
      targetSystem: a.targetSystem,
      before: a.before,
      after: a.after,
      ruleId: state.rule?.id,
      outcome: a.outcome,
      details: { key: state.key, ...a.details },
      ...(a.occurredAt ? { occurredAt: a.occurredAt } : {}),
    });

  let shownStatus = '';
  const upsertStatus = () => {
    const status = state.sync === 'active' ? (state.issue.status?.name ?? 'unknown') : state.sync;
    if (status !== shownStatus) upsertLifecycleStatus('ticket', status);
    shownStatus = status;
  };
  const persist = async () => {
    upsertStatus();
    await bookkeeping.saveTicketThread(state);
  };

  // What the root shows now: an update that would not change it is not sent (chat.update is a
  // Tier 3 method, 50 a minute per workspace, and most changes, comments, leave the root as it is).
  let rootShown: string | undefined;
  async function updateRoot() {
    if (!state.root) return;
    const root = buildRootMessage(state);
    const shown = JSON.stringify(root);
    if (shown === rootShown) return;
    rootShown = shown;
    const { channel, ts } = state.root;
    await tolerant(`root_update:${state.version}`, () =>
      slack.updateSlackMessage({ channel, ts, text: root.text, blocks: root.blocks }),
    );
  }

  /** Posts a thread reply once per step (its idempotency key); returns its ts. */
  async function reply(step: string, message: TicketMessage, purpose: string): Promise<string | undefined> {
    const root = state.root;
    if (!root) return undefined;
    const posted = await tolerant(step, () =>
      slack.postSlackMessage({
        subject: wfId,
        channel: root.channel,
        threadTs: root.ts,
        text: message.text,
        blocks: message.blocks,
        purpose,
        idempotencyKey: `${wfId}:${step}`,
      }),
    );
    if (posted) state = recordPosted(state, posted.ts);
    return posted?.ts;
  }

  /** Posts the root once (when a channel is known); its ts goes to state and `slack_messages`. */
  async function ensureRoot(): Promise<boolean> {
    if (state.root) return true;
    const channel = state.channel;
    if (!channel) return false;
    const root = buildRootMessage(state);
    const posted = await tolerant('root', () =>
      slack.postSlackMessage({
        subject: wfId,
        channel,
        text: root.text,
        blocks: root.blocks,
        purpose: 'root',
        idempotencyKey: `${wfId}:root`,
      }),
    );
    if (!posted) return false;
    state = recordPosted({ ...state, root: { channel: posted.channel, ts: posted.ts } }, posted.ts);
    rootShown = JSON.stringify(root);
    // Saved with the rest of the step (callers persist when the step is done).
    await audit('ticket.thread_started', 'thread_started', {
      sourceSystem: state.tracker,
      targetSystem: 'slack',
      ruleId: state.rule?.id,
      after: { channel: posted.channel, ts: posted.ts, status: state.issue.status?.name ?? null },
      details: { key: state.key, filedBy: state.filedBy ?? null },
    });
    return true;
  }

  /**
   * One tracker call. A failure retrying cannot fix (auth, 4xx, retries exhausted) is audited
   * (`ticket.tracker_failed`), announced in the ops channel and, with `what`, told in the
   * thread; a 404 is only recorded (the comment or issue is gone) and never retried.
   */
  async function trackerCall<T>(step: string, call: () => Promise<T>, what?: string): Promise<TrackerOutcome<T>> {
    try {
      return { ok: true, value: await call() };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const { failureType, info, message } = failureOf(err);
      const notFound = info.kind === 'not_found';
      await audit('ticket.tracker_failed', `tracker_failed:${step}`, {
        targetSystem: state.tracker,
        outcome: notFound ? 'skipped' : 'failed',
        details: {
          key: state.key,
          step,
          failureType,
          kind: info.kind ?? null,
          status: info.status ?? null,
          error: message,
        },
      });
      if (!notFound) {
        const alert = buildOpsAlert({ key: state.key, step, failureType, error: message, root: state.root });
        await Promise.all([
          announce(tolerant, { wfId, opsChannel: input.opsChannel, step, alert }),
          what
            ? reply(
                `failed:${step}`,
                buildTrackerFailureReply(what, reasonInWords(info, failureType)),
                'tracker_failure',
              )
            : undefined,
        ]);
      }
      return { ok: false, notFound, failureType, error: message };
    }
  }

  /** Who a Slack user is (cached in state): name, team, tracker account matched by email. */
  async function personOf(user: string): Promise<TicketSlackPerson> {
    const known = state.people.find((p) => p.user === user);
    if (known) return known;
    let p: TicketSlackPerson;
    try {
      p = await (lean ? localDirectory : directory).resolveTicketSlackPerson({ user });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Slack did not answer in time: attribute by user id rather than hold the reply back.
      return { user, name: user };
    }
    state = rememberPerson(state, p);
    return p;
  }

  /** A person's message as plain text, with the people it mentions by name. */
  async function plainText(text: string): Promise<string> {
    const mentioned = [...new Set([...text.matchAll(/<@([UW][A-Z0-9]+)/g)].map((m) => m[1]!))].slice(0, 5);
    for (const u of mentioned) await personOf(u);
    return slackToPlain(text, (u) => state.people.find((p) => p.user === u)?.name).trim() || '(no text)';
  }

  // ─── Slack → tracker ─────────────────────────────────────────────────────────────────────

  /** A person's words as a tracker comment, attributed to them (a deletion note when `deleted`). */
  async function draftFor(e: SlackThreadEvent, deleted = false): Promise<CommentDraft> {
    const person = await personOf(e.user);
    return {
      text: deleted ? '' : await plainText(e.text ?? ''),
      ...(deleted ? { deletedNote: true } : {}),
      author: { name: person.name, trackerAccountId: person.trackerAccountId },
    };
  }

  /** An audit row for something a person did in Slack that we carried to the tracker. */
  const slackAudit = (action: string, step: string, e: SlackThreadEvent, extra: Partial<AuditEntry> = {}) =>
    audit(action, step, {
      actor: { kind: 'slack_user', id: e.user },
      sourceSystem: 'slack',
      targetSystem: state.tracker,
      ...extra,
      details: { key: state.key, slackTs: e.ts, eventId: e.eventId, ...extra.details },
    });

  async function mirrorReply(e: SlackThreadEvent) {
    const person = await personOf(e.user);
    const draft = await draftFor(e);
    const origin = { system: 'slack' as const, team: person.teamId, channel: e.channel, ts: e.ts, user: e.user };
    const r = await trackerCall(
      `comment:${e.ts}`,
      () => tracker.addTicketComment({ key: state.key, draft, origin }),
      `add <@${e.user}>'s reply as a comment`,
    );
    if (!r.ok) return;
    state = recordCommentWrite(state, { id: r.value.id, slackTs: e.ts, updated: r.value.updated });
    await Promise.all([
      slackAudit('ticket.reply_mirrored', `reply:${e.ts}`, e, {
        after: { commentId: r.value.id },
        details: { attributed: person.trackerAccountId ? 'account' : 'name' },
      }),
      persist(),
    ]);
  }

  async function mirrorEdit(e: SlackThreadEvent) {
    const written = commentForSlackTs(state, e.ts);
    if (!written) {
      await slackAudit('ticket.reply_edit_skipped', `edit_skipped:${e.eventId}`, e, {
        outcome: 'skipped',
        details: { reason: 'no tracker comment for this reply' },
      });
      return;
    }
    const draft = await draftFor(e);
    const r = await trackerCall(
      `edit:${e.eventId}`,
      () => tracker.updateTicketComment({ key: state.key, commentId: written.id, draft }),
      `update the comment of <@${e.user}>'s edited reply`,
    );
    if (!r.ok) {
      // 404: someone deleted the comment in the tracker. Recorded (tracker_failed, skipped); later edits are skipped too.
      if (r.notFound) state = recordCommentDeleted(state, written.id);
      await persist();
      return;
    }
    state = recordCommentWrite(state, { id: written.id, slackTs: e.ts, updated: r.value.updated });
    await Promise.all([
      slackAudit('ticket.reply_edit_mirrored', `edit:${e.eventId}`, e, { after: { commentId: written.id } }),
      persist(),
    ]);
  }

  async function mirrorDelete(e: SlackThreadEvent) {
    const written = commentForSlackTs(state, e.ts);
    if (!written) return;
    const mode = input.slackDeleteMode;
    const r =
      mode === 'delete'
        ? await trackerCall(
            `delete:${e.ts}`,
            () => tracker.deleteTicketComment({ key: state.key, commentId: written.id }),
            `delete the comment of <@${e.user}>'s deleted reply`,
          )
        : await trackerCall(
            `delete:${e.ts}`,
            async () =>
              tracker.updateTicketComment({ key: state.key, commentId: written.id, draft: await draftFor(e, true) }),
            `mark the comment of <@${e.user}>'s deleted reply`,
          );
    if (!r.ok && !r.notFound) return;
    if (r.ok && 'updated' in r.value)
      state = recordCommentWrite(state, { id: written.id, slackTs: e.ts, updated: r.value.updated });
    // Deleted here, or already gone in the tracker: either way later edits have nothing to update.
    state = recordCommentDeleted(state, written.id);
    await Promise.all([
      r.ok
        ? slackAudit('ticket.reply_delete_mirrored', `delete:${e.ts}`, e, {
            before: { commentId: written.id },
            after: { mode },
          })
        : undefined,
      persist(),
    ]);
  }

  async function markDone(e: SlackThreadEvent) {
    const before = state.issue.status;
    if (before?.category === 'done') {
      await slackAudit('ticket.done_skipped', `done:${e.eventId}`, e, {
        outcome: 'skipped',
        details: { status: before.name, reason: 'already done' },
      });
      return;
    }
    const r = await trackerCall(
      `done:${e.eventId}`,
      () => tracker.transitionTicketToDone({ key: state.key }),
      `move ${state.key} to Done for <@${e.user}>`,
    );
    if (!r.ok) return;
    const t = r.value;
    if (t.outcome === 'transitioned' || (t.outcome === 'already_done' && t.afterRetry)) {
      const to = t.outcome === 'transitioned' ? t.to : t.status;
      const from = t.outcome === 'transitioned' ? t.from.name : (before?.name ?? 'unknown');
      state = recordTransition(state, { toStatusId: to.id, toStatus: to.name, atMs: Date.now() });
      // The root shows it now; the echo's snapshot (by event time) confirms it later.
      state = {
        ...state,
        issue: { ...state.issue, status: { id: to.id, name: to.name, category: to.category } },
        version: state.version + 1,
      };
      await Promise.all([
        reply(`done:${e.eventId}`, buildDoneReply(state.key, e.user, from, to.name), 'done_note'),
        slackAudit('ticket.transitioned', `done:${e.eventId}`, e, {
          before: { status: from },
          after: { status: to.name },
          details: {
            transitionId: t.outcome === 'transitioned' ? t.transitionId : null,
            via: `reaction:${DONE_REACTION}`,
          },
        }),
      ]);
    } else if (t.outcome === 'already_done') {
      state = { ...state, issue: { ...state.issue, status: { ...t.status } }, version: state.version + 1 };
      await slackAudit('ticket.done_skipped', `done:${e.eventId}`, e, {
        outcome: 'skipped',
        details: { status: t.status.name, reason: 'already done in the tracker' },
      });
    } else {
      await Promise.all([
        reply(
          `done:${e.eventId}`,
          buildNoDoneTransitionReply(state.key, e.user, t.status.name, t.available),
          'done_unavailable',
        ),
        slackAudit('ticket.done_unavailable', `done:${e.eventId}`, e, {
          outcome: 'skipped',
          details: { status: t.status.name, available: t.available },
        }),
      ]);
    }
    await updateRoot();
    await persist();
  }

  async function handleSlack(e: SlackThreadEvent) {
    state = markSeen(state, e.eventId);
    const root = state.root;
    if (!root || state.sync !== 'active' || e.channel !== root.channel) return;
    // Only this thread's own messages: a reply under an ops alert is routed here too, and ignored.
    const inThread = e.threadTs === root.ts && e.ts !== root.ts;
    if (e.kind.startsWith('message') && state.ledger.posted.includes(e.ts)) {
      await slackAudit('ticket.echo_dropped', `echo:${e.eventId}`, e, {
        targetSystem: undefined,
        outcome: 'skipped',
        details: { layer: 'ledger', kind: e.kind },
      });
      return;
    }
    const reaction = (e.reaction ?? '').replace(/^:|:$/g, '').split('::')[0];
    if (e.kind === 'message' && inThread) await mirrorReply(e);
    else if (e.kind === 'message_changed' && inThread) await mirrorEdit(e);
    else if (e.kind === 'message_deleted' && inThread) await mirrorDelete(e);
    else if (e.kind === 'reaction_added' && e.ts === root.ts && reaction === DONE_REACTION) await markDone(e);
    // Removing ✅ never reopens the issue; other reactions are conversation, not commands.
  }

  // ─── tracker → Slack ─────────────────────────────────────────────────────────────────────

  async function handleFiled(n: TicketFiledNotice) {
    state = markSeen(state, `filed:${n.requestId}`);
    state = {
      ...state,
      filedBy: n.requestedBy,
      channel: state.channel ?? n.channel,
      rule: state.rule ?? { id: n.ruleId, fields: [...n.fields] },
      version: state.version + 1,
    };
    // Only when no tracker event came first (event time 0: anything from the tracker is newer).
    state = applySnapshot(state, n.issue, 0);
    if (await ensureRoot()) await updateRoot();
    await persist();
  }

  /** Returns true when the thread stops syncing. */
  async function handleTrackerBatch(batch: TicketEvent[]): Promise<boolean> {
    if (state.sync === 'out_of_scope') {
      // A stopped thread syncs again only for an in-scope event newer than the one that stopped it.
      const back = batch.find((e) => e.scope.state === 'in' && e.occurredAtMs > state.issueAtMs);
      if (!back) {
        for (const e of batch) state = markSeen(state, e.eventId);
        await persist();
        return true;
      }
      state = { ...state, sync: 'active', syncNote: undefined, version: state.version + 1 };
      await Promise.all([
        reply(`scope_back:${back.eventId}`, buildScopeBackReply(state.key), 'scope_back'),
        audit('ticket.scope_returned', `scope_back:${back.eventId}`, {
          sourceSystem: state.tracker,
          targetSystem: 'slack',
          before: { sync: 'out_of_scope' },
          after: { sync: 'active' },
          details: { key: state.key, eventId: back.eventId },
        }),
      ]);
    }
    const planned = planTrackerBatch(state, batch);
    state = planned.state;
    const ends = planned.effects.some((f) => f.kind === 'end');
    const said = planned.effects.some(
      (f) =>
        f.kind === 'update_reply' ||
        (f.kind === 'reply' && f.purpose !== 'scope_left' && f.purpose !== 'tracker_deleted'),
    );
    // An issue created and gone before its thread existed gets no thread just to say it ended.
    if (!state.root && (said || !ends)) await ensureRoot();
    // The root first: once a batch's replies are visible, the root already shows that state.
    await updateRoot();
    // Audit-only effects (dropped echoes) first, so a later reply being visible implies they are recorded.
    await Promise.all(planned.effects.flatMap((f) => (f.kind === 'audit' ? [writeAudit(f.audit)] : [])));
    for (const f of planned.effects) {
      if (f.kind === 'reply') {
        const [ts] = await Promise.all([reply(f.step, f.message, f.purpose), writeAudit(f.audit)]);
        if (ts && f.mirrors) state = recordMirror(state, f.mirrors, ts);
      } else if (f.kind === 'update_reply') {
        const root = state.root;
        await Promise.all([
          root
            ? tolerant(f.step, () =>
                slack.updateSlackMessage({
                  channel: root.channel,
                  ts: f.ts,
                  text: f.message.text,
                  blocks: f.message.blocks,
                }),
              )
            : undefined,
          writeAudit(f.audit),
        ]);
      }
    }
    // New runs only (patched): histories recorded before it replay without the extra activity.
    if (input.tellsOwner && patched(TICKET_PATCHES.tellsOwner)) {
      const notice = ownerNoticeOf(state, batch);
      if (notice) await tolerant(`owner:${notice.eventIds[0]}`, () => owner.tellTicketOwner(notice));
    }
    await persist();
    return ends;
  }

  // ─── the run ─────────────────────────────────────────────────────────────────────────────

  if (!input.carried) {
    // A thread that stopped (left the scope) and got a new event: continue it, same root, same ledger.
    const previous = await bookkeeping.loadTicketThread({ key: input.key });
    if (previous) state = previous;
    if (state.sync === 'deleted') {
      // A late redelivery for an issue that is gone: nothing to say.
      await audit('ticket.event_after_delete', `after_delete:${workflowInfo().runId}`, {
        outcome: 'skipped',
        details: { key: state.key, queued: trackerQueue.length + slackQueue.length },
      });
      return { key: state.key, sync: state.sync };
    }
  }
  if (!state.selfAccountId) {
    const me = await trackerCall('resolve_self', () => trackerLookup.resolveTicketTrackerSelf());
    if (me.ok) state = { ...state, selfAccountId: me.value.accountId };
  }
  upsertStatus();

  const due = () => {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      (input.continueAsNewAfterEvents !== undefined && info.historyLength >= input.continueAsNewAfterEvents)
    );
  };
  const urgent = () => slackQueue.length > 0 || filedQueue.length > 0;

  for (;;) {
    if (due()) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof ticketWorkflow>({
        ...input,
        carried: state,
        pending: { tracker: trackerQueue.splice(0), slack: slackQueue.splice(0), filed: filedQueue.splice(0) },
      });
    }
    const windowEnd = trackerQueue.length ? trackerQueue[0]!.arrivedAtMs + input.mergeWindowMs : undefined;
    const trackerReady = windowEnd !== undefined && Date.now() >= windowEnd;
    if (!urgent() && !trackerReady) {
      // The continue-as-new check is part of the wait: a quiet thread hands over without a new event.
      if (windowEnd === undefined) await condition(() => urgent() || trackerQueue.length > 0 || due());
      else await condition(() => urgent() || due(), windowEnd - Date.now());
      continue;
    }
    while (filedQueue.length > 0) await handleFiled(filedQueue.shift()!);
    while (slackQueue.length > 0 && state.sync === 'active') await handleSlack(slackQueue.shift()!);
    if (!trackerReady) continue;
    const ended = await handleTrackerBatch(trackerQueue.splice(0).map((q) => q.event));
    if (!ended) continue;
    await condition(allHandlersFinished);
    // A thread that left the scope may come back with an event that arrived meanwhile.
    if (state.sync === 'out_of_scope' && trackerQueue.length > 0) continue;
    slackQueue.length = 0;
    await persist();
    return { key: state.key, sync: state.sync };
  }
}

/**
 * `/ticket` (or its modal): files the issue in the tracker, then hands it to its thread
 * `ticket:<KEY>` in the channel the command ran in. A failure is told to the person (ephemeral)
 * and, when retrying cannot help, to the operators.
 */
export async function ticketRequestWorkflow(input: TicketRequestInput): Promise<TicketRequestResult> {
  const wfId = workflowInfo().workflowId;
  const audit = createAuditor(store.recordAudit, { actorId: 'ticket-request' });
  const tolerant = createTolerant(audit, 'ticket');
  const tell = (text: string) =>
    tolerant('told', () => slack.postSlackEphemeral({ channel: input.channel, user: input.requestedBy, text }));
  const person = await directory
    .resolveTicketSlackPerson({ user: input.requestedBy })
    .catch((): TicketSlackPerson => ({ user: input.requestedBy, name: input.requestedBy }));
  let issue;
  try {
    issue = await tracker.fileTrackerTicket({
      project: input.project,
      summary: input.summary,
      issueType: input.issueType,
      priority: input.priority,
      labels: input.labels,
      components: input.components,
      description: `Filed from Slack by ${person.name}.`,
      requestId: input.requestId,
    });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const { failureType, info, message } = failureOf(err);
    const alert = buildOpsAlert({ key: input.project, step: 'file', failureType, error: message });
    await Promise.all([
      audit('ticket.file_failed', 'file_failed', {
        actor: { kind: 'slack_user', id: input.requestedBy },
        targetSystem: 'jira',
        outcome: 'failed',
        details: {
          project: input.project,
          failureType,
          kind: info.kind ?? null,
          status: info.status ?? null,
          error: message,
        },
      }),
      tell(`Sorry, the ticket was not filed: ${reasonInWords(info, failureType)}.`),
      info.kind === 'permanent'
        ? undefined
        : announce(tolerant, { wfId, opsChannel: input.opsChannel, step: 'file', alert }),
    ]);
    return { error: message };
  }
  await audit('ticket.filed', 'filed', {
    actor: { kind: 'slack_user', id: input.requestedBy },
    sourceSystem: 'slack',
    targetSystem: 'jira',
    ruleId: input.ruleId,
    after: { key: issue.key, type: issue.type ?? null, priority: issue.priority ?? null },
    details: { requestId: input.requestId, channel: input.channel, thread: ticketWorkflowId(issue.key) },
  });
  await store.handTicketToThread({
    requestId: input.requestId,
    issue,
    channel: input.channel,
    requestedBy: input.requestedBy,
    ruleId: input.ruleId,
    fields: input.fields,
  });
  return { key: issue.key };
}
