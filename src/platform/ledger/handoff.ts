import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { InboundClaim, InboundEventsRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { AppError } from '../http/errors.js';
import { DeadlineExceededError, type RequestBudget } from '../http/budget.js';

export type HandOffOutcome = 'handed_off' | 'duplicate' | 'ignored';

/** How often a concurrent duplicate looks again at the delivery another request is handing off. */
const IN_FLIGHT_POLL_MS = 25;

/**
 * The durable core of every webhook route: claim the delivery in the `inbound_events` ledger,
 * make the ONE Temporal call (signal / signalWithStart / update), then mark it handed off.
 * - A repeat of a handed-off delivery is acknowledged without work (Slack retries, Razorpay
 *   at-least-once, Jira redeliveries).
 * - A repeat that arrives while the first is still being handed off waits for that outcome (the
 *   claim is a lease held until the first request's deadline) and is acknowledged as a duplicate,
 *   so concurrent deliveries make one Temporal call, not three.
 * - A repeat of a delivery that was claimed but never handed off (we failed, crashed or Temporal
 *   was down) is handed off again; workflows dedup by event id, so that cannot double an effect.
 * - Every step runs inside the request's budget. If Postgres or Temporal fails or is too slow, the
 *   caller answers 503 so the platform retries; the claim is released first, so the retry is
 *   handed off at once, and nothing was marked that did not happen.
 */
export async function handOff(
  deps: { inbound: InboundEventsRepo; metrics: Metrics },
  d: {
    source: string;
    eventId: string;
    type: string;
    rawBody: Buffer;
    subject: string;
    workflowId: string;
    /** The request's budget: the ledger statements and `send` share it. */
    budget: RequestBudget;
    /** The Slack installation the delivery came from (recorded in the ledger). */
    teamId?: string | undefined;
    /** The one Temporal call (give it `budget.deadline`). Return 'ignored' when there is nothing to deliver to (e.g. a closed lifecycle). */
    send: () => Promise<unknown>;
  },
): Promise<HandOffOutcome> {
  const count = (outcome: string) => deps.metrics.inboundEvents.inc({ source: d.source, type: d.type, outcome });
  const hash = createHash('sha256').update(d.rawBody).digest('hex');
  const lease = { token: randomUUID(), untilMs: d.budget.deadline };
  let claim: InboundClaim;
  for (;;) {
    try {
      claim = await deps.inbound.claim(d.source, d.eventId, hash, { lease, within: d.budget, teamId: d.teamId });
    } catch (err) {
      count('failed');
      if (err instanceof DeadlineExceededError)
        deps.metrics.ackBudgetExceeded.inc({ source: d.source, step: err.step });
      throw AppError.unavailable('storage_unavailable', `could not record the event: ${errMsg(err)}`);
    }
    if (claim !== 'in_flight') break;
    if (!(await d.budget.pause(IN_FLIGHT_POLL_MS))) {
      // The first request still holds it at our deadline: let the platform retry (it will find it done).
      count('failed');
      deps.metrics.ackBudgetExceeded.inc({ source: d.source, step: 'duplicate in flight' });
      throw AppError.unavailable('in_progress', 'the same delivery is being handed off by another request');
    }
  }
  if (claim === 'handed_off' || claim === 'ignored') {
    count('duplicate');
    return 'duplicate';
  }
  let sent: unknown;
  try {
    sent = await d.send();
  } catch (err) {
    count('failed');
    if (err instanceof DeadlineExceededError || isDeadlineExceeded(err)) {
      deps.metrics.ackBudgetExceeded.inc({ source: d.source, step: 'temporal' });
    }
    // Free the claim for the platform's retry (best effort: it also expires at our deadline).
    await deps.inbound.release(d.source, d.eventId, lease.token, d.budget).catch(() => undefined);
    throw AppError.unavailable('temporal_unavailable', `could not hand the event to its workflow: ${errMsg(err)}`);
  }
  if (sent === 'ignored') {
    await deps.inbound.markIgnored(d.source, d.eventId, d.budget).catch(() => undefined);
    count('ignored');
    return 'ignored';
  }
  try {
    await deps.inbound.markHandedOff(d.source, d.eventId, d.subject, d.workflowId, d.budget);
  } catch {
    // The workflow has it (and dedups by event id); a retry will re-send harmlessly. Still ack.
  }
  count('handed_off');
  return 'handed_off';
}

/**
 * A Temporal call inside the request's budget: the gRPC deadline tells the server and the client's
 * own retries when to stop, and the budget cuts the wait at the deadline itself (the client's
 * connect and retry back-off can overrun a gRPC deadline by a second or more).
 */
export function temporalWithin<T>(temporal: Client, budget: RequestBudget, fn: () => Promise<T>): Promise<T> {
  return budget.within('temporal', temporal.withDeadline(budget.deadline, fn));
}

/** gRPC DEADLINE_EXCEEDED (code 4), as the Temporal client surfaces it when `withDeadline` runs out. */
export function isDeadlineExceeded(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (x.code === 4 || (typeof x.message === 'string' && /DEADLINE_EXCEEDED|Deadline exceeded/i.test(x.message))) {
      return true;
    }
    e = x.cause;
  }
  return false;
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
}
