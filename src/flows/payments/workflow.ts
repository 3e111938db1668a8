import {
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AuditEntry } from '../../platform/audit/contract.js';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import type { PaymentActivities } from './activities.js';
import type { SlackActivities } from '../../platform/slack/activities.js';
import {
  createAuditor,
  createTolerant,
  upsertLifecycleStatus,
  type Auditor,
} from '../../platform/temporal/workflow/lifecycle.js';
import {
  DB_ACTIVITY_OPTIONS,
  DB_LOCAL_ACTIVITY_OPTIONS,
  SLACK_ACTIVITY_OPTIONS,
} from '../../platform/temporal/workflow/presets.js';
import { localActivities } from '../../platform/temporal/workflow/local.js';
import { continueAsNewCheck, untilHandlersFinished } from '../../platform/temporal/workflow/continue-as-new.js';
import { finalActivityFailure } from '../../platform/temporal/workflow/failures.js';
import { countEscalation } from '../../platform/temporal/workflow/metrics.js';
import {
  PAYMENT_PATCHES,
  initiatePaymentSignal,
  paymentEventSignal,
  paymentStateQuery,
  type PaymentEvent,
  type PaymentInitiation,
  type PaymentLifecycleInput,
  type PaymentLifecycleResult,
  type PaymentLifecycleState,
  type PaymentSignal,
  type PaymentStatus,
} from './contract.js';
import { handleSlackThreadEvents, subjectStatusQuery, type SlackThreadEvent } from '../../platform/slack/contract.js';
import type { SlackMessageContent } from './domain/blocks.js';
import {
  buildEscalationAlert,
  buildEscalationReply,
  buildEventReply,
  buildOverdueReply,
  buildRootMessage,
} from './domain/blocks.js';
import {
  applyEvent,
  applyInitiation,
  applyTimer,
  initialState,
  nextDeadline,
  upgradeState,
} from './domain/lifecycle.js';
import { PAYMENT_ROUTING_RULE, routePayment } from './domain/routing.js';
import { applyThreadEvent, paymentStatusSummary } from './domain/thread.js';

const slack = proxyActivities<SlackActivities>(SLACK_ACTIVITY_OPTIONS);

const store = proxyActivities<PaymentActivities & ReturnType<typeof createAuditActivities>>(DB_ACTIVITY_OPTIONS);

/** Bookkeeping and lookups in our own Postgres, run inside the workflow task (PAYMENT_PATCHES.leanBookkeeping). */
const local =
  localActivities<Pick<PaymentActivities, 'recordPaymentStep' | 'loadPaymentStart' | 'lookupPaymentRoutingFacts'>>(
    DB_LOCAL_ACTIVITY_OPTIONS,
  );

/**
 * One Slack thread per payment, from "initiated" to captured / failed / refunded / overdue.
 *
 * - Started by `signalWithStart` from the API (initiation) or a webhook (provider event),
 *   whichever comes first; both are queued and applied in arrival order.
 * - Signals are at-least-once: applied event ids live in state, so a repeat is a no-op.
 * - Status only moves forward (domain/payments/status.ts).
 * - Every Slack post carries an idempotency key `payment:<id>:<step>`, so activity retries and
 *   replays never post twice.
 * - After an outcome the workflow stays open for `refundGraceMs` of inactivity, then closes; a
 *   later event restarts it, and the new run resumes from the DB snapshot into the same thread.
 * - Continue-as-new is checked inside every wait (a chatty thread only changes state), carrying the
 *   bounded state, the queued events and the timers' anchors (`startedAtMs`, `lastActivityAtMs`).
 * - Bookkeeping is batched: a step's audit rows are collected and written with its snapshot in
 *   one local activity (runs started before `payment-lean-bookkeeping` replay one activity each).
 * - If the root post fails permanently (channel archived, bot removed), the failure is audited and
 *   reported by `tolerant` and the lifecycle goes on without a thread: statuses, audit rows and
 *   snapshots continue, and each later event or timer tries the root again (one root at most: the
 *   post's idempotency key is the same every time).
 */
/** The step an auditor key names (`<workflowId>:<step>:audit`, see `createAuditor`). */
function stepOfAuditKey(workflowId: string, key: string): string {
  return key.slice(workflowId.length + 1, -':audit'.length);
}

