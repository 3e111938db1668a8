import { defaultPayloadConverter } from '@temporalio/common';
import { computeSlackSignature } from '../../src/integrations/slack/signature.js';
import type { Config } from '../../src/config.js';
import { decodedHistory } from './temporal.js';

/** A request signed like Slack signs it (v0), optionally with a chosen timestamp or secret. */
export function slackRequest(
  url: string,
  body: string,
  opts: { secret: string; contentType?: string; timestamp?: number; headers?: Record<string, string> },
) {
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': computeSlackSignature(opts.secret, ts, body),
      ...opts.headers,
    },
    body,
  });
}

/** Signals of a given name recorded in a workflow's history, with their first argument decoded (through the codec). */
export async function signalsIn(
  temporalAddress: string,
  workflowId: string,
  signalName: string,
  /** The stack's Temporal config when it sets its own THREADLINE_PAYLOAD_KEYS (default: the sandbox key). */
  t?: Config['temporal'],
): Promise<unknown[]> {
  const history = await decodedHistory(temporalAddress, workflowId, t);
  return (history.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((a) => a?.signalName === signalName)
    .map((a) => {
      const payload = a!.input?.payloads?.[0];
      return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
    });
}

/**
 * The Slack thread events a workflow's history holds, in order: each `slackThreadEvent` signal's
 * event and each event of a `slackThreadEvents` batch (the relay batches a thread's backlog).
 */
export async function threadEventsIn(
  temporalAddress: string,
  workflowId: string,
  t?: Config['temporal'],
): Promise<unknown[]> {
  const history = await decodedHistory(temporalAddress, workflowId, t);
  return (history.events ?? []).flatMap((e) => {
    const a = e.workflowExecutionSignaledEventAttributes;
    const payload = a?.input?.payloads?.[0];
    if (!payload) return [];
    if (a.signalName === 'slackThreadEvent') return [defaultPayloadConverter.fromPayload(payload)];
    if (a.signalName === 'slackThreadEvents') return defaultPayloadConverter.fromPayload<unknown[]>(payload);
    return [];
  });
}
