import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../flow.js';
import { queryWithin } from '../db/pool.js';
import { auditRowOf, type AuditRow } from '../db/repositories.js';
import { apiKeyGuard } from '../http/auth.js';
import { createBudget, DeadlineExceededError } from '../http/budget.js';
import { AppError, describeZodIssues } from '../http/errors.js';

/** Answers within this: the trail is read from one indexed query, and a slow database is a 503, not a hung client. */
const AUDIT_QUERY_BUDGET_MS = 5_000;

/** The cursor: where the previous page ended, in the trail's order (occurred_at, id). Opaque to callers. */
const cursorSchema = z.object({ t: z.iso.datetime({ offset: true }), id: z.string().regex(/^\d{1,19}$/) });
const encodeCursor = (r: AuditRow) => Buffer.from(JSON.stringify({ t: r.occurredAt, id: r.id })).toString('base64url');

const querySchema = z
  .object({
    subject: z.string().trim().min(1).max(300).optional(),
    actor: z.string().trim().min(1).max(300).optional(),
    /** An action (`slack.app_uninstalled`) or a prefix ending in `.*` (`slack.*`). */
    action: z
      .string()
      .trim()
      .regex(/^[a-z][\w.]*(\.\*)?$/, 'an action like slack.app_uninstalled, or a prefix like slack.*')
      .max(200)
      .optional(),
    category: z.enum(['business', 'maintenance']).optional(),
    correlationId: z.string().trim().min(1).max(300).optional(),
    from: z.iso.datetime({ offset: true, message: 'an ISO 8601 time like 2026-12-01T10:00:00Z' }).optional(),
    to: z.iso.datetime({ offset: true, message: 'an ISO 8601 time like 2026-12-01T11:00:00Z' }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(500).optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

const CSV_COLUMNS = [
  'id',
  'occurredAt',
  'subject',
  'action',
  'category',
  'actorKind',
  'actorId',
  'sourceSystem',
  'targetSystem',
  'ruleId',
  'ruleVersion',
  'outcome',
  'correlationId',
  'workflowId',
  'runId',
  'before',
  'after',
  'details',
] as const;

const json = (v: unknown) => (v === undefined || v === null ? '' : JSON.stringify(v));
function csvRow(r: AuditRow): string[] {
  return [
    r.id,
    r.occurredAt,
    r.subject,
    r.action,
    r.category ?? 'business',
    r.actor.kind,
    r.actor.id ?? '',
    r.sourceSystem ?? '',
    r.targetSystem ?? '',
    r.ruleId ?? '',
    r.ruleVersion ?? '',
    r.outcome ?? '',
    r.correlationId ?? '',
    r.workflowId ?? '',
    r.runId ?? '',
    json(r.before),
    json(r.after),
    json(r.details),
  ];
}

/**
 * `GET /v1/audit`: the audit trail, oldest first, filtered by subject (`<kind>:<id>`), actor
 * id, action (or `prefix.*`), category (business or maintenance), correlation id and a time
 * range (`from` inclusive, `to` exclusive), `limit` rows a page (default 100, at most 1000) with
 * an opaque `cursor` for the next page (keyset pagination on (occurred_at, id): stable while rows
 * are appended). `format=csv` exports the same page as CSV (the next cursor in the
 * `X-Next-Cursor` header). API-key protected.
 */
export async function auditRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'pool'>): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  app.get('/v1/audit', { preHandler: guard }, async (req, reply) => {
    const parsed = querySchema.safeParse(req.query ?? {});
    if (!parsed.success) throw AppError.badRequest('invalid_query', describeZodIssues(parsed.error.issues));
    const q = parsed.data;
    let after: z.infer<typeof cursorSchema> | undefined;
    if (q.cursor) {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8'));
      } catch {
        decoded = undefined;
      }
      const c = cursorSchema.safeParse(decoded);
      if (!c.success) throw AppError.badRequest('invalid_cursor', 'cursor: not a cursor this API returned');
      after = c.data;
    }
    if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to))
      throw AppError.badRequest('invalid_query', 'to: must be later than from');

    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: (n: string) => string, v: unknown) => {
      values.push(v);
      where.push(sql(`$${values.length}`));
    };
    if (q.subject) add((n) => `subject = ${n}`, q.subject);
    if (q.actor) add((n) => `actor_id = ${n}`, q.actor);
    if (q.action?.endsWith('.*')) add((n) => `starts_with(action, ${n})`, q.action.slice(0, -1));
    else if (q.action) add((n) => `action = ${n}`, q.action);
    if (q.category) add((n) => `category = ${n}`, q.category);
    if (q.correlationId) add((n) => `correlation_id = ${n}`, q.correlationId);
    if (q.from) add((n) => `occurred_at >= ${n}::timestamptz`, q.from);
    if (q.to) add((n) => `occurred_at < ${n}::timestamptz`, q.to);
    if (after) {
      values.push(after.t, after.id);
      where.push(`(occurred_at, id) > ($${values.length - 1}::timestamptz, $${values.length}::bigint)`);
    }
    values.push(q.limit + 1);
    const text = `SELECT id::text, occurred_at, subject, action, actor_kind, actor_id, source_system, target_system,
        before, after, rule_id, rule_version, workflow_id, run_id, outcome, details, idempotency_key, category,
        correlation_id
      FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY occurred_at, id LIMIT $${values.length}`;

    let rows: AuditRow[];
    try {
      const res = await queryWithin(deps.pool, createBudget(AUDIT_QUERY_BUDGET_MS), 'audit query', text, values);
      rows = res.rows.map(auditRowOf);
    } catch (err) {
      req.log.warn({ err: err instanceof DeadlineExceededError ? err.message : err }, 'audit query failed');
      throw AppError.unavailable('storage_unavailable', 'could not read the audit trail; try again');
    }
    const page = rows.slice(0, q.limit);
    const nextCursor = rows.length > q.limit ? encodeCursor(page.at(-1)!) : null;
    if (q.format === 'csv') {
      if (nextCursor) void reply.header('x-next-cursor', nextCursor);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit.csv"')
        .send(stringify(page.map(csvRow), { header: true, columns: [...CSV_COLUMNS] }));
    }
    return reply.send({
      entries: page.map(({ idempotencyKey: _key, ...r }) => r),
      nextCursor,
    });
  });
}