export async function paymentLifecycleWorkflow(input: PaymentLifecycleInput): Promise<PaymentLifecycleResult> {
  const info = workflowInfo();
  const wfId = info.workflowId;
  const subject = wfId;
  // Patch checks first, before any await: the run decides once, and its history records it.
  const can = continueAsNewCheck(input);
  const splitDedup = patched(PAYMENT_PATCHES.separateProviderDedup);
  const lean = patched(PAYMENT_PATCHES.leanBookkeeping);
  const upgrade = (s: PaymentLifecycleState) => (splitDedup ? upgradeState(s) : s);
  const queue: PaymentSignal[] = [...(input.pendingEvents ?? [])];
  let state: PaymentLifecycleState = input.carried
    ? upgrade(input.carried)
    : initialState(input.lifecycleId, Date.now(), { legacyDedup: !splitDedup });

  const queued = (eventId: string) => queue.some((q) => q.type === 'event' && q.event.eventId === eventId);
  setHandler(initiatePaymentSignal, (init: PaymentInitiation) => {
    queue.push({ type: 'initiation', initiation: init });
  });
  setHandler(paymentEventSignal, (event: PaymentEvent) => {
    // Cheap early dedup; applyEvent dedups again authoritatively.
    if (!state.processedEventIds.includes(event.eventId) && !queued(event.eventId))
      queue.push({ type: 'event', event });
  });
  setHandler(paymentStateQuery, () => state);
  // People's replies and reactions in the thread join the timeline (state only: no commands, replay-safe).
  handleSlackThreadEvents((e: SlackThreadEvent) => {
    state = applyThreadEvent(state, e, Date.now());
  });
  setHandler(subjectStatusQuery, () => paymentStatusSummary(subject, state));

  /** Routing facts read with the start (lean), for the payer they were read for: the root post uses them once. */
  let startFacts: { payerName: string; facts: { payerHasCompletedInstallment: boolean } } | undefined;
  if (!input.carried) {
    // A previous run closed after its grace period; a late event restarted us: continue its thread.
    let previous: PaymentLifecycleState | undefined;
    if (lean) {
      // Every run starts from a signal (signalWithStart), delivered in this first activation: waiting
      // for it costs no workflow task, and one local activity then reads the snapshot and the routing
      // facts for its payer (a workflow task with local activities in a row is what outlived its
      // timeout on a starved worker: docs/payments.md, "What a lifecycle costs Temporal").
      await condition(() => queue.length > 0);
      const payerName = queue.find((q) => q.type === 'initiation')?.initiation.payerName;
      const start = await local.loadPaymentStart({ lifecycleId: input.lifecycleId, payerName });
      previous = start.snapshot;
      if (payerName && start.routingFacts) startFacts = { payerName, facts: start.routingFacts };
    } else previous = await store.loadPaymentSnapshot({ lifecycleId: input.lifecycleId });
    if (previous) state = { ...upgrade(previous), lastActivityAtMs: Date.now() };
  }
  const upsertStatus = () => upsertLifecycleStatus('payment', state.status);
  upsertStatus();

  const audit = createAuditor(store.recordAudit, { actorId: 'payment-lifecycle' });
  /** A step's audit rows not yet written: the step's `saveSnapshot` (or `flushAudits`) writes them (lean only). */
  const pendingAudits: AuditEntry[] = [];
  /** The audit row of a step: collected (lean) or its own activity (runs recorded before the patch). */
  const stepAudit: Auditor = lean
    ? createAuditor(
        async (entry) => {
          pendingAudits.push(entry);
          return true;
        },
        { actorId: 'payment-lifecycle' },
      )
    : audit;
  /**
   * A step's bookkeeping in one local activity (lean). Past its bound (Postgres refusing the rows
   * for 30 minutes) the step is written the way it was before the patch, one activity per row and
   * one for the snapshot: a row that still cannot be written is then announced on its own by the
   * auditor (audit row lost → metric + ops alert naming it), and the snapshot still lands.
   */
  const recordStep = async (step: { audits: AuditEntry[]; snapshot?: PaymentLifecycleState }) => {
    try {
      await local.recordPaymentStep(step);
    } catch (err) {
      // A local activity that ran out of attempts or time reaches workflow code as its last failure
      // (an ApplicationFailure), not wrapped in an ActivityFailure as a server-side one is.
      if (!finalActivityFailure(err) && !(err instanceof ApplicationFailure)) throw err;
      // The collected entry is passed whole, so the row written is the one collected (same key and time).
      for (const e of step.audits) await audit(e.action, stepOfAuditKey(wfId, e.idempotencyKey), e);
      if (step.snapshot) await store.savePaymentSnapshot(step.snapshot);
    }
  };
  /** The snapshot, with the step's collected audit rows in the same local activity (lean). */
  const saveSnapshot = () =>
    lean ? recordStep({ audits: pendingAudits.splice(0), snapshot: state }) : store.savePaymentSnapshot(state);
  const flushAudits = async () => {
    if (pendingAudits.length) await recordStep({ audits: pendingAudits.splice(0) });
  };
  /** A permanent Slack failure of one reply or update (root deleted, channel archived) is audited; the lifecycle goes on. */
  const tolerant = createTolerant(audit, 'payment');

  /** A reply in the thread; without a root (its post failed) the root is tried again first. */
  const reply = async (step: string, content: SlackMessageContent, purpose: string) => {
    if (!state.root && !(await ensureRoot())) return;
    const root = state.root!;
    await tolerant(step, () =>
      slack.postSlackMessage({
        subject,
        channel: root.channel,
        threadTs: root.ts,
        text: content.text,
        blocks: content.blocks,
        purpose,
        idempotencyKey: `${wfId}:${step}`,
      }),
    );
  };

  const updateRoot = async () => {
    if (!state.root) return;
    const root = buildRootMessage(state);
    const { channel, ts } = state.root;
    await tolerant(`root_update:${state.version}`, () =>
      slack.updateSlackMessage({ channel, ts, text: root.text, blocks: root.blocks }),
    );
  };

  const persist = async (statusBefore: PaymentStatus) => {
    if (state.status !== statusBefore) upsertStatus();
    await saveSnapshot();
  };

  async function resolveOwner(init: PaymentInitiation) {
    if (!init.owner) return;
    const { slackUserId } = await store.resolvePaymentOwner({ owner: init.owner });
    if (slackUserId) state = { ...state, ownerSlackId: slackUserId };
  }

  /**
   * Routes and posts the thread root (once; the key makes a retried or replayed post a no-op).
   * True when the lifecycle has a thread afterwards.
   */
  async function ensureRoot(): Promise<boolean> {
    if (state.root) return true;
    const payerName = state.initiation?.payerName;
    const prefetched = startFacts && startFacts.payerName === payerName ? startFacts.facts : undefined;
    startFacts = undefined;
    // Lean: without a payer name the lookup's answer is known (no history to look at): no call.
    const facts =
      prefetched ??
      (lean && !payerName
        ? { payerHasCompletedInstallment: false }
        : await (lean ? local : store).lookupPaymentRoutingFacts({ lifecycleId: state.lifecycleId, payerName }));
    const routing = routePayment(
      { paymentType: state.initiation?.paymentType, payerHasCompletedInstallment: facts.payerHasCompletedInstallment },
      input.channels,
    );
    const content = buildRootMessage(state);
    const post = () =>
      slack.postSlackMessage({
        subject,
        channel: routing.channel,
        text: content.text,
        blocks: content.blocks,
        purpose: 'root',
        idempotencyKey: `${wfId}:root`,
      });
    // Before the patch a permanent failure here failed the whole execution.
    if (!patched(PAYMENT_PATCHES.rootPostTolerant)) return rootPosted(await post(), routing);
    const failures = state.rootFailures ?? 0;
    // Each attempt is its own audited (and reported) step; the post keeps one key, so one root at most.
    const posted = await tolerant(failures ? `root:retry:${failures}` : 'root', post, {
      // An operator's retry of a failed root (console): the thread starts now, with the current state.
      onRetried: async (p) => {
        if (!state.root && (await rootPosted(p, routing))) await updateRoot();
      },
    });
    if (posted) return rootPosted(posted, routing);
    state = { ...state, rootFailures: failures + 1, version: state.version + 1 };
    await saveSnapshot();
    return false;
  }

  async function rootPosted(posted: { channel: string; ts: string }, routing: ReturnType<typeof routePayment>) {
    state = { ...state, root: { channel: posted.channel, ts: posted.ts }, routing, version: state.version + 1 };
    const routed = stepAudit('payment.routed', 'routed', {
      targetSystem: 'slack',
      ruleId: PAYMENT_ROUTING_RULE.id,
      ruleVersion: PAYMENT_ROUTING_RULE.version,
      after: { channel: routing.channel, ts: posted.ts },
      details: { reason: routing.reason },
    });
    // Lean: `routed` is already collected (synchronously), so the snapshot's local activity writes it.
    await Promise.all([routed, saveSnapshot()]);
    return true;
  }

  /**
   * `rootNext` (lean): the root is posted right after this, and its step writes this one's audit
   * row and snapshot with its own (one local activity in the task instead of two in a row).
   */
  async function handleInitiation(init: PaymentInitiation, rootNext = false) {
    const before = state.status;
    const r = applyInitiation(state, init, Date.now());
    if (!r.applied) return;
    state = r.state;
    await resolveOwner(init);
    await stepAudit('payment.initiated', 'initiated', {
      actor: { kind: 'api_client', id: init.requestedBy },
      sourceSystem: 'api',
      before: { status: before },
      after: { status: state.status },
      details: { paymentType: init.paymentType, currency: init.currency, amount: init.amount },
    });
    // Out of order: the thread was started from a provider event; complete it in place. A
    // lifecycle whose root post failed tries again now that it knows more.
    if (state.rootFailures && !state.root) await ensureRoot();
    else await updateRoot();
    if (lean && rootNext && !state.root) {
      if (state.status !== before) upsertStatus();
      return;
    }
    await persist(before);
  }

  async function handleEvent(event: PaymentEvent) {
    const before = state.status;
    const r = applyEvent(state, event, Date.now());
    if (!r.applied) return;
    state = r.state;
    const step = `event:${event.eventId}`;
    const audited = stepAudit(`payment.${event.kind}`, step, {
      actor: { kind: 'provider', id: event.provider },
      sourceSystem: event.provider,
      before: { status: before },
      after: { status: state.status },
      details: { eventId: event.eventId, providerEventType: event.providerEventType, paymentId: event.paymentId },
      occurredAt: event.occurredAt,
    });
    await replyThenUpdate(audited, () => reply(step, buildEventReply(event, before, state.status), 'reply'), before);
  }

  /**
   * A step's reply, the root's update and the bookkeeping. Lean with a thread: all three side by
   * side (one workflow task schedules both Slack calls; the reply and the root are different
   * messages). Otherwise (no thread yet, or a run recorded before the patch): the reply first,
   * since it may post the root, then the update and the snapshot.
   */
  async function replyThenUpdate(audited: Promise<boolean>, post: () => Promise<void>, before: PaymentStatus) {
    if (lean && state.root) {
      await Promise.all([audited, post(), updateRoot(), persist(before)]);
      return;
    }
    await Promise.all([audited, post()]);
    await Promise.all([updateRoot(), persist(before)]);
  }

  async function escalate() {
    state = applyTimer(state, 'escalated', Date.now()).state;
    countEscalation('payment');
    const after = input.policy.escalateAfterMs;
    const alert = buildEscalationAlert(state, after);
    await Promise.all([
      reply('escalation', buildEscalationReply(state, after), 'escalation'),
      tolerant('escalation:alert', () =>
        slack.postSlackMessage({
          subject,
          channel: input.channels.escalations,
          text: alert.text,
          blocks: alert.blocks,
          purpose: 'escalation_alert',
          idempotencyKey: `${wfId}:escalation:alert`,
        }),
      ),
      stepAudit('payment.escalated', 'escalated', {
        targetSystem: 'slack',
        after: { status: state.status },
        details: { afterMs: input.policy.escalateAfterMs, owner: state.ownerSlackId ?? null },
      }),
    ]);
    await persist(state.status);
  }

  async function markOverdue() {
    const before = state.status;
    state = applyTimer(state, 'overdue', Date.now()).state;
    const post = () => reply('overdue', buildOverdueReply(state, input.policy.overdueAfterMs), 'overdue');
    const auditOverdue = () =>
      stepAudit('payment.overdue', 'overdue', { before: { status: before }, after: { status: state.status } });
    if (lean) return replyThenUpdate(auditOverdue(), post, before);
    // Recorded runs scheduled the reply before the audit row: keep that command order.
    await Promise.all([post(), auditOverdue()]);
    await Promise.all([updateRoot(), persist(before)]);
  }

  // The root needs the initiation's details and routing facts: if a provider event came first,
  // give the initiation a short window to arrive before posting from what is known. (A lifecycle
  // whose root already failed does not wait here: its timers must keep running.)
  if (!state.root && !state.rootFailures) {
    await condition(() => queue.length > 0);
    if (!state.initiation && !queue.some((q) => q.type === 'initiation')) {
      await condition(() => queue.some((q) => q.type === 'initiation'), input.policy.initiationWaitMs);
    }
    const idx = queue.findIndex((q) => q.type === 'initiation');
    if (idx >= 0) {
      const [first] = queue.splice(idx, 1);
      if (first?.type === 'initiation') await handleInitiation(first.initiation, true);
    }
    await ensureRoot();
  }

  for (;;) {
    while (queue.length > 0) {
      const next = queue.shift()!;
      if (next.type === 'initiation') await handleInitiation(next.initiation);
      else await handleEvent(next.event);
    }
    if (can.due()) {
      await untilHandlersFinished();
      await flushAudits();
      return continueAsNew<typeof paymentLifecycleWorkflow>({
        ...input,
        carried: state,
        pendingEvents: queue.splice(0),
      });
    }
    const deadline = nextDeadline(state, input.policy);
    const waitMs = deadline.atMs - Date.now();
    if (waitMs > 0 && (await condition(() => queue.length > 0 || can.dueWhileWaiting(), waitMs))) continue;
    if (queue.length > 0 || can.dueWhileWaiting()) continue;
    if (deadline.kind === 'escalate') await escalate();
    else if (deadline.kind === 'overdue') await markOverdue();
    else {
      await untilHandlersFinished();
      // A signal that arrived while we were finishing must not be dropped.
      if (queue.length > 0) continue;
      await stepAudit('payment.closed', `closed:${state.version}`, { after: { status: state.status } });
      await flushAudits();
      if (queue.length > 0) continue;
      return { lifecycleId: state.lifecycleId, status: state.status, closedReason: 'grace_elapsed' };
    }
  }
}
