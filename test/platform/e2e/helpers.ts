import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { InspectedMessage } from '../../../emulators/slack/admin-client.js';
import { paymentWorkflowId } from '../../../src/flows/payments/contract.js';
import type { paymentsHarness } from '../../flows/payments/e2e/helpers.js';

/** Payment SLAs long enough that these files never see an escalation; a short initiation wait. */
export const QUIET_PAYMENTS_ENV = {
  PAYMENT_ESCALATE_AFTER: '10m',
  PAYMENT_OVERDUE_AFTER: '20m',
  PAYMENT_REFUND_GRACE: '1h',
  PAYMENT_INITIATION_WAIT: '300ms',
} as const;

/** The idempotency key a message carries in its metadata (every post of ours has one). */
export const keyOf = (m: InspectedMessage) =>
  (m.metadata?.event_payload as { idempotency_key?: string } | undefined)?.idempotency_key;

const EventType = temporal.api.enums.v1.EventType;

/** One scheduled activity as its workflow's history records it (its last attempt's start and end). */
export interface ActivityRun {
  activityType: string;
  scheduledAtMs: number;
  /** Start of the attempt that ended it (Temporal records only the last attempt's start). */
  startedAtMs?: number;
  attempt?: number;
  outcome?: 'completed' | 'failed' | 'timed_out' | 'canceled';
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** Every activity the workflow scheduled (all runs of this id are not included: the current run only). */
export async function activityRuns(client: Client, workflowId: string): Promise<ActivityRun[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const byScheduled = new Map<string, ActivityRun>();
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      byScheduled.set(id, {
        activityType: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '',
        scheduledAtMs: ms(e.eventTime),
      });
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const run = byScheduled.get(String(started.scheduledEventId));
      if (run) Object.assign(run, { startedAtMs: ms(e.eventTime), attempt: started.attempt ?? 1 });
    }
    const ended =
      (e.activityTaskCompletedEventAttributes && { a: e.activityTaskCompletedEventAttributes, o: 'completed' }) ||
      (e.activityTaskFailedEventAttributes && { a: e.activityTaskFailedEventAttributes, o: 'failed' }) ||
      (e.activityTaskTimedOutEventAttributes && { a: e.activityTaskTimedOutEventAttributes, o: 'timed_out' }) ||
      (e.activityTaskCanceledEventAttributes && { a: e.activityTaskCanceledEventAttributes, o: 'canceled' });
    if (ended) {
      const run = byScheduled.get(String(ended.a.scheduledEventId));
      if (run) run.outcome = ended.o as ActivityRun['outcome'];
    }
  }
  return [...byScheduled.values()];
}

/**
 * Resolves once the workflow is idle: running, no activity pending, no workflow task pending,
 * seen twice in a row (so an activity that just completed has had its follow-up task processed).
 * Absence of effects is asserted only after this point.
 */
export async function waitIdle(client: Client, workflowId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietPolls = 0;
  let lastLength = -1;
  for (;;) {
    const d = await client.workflow.getHandle(workflowId).describe();
    const length = Number(d.raw.workflowExecutionInfo?.historyLength ?? 0);
    const busy = (d.raw.pendingActivities?.length ?? 0) > 0 || d.raw.pendingWorkflowTask != null;
    // Idle = nothing pending and the history did not grow between two looks.
    quietPolls = busy || length !== lastLength ? 0 : quietPolls + 1;
    lastLength = length;
    if (quietPolls >= 2) return;
    if (Date.now() > deadline) throw new Error(`${workflowId} did not become idle within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a payment lifecycle through the API and waits until its thread root is posted and the workflow is idle. */
export async function paymentWithRoot(
  h: ReturnType<typeof paymentsHarness>,
  client: Client,
  opts: { channel?: string; initiation?: Record<string, unknown> } = {},
) {
  const { orderId, paymentId } = h.ids();
  await h.expectAccepted(await h.initiate(h.initiation(orderId, opts.initiation)));
  await h.slack.waitFor(async () => (await h.roots(opts.channel ?? 'C0PAYMENTS', orderId))[0], 20_000);
  const workflowId = paymentWorkflowId(orderId);
  await waitIdle(client, workflowId);
  return { orderId, paymentId, workflowId };
}
