import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../platform/flow.js';
import { describeZodIssues } from '../platform/http/errors.js';
import type { Html } from './html.js';
import { auditCsv, auditFilter, consoleAudit } from './audit.js';
import { lifecycleFilter, lifecycles } from './lifecycles.js';
import {
  failuresPage,
  flagsPage,
  installationsPage,
  lifecyclePage,
  listPage,
  loginPage,
  schedulesPage,
} from './pages.js';
import { consoleSettings } from './settings.js';
import { retryability, retryRequestAudit, retryDelivery, type RetryAnswer } from './retry.js';
import { consoleSessions, loginThrottle, SESSION_COOKIE, SESSION_TTL_MS, type ConsoleSession } from './session.js';
import { CONSOLE_CSS } from './style.js';

/** Our own stylesheet only: no script at all, no inline styles, forms post back here and nowhere else. */
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A lifecycle's subject is its workflow id: `payment:order_1`, `ticket:OPS-7`. */
const SUBJECT = /^[\w:.-]{1,200}$/;
const UNAVAILABLE = 'Temporal or Postgres did not answer; try again in a moment.';

const loginBody = z.object({
  apiKey: z.string().min(1, 'enter an API key').max(512, 'too long for an API key'),
  next: z.string().optional(),
});

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function send(reply: FastifyReply, page: Html, status = 200): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .send(page.value);
}

/** Only a path inside the console may be a post-login destination (no open redirect). */
const safeNext = (next: string | undefined) =>
  next && /^\/console(?:[/?][^\s\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/console';

/**
 * A form post from another site is refused before anything else: the browser's Origin (or
 * Sec-Fetch-Site) must say it came from this console. The SameSite=Strict cookie and the form
 * token are the other two locks.
 */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin) return origin === `${req.protocol}://${req.host}`;
  return req.headers['sec-fetch-site'] !== 'cross-site' && req.headers['sec-fetch-site'] !== 'same-site';
}

/**
 * The operator console at /console: an API key exchanged for an HTTP-only, SameSite=Strict
 * session cookie, then the lifecycles (Temporal visibility, this app's task queue) by kind,
 * status and subject, each with its Slack thread and its workflow in the Temporal UI; one
 * lifecycle's audit trail (filtered, CSV); the failed deliveries of every lifecycle.
 * Server-rendered HTML with no script; nothing on any page is a secret. Logging out clears the
 * cookie; a copied cookie stays valid until it expires (sessions are not stored anywhere).
 */
