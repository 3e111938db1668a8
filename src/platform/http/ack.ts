import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import { createBudget, type RequestBudget } from './budget.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route answers a platform that waits at most a few seconds (Slack: 3 s): give it a budget and a watchdog. */
    ack?: boolean;
  }
  interface FastifyRequest {
    /** Set on `ack` routes: what every dependency call on the request's path may still spend. */
    budget?: RequestBudget;
  }
}

/** Slack's ack window: a delivery not answered within it has failed (and an event is retried). */
export const SLACK_ACK_WINDOW_MS = 3_000;
/** What the app itself may spend, leaving room for the network on both sides. */
export const DEFAULT_ACK_BUDGET_MS = 2_500;

export interface AckWindowOptions {
  /** Time from receipt within which the route answers 200 or 503 (default 2.5 s). */
  budgetMs?: number;
  /** When the watchdog counts, logs and answers a request still unanswered (default: just past 3 s, as bolt-js does). */
  watchdogMs?: number;
}

/**
 * Every `ack` route gets a request budget from the moment its headers arrive (body reading counts)
 * and a watchdog, after bolt-js's HTTPReceiver: a request still unanswered after the ack window is
 * counted (`threadline_unacked_requests_total`), logged as an error, and answered 503 so a
 * platform that is still waiting retries. With the budget working it never fires; when it does,
 * something on the path ignores its deadline.
 */
export function registerAckWindow(app: FastifyInstance, deps: { metrics: Metrics } & AckWindowOptions): void {
  const budgetMs = deps.budgetMs ?? DEFAULT_ACK_BUDGET_MS;
  const watchdogMs = deps.watchdogMs ?? SLACK_ACK_WINDOW_MS + 1;
  const watchdogs = new WeakMap<FastifyRequest, NodeJS.Timeout>();

  app.addHook('onRequest', async (req, reply) => {
    if (!req.routeOptions.config.ack) return;
    req.budget = createBudget(budgetMs);
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      const route = req.routeOptions.url ?? 'unmatched';
      deps.metrics.unackedRequests.inc({ route });
      req.log.error({ route, afterMs: watchdogMs }, 'webhook not answered within the ack window; answering 503');
      void reply.code(503).send({ error: 'ack_timeout', message: 'the request could not be answered in time' });
    }, watchdogMs);
    watchdogs.set(req, timer);
  });
  const stop = async (req: FastifyRequest) => clearTimeout(watchdogs.get(req));
  app.addHook('onResponse', stop);
  app.addHook('onRequestAbort', stop);
}

/** The request's budget (a fresh default one if the route was registered without `ack`). */
export function budgetOf(req: FastifyRequest): RequestBudget {
  req.budget ??= createBudget(DEFAULT_ACK_BUDGET_MS);
  return req.budget;
}
