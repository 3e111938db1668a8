import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import { flowConfigOf, type AnyFlow, type ApiDeps } from '../platform/flow.js';
import { AppError } from '../platform/http/errors.js';
import { registerAckWindow, type AckWindowOptions } from '../platform/http/ack.js';
import type { Readiness } from './readiness.js';
import { auditRoutes } from '../platform/audit/api.js';
import { flagRoutes } from '../platform/flags/api.js';
import { codecRoutes } from './routes/codec.js';
import { consoleRoutes } from '../console/routes.js';
import { healthRoutes } from './routes/health.js';
import { slackRoutes } from '../platform/slack-ingress/routes.js';
import { createSlackIngress, type SlackIngress } from '../platform/slack-ingress/ingress.js';
import { slackOAuthRoutes } from '../platform/installations/oauth-routes.js';
import { systemRoutes } from './routes/system.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes received: signatures are computed over these, never over re-serialised JSON. */
    rawBody?: Buffer;
  }
  interface FastifyInstance {
    /** The Slack pipeline the HTTP routes and the Socket Mode transport share. */
    slackIngress: SlackIngress;
  }
}

export interface AppDeps extends ApiDeps {
  readiness: Readiness;
  /** The registry (src/flows/index.ts): each flow's routes are registered in its own plugin scope. */
  flows: readonly AnyFlow[];
  /** Webhook routes' request budget and watchdog (defaults: 2.5 s, just past Slack's 3 s). */
  ack?: AckWindowOptions;
}

/** Builds the HTTP app; never listens (main.ts and tests do). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Typed as Fastify's logger so the instance type stays the default one our route plugins expect.
  const logger: FastifyBaseLogger = deps.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: logger,
    // Per-request logs would dominate at webhook volume; metrics carry latency and status instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: true,
    return503OnClosing: true,
  });

  // Keep raw bytes for every body we parse (signature checks), then parse them ourselves so a
  // malformed body becomes a 400 that names the problem.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    if (body.length === 0) return done(null, undefined);
    try {
      // JSON text must be UTF-8 (RFC 8259): bytes that are not are refused, never silently
      // replaced by U+FFFD into what the caller meant (the BOM is kept, so JSON.parse refuses it).
      done(null, JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body)));
    } catch (err) {
      done(AppError.badRequest('invalid_json', `body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    done(null, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  });

  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpRequestDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // Routes declared `config: { ack: true }` (the webhooks) answer within one request budget.
  registerAckWindow(app, { metrics: deps.metrics, ...deps.ack });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` });
  });

  // The one error handler: AppError → its status/code; framework 4xx → 400-family with the
  // framework's message; anything else → 500 with a generic message (details only in logs).
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    countRejection(req, err);
    if (err instanceof AppError) {
      if (err.headers) void reply.headers(err.headers);
      if (err.statusCode >= 500) req.log.warn({ err, code: err.code }, 'request failed (unavailable)');
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.details ?? {}) });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_content_type' : 'bad_request';
      return reply.code(status === 415 ? 400 : status).send({ error: code, message: err.message });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: 'internal_error', message: 'internal error' });
  });

  /** A delivery to a webhook route refused with a 4xx, by the code answered (bounded: our own codes). */
  function countRejection(req: FastifyRequest, err: FastifyError | AppError): void {
    const status = err.statusCode ?? 500;
    if (status < 400 || status >= 500 || !(req.routeOptions.config as { ack?: boolean } | undefined)?.ack) return;
    const reason = err instanceof AppError ? err.code : status === 413 ? 'payload_too_large' : 'bad_request';
    deps.metrics.inboundRejected.inc({ route: req.routeOptions.url ?? 'unmatched', reason, status: String(status) });
  }

  await app.register(healthRoutes, deps);
  await app.register(systemRoutes, deps);
  await app.register(codecRoutes, deps);
  const slackIngress = createSlackIngress(deps);
  app.decorate('slackIngress', slackIngress);
  await app.register(slackRoutes, { ...deps, ingress: slackIngress });
  const installations = deps.repos.installations;
  if (deps.config.slack.oauth && installations) await app.register(slackOAuthRoutes, { ...deps, installations });
  await app.register(consoleRoutes, deps);
  await app.register(auditRoutes, deps);
  await app.register(flagRoutes, deps);
  const { readiness: _readiness, flows, ack: _ack, ...base } = deps;
  for (const flow of flows) {
    const api = await flow.api?.();
    if (!api) continue;
    const ctx = { ...base, flowConfig: flowConfigOf(deps.config, flow) };
    await app.register(async (scope) => api.routes(scope, ctx));
  }
  return app;
}