export async function consoleRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const sessions = consoleSessions(deps.config.apiKeys, deps.now);
  const throttle = loginThrottle(deps.now);
  const reads = lifecycles(deps);
  const audit = consoleAudit({ pool: deps.pool, bySubject: (s) => deps.repos.audit.bySubject(s) });
  const log = deps.logger.child({ component: 'console' });

  const setCookie = (req: FastifyRequest, reply: FastifyReply, value: string, maxAgeS: number) =>
    reply.header(
      'set-cookie',
      `${SESSION_COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}` +
        (req.protocol === 'https' ? '; Secure' : ''),
    );
  const sessionOf = (req: FastifyRequest): ConsoleSession | undefined =>
    sessions.verify(cookieValue(req.headers.cookie, SESSION_COOKIE));

  app.get('/console/style.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_CSS),
  );

  app.get('/console/login', async (req, reply) => {
    const next = (req.query as { next?: string }).next;
    if (sessionOf(req)) return reply.redirect(safeNext(next), 303);
    return send(reply, loginPage({ next: next ? safeNext(next) : undefined }));
  });

  app.post('/console/login', async (req, reply) => {
    if (!sameOrigin(req))
      return send(reply, loginPage({ error: 'Refused: this form was sent from another site.' }), 403);
    const parsed = loginBody.safeParse(req.body ?? {});
    if (!parsed.success)
      return send(reply, loginPage({ error: `Cannot log in: ${describeZodIssues(parsed.error.issues)}.` }), 400);
    const wait = throttle.blockedFor(req.ip);
    if (wait > 0) {
      const minutes = Math.ceil(wait / 60_000);
      log.warn('console login refused: too many failed logins from this client');
      void reply.header('retry-after', String(Math.ceil(wait / 1000)));
      const error = `Too many failed logins from here: try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      return send(reply, loginPage({ error }), 429);
    }
    const key = sessions.keyMatching(parsed.data.apiKey);
    if (!key) {
      throttle.failed(req.ip);
      log.warn('console login refused: not a configured API key');
      return send(reply, loginPage({ error: 'That API key is not valid.', next: parsed.data.next }), 401);
    }
    const { session, cookie } = sessions.open(key);
    log.info({ key: session.keyFingerprint }, 'console login');
    setCookie(req, reply, cookie, SESSION_TTL_MS / 1000);
    return reply.redirect(safeNext(parsed.data.next), 303);
  });

  app.post('/console/logout', async (req, reply) => {
    const session = sessionOf(req);
    const token = (req.body as { _csrf?: unknown } | undefined)?._csrf;
    if (!sameOrigin(req) || !session || !sessions.csrfValid(session, token))
      return reply.code(403).type('text/plain; charset=utf-8').send('Refused: missing or stale form token.');
    setCookie(req, reply, '', 0);
    return reply.redirect('/console/login', 303);
  });

  app.get('/console', async (req, reply) => {
    const session = sessionOf(req);
    if (!session) return reply.redirect(`/console/login?next=${encodeURIComponent(req.url)}`, 303);
    const parsed = lifecycleFilter.safeParse(req.query ?? {});
    if (!parsed.success) {
      const error = `Cannot search: ${describeZodIssues(parsed.error.issues)}.`;
      return send(reply, listPage({ csrf: session.csrf, filter: {}, rows: [], error }), 400);
    }
    try {
      return send(reply, listPage({ csrf: session.csrf, filter: parsed.data, rows: await reads.list(parsed.data) }));
    } catch (err) {
      log.warn({ err }, 'console: lifecycles unavailable');
      const error = UNAVAILABLE;
      return send(reply, listPage({ csrf: session.csrf, filter: parsed.data, rows: [], error }), 503);
    }
  });

  /** Behind the login: answers the session, or redirects to the login page and answers undefined. */
  const requireSession = (req: FastifyRequest, reply: FastifyReply): ConsoleSession | undefined => {
    const session = sessionOf(req);
    if (!session) void reply.redirect(`/console/login?next=${encodeURIComponent(req.url)}`, 303);
    return session;
  };
  const notFound = (reply: FastifyReply, what: string) =>
    reply.code(404).type('text/plain; charset=utf-8').send(`No lifecycle ${what}.`);

  app.get<{ Params: { subject: string } }>('/console/lifecycles/:subject', async (req, reply) => {
    const session = requireSession(req, reply);
    if (!session) return reply;
    const { subject } = req.params;
    if (!SUBJECT.test(subject)) return notFound(reply, 'with that subject');
    const parsed = auditFilter.safeParse(req.query ?? {});
    const lifecycle = await reads.get(subject).catch((err: unknown) => {
      log.warn({ err }, 'console: lifecycle unavailable');
      return null;
    });
    if (lifecycle === undefined) return notFound(reply, subject);
    if (lifecycle === null)
      return send(reply, listPage({ csrf: session.csrf, filter: {}, rows: [], error: UNAVAILABLE }), 503);
    if (!parsed.success) {
      const error = `Cannot filter: ${describeZodIssues(parsed.error.issues)}.`;
      return send(reply, lifecyclePage({ csrf: session.csrf, lifecycle, filter: {}, trail: [], error }), 400);
    }
    const trail = await audit.trail(subject, parsed.data);
    return send(reply, lifecyclePage({ csrf: session.csrf, lifecycle, filter: parsed.data, trail }));
  });

  app.get<{ Params: { subject: string } }>('/console/lifecycles/:subject/audit.csv', async (req, reply) => {
    if (!requireSession(req, reply)) return reply;
    const { subject } = req.params;
    if (!SUBJECT.test(subject)) return notFound(reply, 'with that subject');
    const parsed = auditFilter.safeParse(req.query ?? {});
    if (!parsed.success)
      return reply
        .code(400)
        .type('text/plain; charset=utf-8')
        .send(`Cannot filter: ${describeZodIssues(parsed.error.issues)}.`);
    const trail = await audit.trail(subject, parsed.data);
    const file = `audit-${subject.replace(/[^\w.-]/g, '_')}.csv`;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${file}"`)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(auditCsv(trail));
  });

  /** The failures (newest first) and whether each can still be retried; the retryability is left out if Temporal does not answer. */
  async function failuresWithRetry(q: string | undefined) {
    const rows = await audit.failures(q);
    const open = await reads.openRuns(rows.map((r) => r.subject)).catch((err: unknown) => {
      log.warn({ err }, 'console: open runs unavailable; Retry is not offered');
      return undefined;
    });
    const retry = open && new Map(rows.map((r) => [r.id, retryability(r, open.get(r.subject))]));
    return { rows, retry };
  }

  app.get('/console/failures', async (req, reply) => {
    const session = requireSession(req, reply);
    if (!session) return reply;
    const parsed = lifecycleFilter.pick({ q: true }).safeParse(req.query ?? {});
    if (!parsed.success) {
      const error = `Cannot search: ${describeZodIssues(parsed.error.issues)}.`;
      return send(reply, failuresPage({ csrf: session.csrf, rows: [], error }), 400);
    }
    try {
      const { rows, retry } = await failuresWithRetry(parsed.data.q);
      return send(reply, failuresPage({ csrf: session.csrf, q: parsed.data.q, rows, retry }));
    } catch (err) {
      log.warn({ err }, 'console: failures unavailable');
      return send(reply, failuresPage({ csrf: session.csrf, q: parsed.data.q, rows: [], error: UNAVAILABLE }), 503);
    }
  });

  const settings = consoleSettings(deps);
  /** A read-only setup page: answers 503 with a sentence when its source does not answer. */
  function readOnly<R>(
    path: string,
    read: () => Promise<R[]>,
    page: (input: { csrf: string; rows: R[]; error?: string }) => Html,
    what: string,
  ) {
    app.get(path, async (req, reply) => {
      const session = requireSession(req, reply);
      if (!session) return reply;
      try {
        return send(reply, page({ csrf: session.csrf, rows: await read() }));
      } catch (err) {
        log.warn({ err }, `console: ${what} unavailable`);
        return send(reply, page({ csrf: session.csrf, rows: [], error: UNAVAILABLE }), 503);
      }
    });
  }
  readOnly('/console/installations', () => settings.installations(), installationsPage, 'installations');
  readOnly('/console/flags', () => settings.flags(), flagsPage, 'flags');
  readOnly('/console/schedules', () => settings.schedules(), schedulesPage, 'schedules');

  /**
   * Retry one failed delivery (the form on the failures page): CSRF-checked, then the step runs
   * again in its lifecycle's open run, and the page answers with the outcome above the refreshed
   * list. A failure that cannot be retried (closed lifecycle, an earlier run, not a step) answers
   * 409 with the reason; the click is audited either way (`delivery.retry_requested`).
   */
  app.post<{ Params: { id: string } }>('/console/failures/:id/retry', async (req, reply) => {
    const session = sessionOf(req);
    const token = (req.body as { _csrf?: unknown } | undefined)?._csrf;
    if (!sameOrigin(req) || !session || !sessions.csrfValid(session, token))
      return reply.code(403).type('text/plain; charset=utf-8').send('Refused: missing or stale form token.');
    const page = async (notice: RetryAnswer, status: number) => {
      const { rows, retry } = await failuresWithRetry(undefined);
      return send(reply, failuresPage({ csrf: session.csrf, rows, retry, notice }), status);
    };
    try {
      const failure = /^\d{1,18}$/.test(req.params.id) ? await audit.failure(req.params.id) : undefined;
      if (!failure) return reply.code(404).type('text/plain; charset=utf-8').send('No failed delivery with that id.');
      const open = await deps.temporal.workflow
        .getHandle(failure.subject)
        .describe()
        .then((d) => (d.status.name === 'RUNNING' ? d.runId : undefined))
        .catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
      const can = retryability(failure, open);
      const requestedBy = session.keyFingerprint;
      if (can.kind !== 'retryable' || !failure.step) {
        const why = can.kind === 'not_retryable' ? can.why : 'This step has been delivered already.';
        const answer: RetryAnswer = { kind: 'refused', why };
        await deps.repos.audit.append(retryRequestAudit(failure, requestedBy, answer));
        return await page(answer, 409);
      }
      const answer = await retryDelivery({
        temporal: deps.temporal,
        audit: deps.repos.audit,
        failure: { ...failure, step: failure.step, runId: failure.runId ?? open },
        requestedBy,
      });
      log.info(
        { key: requestedBy, subject: failure.subject, step: failure.step, answer: answer.kind },
        'console retry',
      );
      return await page(answer, answer.kind === 'refused' ? 409 : 200);
    } catch (err) {
      log.warn({ err }, 'console: retry unavailable');
      return send(reply, failuresPage({ csrf: session.csrf, rows: [], error: UNAVAILABLE }), 503);
    }
  });
}
