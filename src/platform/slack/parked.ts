import type { Config } from '../config/index.js';
import type { Pool } from '../db/pool.js';
import { slackMessagesRepo, type ParkedCallResealer } from '../db/repositories.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createCallSealer, type CallSealer } from '../relay/call.js';

/**
 * Thread events parked until their root is recorded (migration 081): the ingress seals the call
 * before the owning workflow is known, bound to this source so the relay could never open it as a
 * delivery of its own; the worker's poster reseals it for the owner when it records the root.
 */
export const parkedSource = (source: string): string => `${source}:parked`;

/** The workflow a parked call names until its thread's owner is known (never a real workflow id). */
export const UNKNOWN_WORKFLOW = 'parked:unknown';

/**
 * The resealer the worker's `slackMessagesRepo` releases parked events with: opens the parked call
 * with the payload keys and seals it again, for the delivery itself, naming the thread's owner.
 * A call it cannot open (a key retired since) is `undefined`: that event is dropped and counted.
 */
export function parkedCallResealer(sealer: CallSealer): ParkedCallResealer {
  return async (e, workflowId) => {
    let parked;
    try {
      parked = await sealer.open(parkedSource(e.source), e.eventId, e.call);
    } catch {
      return undefined;
    }
    if (parked.call.kind !== 'signal') return undefined;
    return sealer.seal(e.source, e.eventId, { ...parked, call: { ...parked.call, workflowId } });
  };
}

/**
 * The worker's `slack_messages` repository: recording a post releases its thread's parked events
 * into the outbox in the same transaction (counted in `threadline_slack_parked_events_total`; a
 * call no key opens any more is dropped loudly).
 */
export function releasingSlackMessagesRepo(deps: {
  pool: Pool;
  config: Pick<Config, 'temporal'>;
  metrics: Metrics;
  logger: Pick<Logger, 'error'>;
}) {
  return slackMessagesRepo(deps.pool, {
    release: parkedCallResealer(createCallSealer(deps.config.temporal)),
    onReleased: ({ released, unreadable }) => {
      if (released > 0) deps.metrics.slackParkedEvents.inc({ outcome: 'released' }, released);
      if (unreadable > 0) {
        deps.metrics.slackParkedEvents.inc({ outcome: 'unreadable' }, unreadable);
        deps.logger.error(
          { unreadable },
          'parked thread events could not be opened with the payload keys (a retired key?): dropped',
        );
      }
    },
  });
}
