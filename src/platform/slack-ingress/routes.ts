import type { FastifyInstance, FastifyRequest } from 'fastify';
import { verifySlackSignatureRotating, type SigningSecret } from '../../integrations/slack/signature.js';
import { AppError } from '../http/errors.js';
import { budgetOf } from '../http/ack.js';
import { createSlackIngress, type SlackIngress, type SlackIngressDeps } from './ingress.js';

export type { SlackIngressDeps } from './ingress.js';
export { helpText } from './ingress.js';

/** `x-slack-retry-reason` values Slack documents; anything else is counted as `other`. */
const RETRY_REASONS = new Set([
  'http_timeout',
  'too_many_redirects',
  'connection_failed',
  'ssl_error',
  'http_error',
  'unknown_error',
]);
const ACK = { config: { ack: true } } as const;
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * The Slack front door over HTTP: verify the signature on the raw bytes → parse → the shared
 * pipeline (`createSlackIngress`: validate → dedup → one hand-off) → ack. Every Postgres and
 * Temporal call of a request shares its budget (`req.budget`, 2.5 s), so Slack gets a 200 or a
 * 503 inside its 3 s, never a late 200. 4xx answers carry `X-Slack-No-Retry: 1` (a retry of a
 * request we refused cannot fare better); 5xx answers never do. During a signing-secret
 * rotation both secrets verify until the overlap window ends (`SLACK_SIGNING_SECRET_PREVIOUS_UNTIL`).
 */
export async function slackRoutes(
  app: FastifyInstance,
  deps: SlackIngressDeps & { ingress?: SlackIngress },
): Promise<void> {
  const ingress = deps.ingress ?? createSlackIngress(deps);
  // Signatures are over the exact bytes: take every body raw, verify, and only then parse.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    done(null, body);
  });

  const now = deps.now ?? Date.now;
  const metric = (type: string, outcome: string) => deps.metrics.inboundEvents.inc({ source: 'slack', type, outcome });
  const secrets: SigningSecret[] = [
    { secret: deps.config.slack.signingSecret },
    ...(deps.config.slack.previousSigningSecret
      ? [
          {
            secret: deps.config.slack.previousSigningSecret.secret,
            untilMs: deps.config.slack.previousSigningSecret.untilMs,
          },
        ]
      : []),
  ];

  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode >= 400 && reply.statusCode < 500) void reply.header('x-slack-no-retry', '1');
    return payload;
  });

  /** Counts Slack's redeliveries (signed ones only, with bounded label values). */
  function countRetry(req: FastifyRequest): void {
    const num = header(req, 'x-slack-retry-num');
    if (num === undefined) return;
    const reason = header(req, 'x-slack-retry-reason') ?? 'unknown_error';
    deps.metrics.slackRetries.inc({
      reason: RETRY_REASONS.has(reason) ? reason : 'other',
      num: /^[1-9]$/.test(num) ? num : 'other',
    });
  }

  function verify(req: FastifyRequest, kind: string): Buffer {
    const raw = req.rawBody ?? Buffer.alloc(0);
    const res = verifySlackSignatureRotating({
      secrets,
      timestamp: header(req, 'x-slack-request-timestamp'),
      signature: header(req, 'x-slack-signature'),
      rawBody: raw,
      nowSeconds: Math.floor(now() / 1000),
    });
    if (!res.ok) {
      metric(kind, 'rejected');
      throw AppError.unauthorized(res.reason, `Slack request verification failed: ${res.reason}`);
    }
    // Still signed with the old secret: the rotation is not finished on Slack's side yet.
    if (res.which === 1) metric(kind, 'previous_signing_secret');
    countRetry(req);
    return raw;
  }

  function requireType(req: FastifyRequest, expected: string): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== expected) {
      throw AppError.badRequest('unsupported_content_type', `content-type must be ${expected} (got ${type || 'none'})`);
    }
  }

  app.post('/slack/events', ACK, async (req, reply) => {
    const raw = verify(req, 'event');
    requireType(req, JSON_TYPE);
    const answer = await ingress.event({
      raw,
      body: parseJson(raw.toString('utf8'), 'body'),
      budget: budgetOf(req),
      log: req.log,
    });
    return reply.send(answer.body);
  });

  app.post('/slack/interactions', ACK, async (req, reply) => {
    const raw = verify(req, 'interaction');
    requireType(req, FORM_TYPE);
    const payloadText = new URLSearchParams(raw.toString('utf8')).get('payload');
    if (!payloadText) throw AppError.badRequest('missing_payload', 'form field "payload" is required');
    const answer = await ingress.interaction({
      raw,
      payload: parseJson(payloadText, 'payload'),
      budget: budgetOf(req),
      log: req.log,
    });
    return reply.send(answer.body);
  });

  app.post('/slack/commands', ACK, async (req, reply) => {
    // Slack probes the URL with ssl_check=1; it has no effect, so answer before verification.
    if (req.rawBody && new URLSearchParams(req.rawBody.toString('utf8')).get('ssl_check') === '1') return reply.send();
    const raw = verify(req, 'command');
    requireType(req, FORM_TYPE);
    const answer = await ingress.command({
      raw,
      fields: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))),
      budget: budgetOf(req),
      log: req.log,
    });
    return reply.send(answer.body);
  });
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw AppError.badRequest('invalid_json', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}
