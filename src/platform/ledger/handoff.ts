import { createHash } from 'node:crypto';
import type { InboundEventsRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { AppError } from '../http/errors.js';

export type HandOffOutcome = 'handed_off' | 'duplicate' | 'ignored';

/**
 * The durable core of every webhook route: claim the delivery in the `inbound_events` ledger,
 * make the ONE Temporal call (signal / signalWithStart / update), then mark it handed off.
 * - A repeat of a handed-off delivery is acknowledged without work (Slack retries, Razorpay
 *   at-least-once, Jira redeliveries).
 * - A repeat of a delivery that was claimed but never handed off (we crashed or Temporal was down)
 *   is handed off again; workflows dedup by event id, so that cannot double an effect.
 * - If Postgres or Temporal fails, the caller answers 5xx so the platform retries; nothing was acked.
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
    /** The one Temporal call. Return 'ignored' when there is nothing to deliver to (e.g. a closed lifecycle). */
    send: () => Promise<unknown>;
  },
): Promise<HandOffOutcome> {
  const hash = createHash('sha256').update(d.rawBody).digest('hex');
  let claim;
  try {
    claim = await deps.inbound.claim(d.source, d.eventId, hash);
  } catch (err) {
    deps.metrics.inboundEvents.inc({ source: d.source, type: d.type, outcome: 'failed' });
    throw AppError.unavailable('storage_unavailable', `could not record the event: ${errMsg(err)}`);
  }
  if (claim === 'handed_off' || claim === 'ignored') {
    deps.metrics.inboundEvents.inc({ source: d.source, type: d.type, outcome: 'duplicate' });
    return 'duplicate';
  }
  let sent: unknown;
  try {
    sent = await d.send();
  } catch (err) {
    deps.metrics.inboundEvents.inc({ source: d.source, type: d.type, outcome: 'failed' });
    throw AppError.unavailable('temporal_unavailable', `could not hand the event to its workflow: ${errMsg(err)}`);
  }
  if (sent === 'ignored') {
    await deps.inbound.markIgnored(d.source, d.eventId).catch(() => undefined);
    deps.metrics.inboundEvents.inc({ source: d.source, type: d.type, outcome: 'ignored' });
    return 'ignored';
  }
  try {
    await deps.inbound.markHandedOff(d.source, d.eventId, d.subject, d.workflowId);
  } catch {
    // The workflow has it (and dedups by event id); a retry will re-send harmlessly. Still ack.
  }
  deps.metrics.inboundEvents.inc({ source: d.source, type: d.type, outcome: 'handed_off' });
  return 'handed_off';
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
}
