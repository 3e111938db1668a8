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
