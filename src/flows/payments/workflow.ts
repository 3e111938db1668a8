import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import type { PaymentActivities } from './activities.js';
import type { SlackActivities } from '../../platform/slack/activities.js';
import { createAuditor, createTolerant, upsertLifecycleStatus } from '../../platform/temporal/workflow/lifecycle.js';
import { DB_ACTIVITY_OPTIONS, SLACK_ACTIVITY_OPTIONS } from '../../platform/temporal/workflow/presets.js';
import {
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
import { slackThreadEventSignal, subjectStatusQuery, type SlackThreadEvent } from '../../platform/slack/contract.js';
import type { SlackMessageContent } from './domain/blocks.js';
import {
  buildEscalationAlert,
  buildEscalationReply,
  buildEventReply,
  buildOverdueReply,
  buildRootMessage,
} from './domain/blocks.js';
import { applyEvent, applyInitiation, applyTimer, initialState, nextDeadline } from './domain/lifecycle.js';
import { PAYMENT_ROUTING_RULE, routePayment } from './domain/routing.js';
import { applyThreadEvent, paymentStatusSummary } from './domain/thread.js';

const slack = proxyActivities<SlackActivities>(SLACK_ACTIVITY_OPTIONS);

const store = proxyActivities<PaymentActivities & ReturnType<typeof createAuditActivities>>(DB_ACTIVITY_OPTIONS);

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
 */
export async function paymentLifecycleWorkflow(input: PaymentLifecycleInput): Promise<PaymentLifecycleResult> {
  const info = workflowInfo();
  const wfId = info.workflowId;
  const subject = wfId;
  const queue: PaymentSignal[] = [...(input.pendingEvents ?? [])];
  let state: PaymentLifecycleState = input.carried ?? initialState(input.lifecycleId, Date.now());

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
  setHandler(slackThreadEventSignal, (e: SlackThreadEvent) => {
    state = applyThreadEvent(state, e, Date.now());
  });
  setHandler(subjectStatusQuery, () => paymentStatusSummary(subject, state));

  if (!input.carried) {
    // A previous run closed after its grace period; a late event restarted us: continue its thread.
    const previous = await store.loadPaymentSnapshot({ lifecycleId: input.lifecycleId });
    if (previous) state = { ...previous, lastActivityAtMs: Date.now() };
  }
  const upsertStatus = () => upsertLifecycleStatus('payment', state.status);
  upsertStatus();

  const audit = createAuditor(store.recordAudit, { actorId: 'payment-lifecycle' });
  /** A permanent Slack failure of one reply or update (root deleted, channel archived) is audited; the lifecycle goes on. */
  const tolerant = createTolerant(audit, 'payment');

  const reply = (step: string, content: SlackMessageContent, purpose: string) =>
    tolerant(step, () =>
      slack.postSlackMessage({
        subject,
        channel: state.root!.channel,
        threadTs: state.root!.ts,
        text: content.text,
        blocks: content.blocks,
        purpose,
        idempotencyKey: `${wfId}:${step}`,
      }),
    );

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
    await store.savePaymentSnapshot(state);
  };

  async function resolveOwner(init: PaymentInitiation) {
    if (!init.owner) return;
    const { slackUserId } = await store.resolvePaymentOwner({ owner: init.owner });
    if (slackUserId) state = { ...state, ownerSlackId: slackUserId };
  }

  /** Routes and posts the thread root (once; the key makes a retried or replayed post a no-op). */
  async function ensureRoot() {
    if (state.root) return;
    const facts = await store.lookupPaymentRoutingFacts({
      lifecycleId: state.lifecycleId,
      payerName: state.initiation?.payerName,
    });
    const routing = routePayment(
      { paymentType: state.initiation?.paymentType, payerHasCompletedInstallment: facts.payerHasCompletedInstallment },
      input.channels,
    );
    const content = buildRootMessage(state);
    const posted = await slack.postSlackMessage({
      subject,
      channel: routing.channel,
      text: content.text,
      blocks: content.blocks,
      purpose: 'root',
      idempotencyKey: `${wfId}:root`,
    });
    state = { ...state, root: { channel: posted.channel, ts: posted.ts }, routing, version: state.version + 1 };
    await Promise.all([
      audit('payment.routed', 'routed', {
        targetSystem: 'slack',
        ruleId: PAYMENT_ROUTING_RULE.id,
        ruleVersion: PAYMENT_ROUTING_RULE.version,
        after: { channel: routing.channel, ts: posted.ts },
        details: { reason: routing.reason },
      }),
      store.savePaymentSnapshot(state),
    ]);
  }

  async function handleInitiation(init: PaymentInitiation) {
    const before = state.status;
    const r = applyInitiation(state, init, Date.now());
    if (!r.applied) return;
    state = r.state;
    await resolveOwner(init);
    await audit('payment.initiated', 'initiated', {
      actor: { kind: 'api_client', id: init.requestedBy },
      sourceSystem: 'api',
      before: { status: before },
      after: { status: state.status },
      details: { paymentType: init.paymentType, currency: init.currency, amount: init.amount },
    });
    // Out of order: the thread was started from a provider event; complete it in place.
    await updateRoot();
    await persist(before);
  }

  async function handleEvent(event: PaymentEvent) {
    const before = state.status;
    const r = applyEvent(state, event, Date.now());
    if (!r.applied) return;
    state = r.state;
    const step = `event:${event.eventId}`;
    await Promise.all([
      audit(`payment.${event.kind}`, step, {
        actor: { kind: 'provider', id: event.provider },
        sourceSystem: event.provider,
        before: { status: before },
        after: { status: state.status },
        details: { eventId: event.eventId, providerEventType: event.providerEventType, paymentId: event.paymentId },
        occurredAt: event.occurredAt,
      }),
      reply(step, buildEventReply(event, before, state.status), 'reply'),
    ]);
    await Promise.all([updateRoot(), persist(before)]);
  }

  async function escalate() {
    state = applyTimer(state, 'escalated', Date.now()).state;
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
      audit('payment.escalated', 'escalated', {
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
    await Promise.all([
      reply('overdue', buildOverdueReply(state, input.policy.overdueAfterMs), 'overdue'),
      audit('payment.overdue', 'overdue', { before: { status: before }, after: { status: state.status } }),
    ]);
    await Promise.all([updateRoot(), persist(before)]);
  }

  // The root needs the initiation's details and routing facts: if a provider event came first,
  // give the initiation a short window to arrive before posting from what is known.
  if (!state.root) {
    await condition(() => queue.length > 0);
    if (!state.initiation && !queue.some((q) => q.type === 'initiation')) {
      await condition(() => queue.some((q) => q.type === 'initiation'), input.policy.initiationWaitMs);
    }
    const idx = queue.findIndex((q) => q.type === 'initiation');
    if (idx >= 0) {
      const [first] = queue.splice(idx, 1);
      if (first?.type === 'initiation') await handleInitiation(first.initiation);
    }
    await ensureRoot();
  }

  for (;;) {
    while (queue.length > 0) {
      const next = queue.shift()!;
      if (next.type === 'initiation') await handleInitiation(next.initiation);
      else await handleEvent(next.event);
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof paymentLifecycleWorkflow>({
        ...input,
        carried: state,
        pendingEvents: queue.splice(0),
      });
    }
    const deadline = nextDeadline(state, input.policy);
    const waitMs = deadline.atMs - Date.now();
    if (waitMs > 0 && (await condition(() => queue.length > 0, waitMs))) continue;
    if (queue.length > 0) continue;
    if (deadline.kind === 'escalate') await escalate();
    else if (deadline.kind === 'overdue') await markOverdue();
    else {
      await condition(allHandlersFinished);
      // A signal that arrived while we were finishing must not be dropped.
      if (queue.length > 0) continue;
      await audit('payment.closed', `closed:${state.version}`, { after: { status: state.status } });
      if (queue.length > 0) continue;
      return { lifecycleId: state.lifecycleId, status: state.status, closedReason: 'grace_elapsed' };
    }
  }
}
