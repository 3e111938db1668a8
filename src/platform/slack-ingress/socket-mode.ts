import { SocketModeClient } from '@slack/socket-mode';
import { sdkLogger } from '../../integrations/slack/client.js';
import { DEFAULT_ACK_BUDGET_MS } from '../http/ack.js';
import { createBudget } from '../http/budget.js';
import { AppError } from '../http/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { IngressAnswer, SlackIngress } from './ingress.js';

/** Socket Mode envelope types the ingress handles (Slack's names). */
const ENVELOPE_TYPES = new Set(['events_api', 'interactive', 'slash_commands']);
/** Reasons Slack documents for a `disconnect` frame; anything else is counted as `other`. */
const DISCONNECT_REASONS = new Set(['warning', 'refresh_requested', 'link_disabled', 'too_many_websockets']);

interface SlackEventArgs {
  ack: (response?: Record<string, unknown>) => Promise<void>;
  envelope_id: string;
  type: string;
  body: unknown;
  retry_num?: number;
  retry_reason?: string;
}

export interface SocketModeTransport {
  /** Resolves once the first connection said hello. */
  started: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Socket Mode as a second transport into the same pipeline as HTTP (`createSlackIngress`):
 * classify → dedup in the ledger → one hand-off → ack. The envelope is acknowledged only after
 * the durable hand-off (the ack carries the answer: a command's reply, a modal's field errors);
 * when the hand-off fails (Postgres or Temporal down or too slow) it is not acknowledged, so Slack
 * delivers the event again (as a new envelope with the same `event_id`, which the ledger
 * recognises: it is handed off once). Refused envelopes (malformed) are acknowledged, as HTTP
 * answers them 4xx with `X-Slack-No-Retry`.
 *
 * Connections come and go by design: `@slack/socket-mode` reconnects on `refresh_requested`,
 * `warning`, `link_disabled` and dropped sockets; each is counted
 * (`threadline_socket_mode_connection_events_total`), as is every envelope's outcome.
 */
export function startSocketMode(opts: {
  appToken: string;
  apiUrl: string;
  ingress: SlackIngress;
  metrics: Metrics;
  logger: Logger;
  /** How long the client waits for a pong before it reconnects (Slack's SDK default: 5 s). */
  clientPingTimeoutMs?: number;
}): SocketModeTransport {
  const log = opts.logger.child({ component: 'socket-mode' });
  const client = new SocketModeClient({
    appToken: opts.appToken,
    logger: sdkLogger(log),
    clientOptions: { slackApiUrl: opts.apiUrl, retryConfig: { retries: 0 }, timeout: 10_000 },
    ...(opts.clientPingTimeoutMs ? { clientPingTimeout: opts.clientPingTimeoutMs } : {}),
  });
  const connection = (event: string, reason = '') => opts.metrics.socketModeConnections.inc({ event, reason });
  const envelope = (type: string, outcome: string) => opts.metrics.socketModeEnvelopes.inc({ type, outcome });

  client.on('connected', () => connection('connected'));
  client.on('reconnecting', () => connection('reconnecting'));
  client.on('disconnected', () => connection('disconnected'));
  client.on('error', (err: unknown) => {
    connection('error');
    log.warn({ error: err instanceof Error ? err.name : 'unknown' }, 'Socket Mode connection error');
  });
  // Disconnect frames, by reason (the client reconnects by itself).
  client.on('ws_message', (data: unknown) => {
    try {
      const msg = JSON.parse(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer).toString('utf8')) as {
        type?: string;
        reason?: string;
      };
      if (msg.type === 'disconnect') {
        const reason = DISCONNECT_REASONS.has(msg.reason ?? '') ? msg.reason! : 'other';
        connection('disconnect_requested', reason);
        log.info({ reason }, 'Slack asked this Socket Mode connection to reconnect');
      }
    } catch {
      // Not JSON: the client ignores it too.
    }
  });

  client.on('slack_event', (args: SlackEventArgs) => {
    if (!ENVELOPE_TYPES.has(args.type)) return;
    void handle(args);
  });

  async function handle(args: SlackEventArgs): Promise<void> {
    const budget = createBudget(DEFAULT_ACK_BUDGET_MS);
    if (args.retry_num !== undefined && args.retry_num > 0) {
      opts.metrics.slackRetries.inc({
        reason: args.retry_reason ?? 'unknown_error',
        num: /^[1-9]$/.test(String(args.retry_num)) ? String(args.retry_num) : 'other',
      });
    }
    let answer: IngressAnswer;
    try {
      const raw = Buffer.from(JSON.stringify(args.body ?? null));
      const input = { raw, budget, log };
      answer =
        args.type === 'events_api'
          ? await opts.ingress.event({ ...input, body: args.body })
          : args.type === 'interactive'
            ? await opts.ingress.interaction({ ...input, payload: args.body })
            : await opts.ingress.command({ ...input, fields: commandFields(args.body) });
    } catch (err) {
      if (err instanceof AppError && err.statusCode < 500) {
        // Refused for good (malformed): acknowledge so Slack does not send it again.
        envelope(args.type, 'refused');
        await ack(args, undefined);
        return;
      }
      // Not handed off: leave it unacknowledged so Slack redelivers (events); the ledger
      // recognises the redelivery and hands it off once.
      envelope(args.type, 'not_acked');
      log.warn(
        { type: args.type, error: err instanceof AppError ? err.code : 'unexpected' },
        'a Socket Mode envelope was not handed off; leaving it for Slack to redeliver',
      );
      return;
    }
    await ack(args, answer.body as Record<string, unknown> | undefined);
  }

  async function ack(args: SlackEventArgs, body: Record<string, unknown> | undefined): Promise<void> {
    try {
      await args.ack(body);
      envelope(args.type, 'acked');
    } catch (err) {
      // The connection went away between hand-off and ack: Slack redelivers, the ledger dedups.
      envelope(args.type, 'ack_failed');
      log.warn({ type: args.type, error: err instanceof Error ? err.name : 'unknown' }, 'could not ack an envelope');
    }
  }

  const started = client.start().then(() => undefined);
  started.catch((err: unknown) =>
    log.error({ error: err instanceof Error ? err.message.slice(0, 200) : 'unknown' }, 'Socket Mode could not start'),
  );
  return {
    started,
    async stop() {
      await client.disconnect();
    },
  };
}

/** A slash command's fields, as the command schema expects them (strings). */
function commandFields(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}
