import { createHash } from 'node:crypto';
import type { InboundEventsRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { AppError } from '../http/errors.js';
import { DeadlineExceededError, type RequestBudget } from '../http/budget.js';
import { createCallSealer, relayLane, type CallSealer, type RelayCall } from '../relay/call.js';
import type { Config } from '../config/index.js';

/** What the ack path needs to record a delivery: the ledger, the call sealer and this deployment's relay lane. */
export interface OutboxDeps {
  inbound: InboundEventsRepo;
  metrics: Metrics;
  sealer: CallSealer;
  lane: string;
}

/**
 * The outbox a route records into: this deployment's ledger, metrics, call sealer and relay lane
 * (the Slack ingress and every flow's webhook route build theirs with it from their API deps).
 */
export function outboxFor(deps: {
  config: Config;
  metrics: Metrics;
  repos: { inbound: InboundEventsRepo };
}): OutboxDeps {
  return {
    inbound: deps.repos.inbound,
    metrics: deps.metrics,
    sealer: createCallSealer(deps.config.temporal),
    lane: relayLane(deps.config.temporal),
  };
}

/**
 * The durable ack: records the delivery in the `inbound_events` ledger together with the Temporal
 * call that hands it off (sealed), in ONE statement, and returns; a relay makes the call
 * (`platform/relay`). So Temporal being slow or down never fails a delivery: once this returns the
 * delivery survives a crash, and the relay retries until Temporal takes it.
 * - 'queued': recorded (first sight, or a delivery an earlier request claimed but never handed off).
 * - 'duplicate': a repeat (Slack's retries, at-least-once webhooks): acknowledged without work.
 * Postgres failing or slower than the request budget → 503 (`storage_unavailable`) so the platform
 * retries; nothing was recorded that the retry will not find.
 */
export async function recordDelivery(
  deps: OutboxDeps,
  d: {
    source: string;
    eventId: string;
    /** The metric label of the delivery (kept with the call, so the relay counts its outcome under it too). */
    type: string;
    rawBody: Buffer;
    /** What the relay orders by: deliveries for one subject are handed off in the order recorded. */
    subject: string;
    budget: RequestBudget;
    /** The Slack installation the delivery came from (recorded in the ledger). */
    teamId?: string | undefined;
    call: RelayCall;
  },
): Promise<'queued' | 'duplicate'> {
  const count = (outcome: string) => deps.metrics.inboundEvents.inc({ source: d.source, type: d.type, outcome });
  let outcome: 'queued' | 'duplicate';
  try {
    const sealed = await deps.sealer.seal(d.source, d.eventId, { call: d.call, type: d.type });
    outcome = await deps.inbound.record(
      {
        source: d.source,
        eventId: d.eventId,
        payloadHash: createHash('sha256').update(d.rawBody).digest('hex'),
        subject: d.subject,
        workflowId: d.call.workflowId,
        teamId: d.teamId,
        lane: deps.lane,
        call: sealed,
      },
      d.budget,
    );
  } catch (err) {
    count('failed');
    if (err instanceof DeadlineExceededError) deps.metrics.ackBudgetExceeded.inc({ source: d.source, step: err.step });
    throw AppError.unavailable(
      'storage_unavailable',
      `could not record the event: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`,
    );
  }
  count(outcome);
  return outcome;
}
