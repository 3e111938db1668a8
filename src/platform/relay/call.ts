import { z } from 'zod';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { Config } from '../config/index.js';
import { createTokenCipher } from '../installations/token-cipher.js';

/**
 * The Temporal call that hands a recorded delivery to its workflow, as data: the ack path writes
 * it into `inbound_events` with the delivery, and a relay makes it later (`src/platform/relay`).
 * Only JSON goes in here (what Temporal's JSON payload converter would send anyway).
 * - `signal`: a running lifecycle; none running (it ended) → the delivery is marked ignored. With
 *   `batchSignal`, the relay may send this call together with the same subject's next queued calls
 *   to the same workflow and batch signal as ONE signal, `batchSignal`, whose single argument is
 *   the list of their single arguments, oldest first (a backlog costs Temporal one signal and one
 *   workflow task, not one per delivery). The workflow handles `batchSignal` as that many `signal`s.
 * - `signalWithStart`: starts the lifecycle if it is not running, then signals it.
 */
export const relayCallSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('signal'),
    workflowId: z.string().min(1),
    signal: z.string().min(1),
    args: z.array(z.unknown()),
    batchSignal: z.string().min(1).optional(),
  }),
  z.object({
    kind: z.literal('signalWithStart'),
    workflowId: z.string().min(1),
    workflowType: z.string().min(1),
    taskQueue: z.string().min(1),
    args: z.array(z.unknown()),
    signal: z.string().min(1),
    signalArgs: z.array(z.unknown()),
    workflowIdReusePolicy: z.enum(['ALLOW_DUPLICATE', 'ALLOW_DUPLICATE_FAILED_ONLY', 'REJECT_DUPLICATE']).optional(),
    /** The started run's workflow-task timeout (a duration string or ms), when its flow sets one. */
    workflowTaskTimeout: z.union([z.string().min(1), z.number().int().positive()]).optional(),
  }),
]);
export type RelayCall = z.infer<typeof relayCallSchema>;

/** What one recorded delivery carries besides its call: the metric labels the relay counts with. */
export interface RelayEnvelope {
  call: RelayCall;
  /** The delivery's type label (`threadline_inbound_events_total{type}`). */
  type: string;
}
const envelopeSchema = z.object({ call: relayCallSchema, type: z.string() });

/** A call as stored: the key that sealed it and the sealed bytes. */
export interface SealedCall {
  keyId: string;
  sealed: Buffer;
}

/**
 * Which relays may send a row: those of API processes on the same Temporal namespace and task
 * queue (every replica of one deployment). Another deployment sharing the database (or a test
 * stack on its own Temporal server) leaves the row alone.
 */
export function relayLane(t: Pick<Config['temporal'], 'namespace' | 'taskQueue'>): string {
  return `${t.namespace}/${t.taskQueue}`;
}

/**
 * Seals calls at rest with the payload keys (`THREADLINE_PAYLOAD_KEYS`, the same envelope as
 * Temporal payloads and Slack tokens): a call holds what the signal holds (people's text, a
 * `response_url`), which is never stored in plaintext. Each call is bound to its delivery
 * (`<source> <event id>`), so a sealed call copied into another row fails to open.
 */
export function createCallSealer(t: Pick<Config['temporal'], 'payloadKeys'>) {
  const cipher = createTokenCipher({ keys: t.payloadKeys });
  const bound = (source: string, eventId: string) => `inbound:${source} ${eventId}`;
  return {
    seal: (source: string, eventId: string, e: RelayEnvelope): Promise<SealedCall> =>
      cipher.seal(JSON.stringify(e), bound(source, eventId)),
    /** Throws on a wrong key, a row it was not sealed for, or a call that does not fit the schema. */
    async open(source: string, eventId: string, s: SealedCall): Promise<RelayEnvelope> {
      return envelopeSchema.parse(JSON.parse(await cipher.open(s, bound(source, eventId))));
    },
  };
}
export type CallSealer = ReturnType<typeof createCallSealer>;

/** Makes the call. 'ignored': there is no running workflow for a plain signal (the lifecycle ended). */
export async function makeCall(temporal: Client, call: RelayCall): Promise<'handed_off' | 'ignored'> {
  if (call.kind === 'signal') {
    try {
      await temporal.workflow.getHandle(call.workflowId).signal(call.signal, ...call.args);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'ignored';
      throw err;
    }
    return 'handed_off';
  }
  await temporal.workflow.signalWithStart(call.workflowType, {
    workflowId: call.workflowId,
    taskQueue: call.taskQueue,
    args: call.args,
    signal: call.signal,
    signalArgs: call.signalArgs,
    ...(call.workflowIdReusePolicy ? { workflowIdReusePolicy: call.workflowIdReusePolicy } : {}),
    // The schema holds any string; Temporal's client parses it (a bad one fails the call, loudly).
    ...(call.workflowTaskTimeout !== undefined ? { workflowTaskTimeout: call.workflowTaskTimeout as Duration } : {}),
  });
  return 'handed_off';
}
