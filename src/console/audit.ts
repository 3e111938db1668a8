import type { Pool } from 'pg';
import { z } from 'zod';
import type { AuditRow } from '../platform/db/repositories.js';

/** The audit trail's filters (one lifecycle's page): an action substring and an outcome. */
export const auditFilter = z.object({
  action: z
    .string()
    .trim()
    .regex(/^[\w.:-]{0,80}$/, 'part of an action name, e.g. slack_failed')
    .optional()
    .transform((v) => v || undefined),
  outcome: z
    .enum(['', 'ok', 'failed', 'skipped'])
    .optional()
    .transform((v) => v || undefined),
});
export type AuditFilter = z.infer<typeof auditFilter>;

/** A failed delivery: an audit row whose outcome is `failed` (a step that will not happen, an alert that could not be sent). */
export interface FailureRow {
  id: string;
  occurredAt: string;
  subject: string;
  action: string;
  targetSystem: string | undefined;
  step: string | undefined;
  /** The classified error (`http_503`, `channel_not_found`…) and why it is final (`retries_exhausted`, `permanent`…). */
  error: string | undefined;
  reason: string | undefined;
  message: string | undefined;
  /** The run that failed the step (a retry goes to that run only). */
  runId: string | undefined;
  /** The newest operator retry of this step in that run (`delivery.retried`), if any. */
  retry: { outcome: string; at: string } | undefined;
}

type FailureDbRow = {
  id: string;
  occurred_at: Date;
  subject: string;
  action: string;
  target_system: string | null;
  run_id: string | null;
  details: Record<string, unknown> | null;
  retry_outcome: string | null;
  retried_at: Date | null;
};

/**
 * Failed rows with the newest retry of the same step in the same run beside each (the subject
 * index makes the lateral lookup one index range per row). Retries and retry requests are not
 * failures of their own: a failed retry shows on the failure it retried.
 */
const FAILURES_SQL = `SELECT a.id::text, a.occurred_at, a.subject, a.action, a.target_system, a.run_id, a.details,
       r.outcome AS retry_outcome, r.occurred_at AS retried_at
  FROM audit_log a
  LEFT JOIN LATERAL (
    SELECT outcome, occurred_at FROM audit_log r
     WHERE r.subject = a.subject AND r.action = 'delivery.retried' AND r.run_id IS NOT DISTINCT FROM a.run_id
       AND r.details->>'step' = a.details->>'step'
     ORDER BY r.occurred_at DESC, r.id DESC LIMIT 1) r ON true
 WHERE a.outcome = 'failed' AND a.action NOT IN ('delivery.retried', 'delivery.retry_requested')`;

function failureOf(r: FailureDbRow): FailureRow {
  return {
    id: r.id,
    occurredAt: r.occurred_at.toISOString(),
    subject: r.subject,
    action: r.action,
    targetSystem: r.target_system ?? undefined,
    step: str(r.details?.step),
    error: str(r.details?.error) ?? str(r.details?.failureType),
    reason: str(r.details?.reason),
    message: str(r.details?.message),
    runId: r.run_id ?? undefined,
    retry: r.retry_outcome && r.retried_at ? { outcome: r.retry_outcome, at: r.retried_at.toISOString() } : undefined,
  };
}

/** How many failures the failures page lists (newest first). */
export const FAILURES_LIMIT = 100;

const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);

/** Reads the audit trail for the console: filtered per lifecycle, and the failures of every lifecycle. */
export function consoleAudit(deps: { pool: Pool; bySubject: (subject: string) => Promise<AuditRow[]> }) {
  return {
    /** One lifecycle's audit trail, oldest first, filtered. */
    async trail(subject: string, f: AuditFilter): Promise<AuditRow[]> {
      const rows = await deps.bySubject(subject);
      return rows.filter((r) => (!f.action || r.action.includes(f.action)) && (!f.outcome || r.outcome === f.outcome));
    },
    /** The newest failed deliveries, optionally of one subject or subject prefix. */
    async failures(subjectPrefix?: string): Promise<FailureRow[]> {
      const { rows } = await deps.pool.query<FailureDbRow>(
        `${FAILURES_SQL} AND ($1::text IS NULL OR a.subject LIKE $1)
          ORDER BY a.occurred_at DESC, a.id DESC LIMIT ${FAILURES_LIMIT}`,
        // A literal prefix: `_` (common in subjects) is a LIKE wildcard, so it is escaped.
        [subjectPrefix ? `${subjectPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null],
      );
      return rows.map(failureOf);
    },
    /** One failed delivery by its audit row id, or undefined. */
    async failure(id: string): Promise<FailureRow | undefined> {
      const { rows } = await deps.pool.query<FailureDbRow>(`${FAILURES_SQL} AND a.id = $1::bigint`, [id]);
      return rows[0] && failureOf(rows[0]);
    },
  };
}

/** One CSV field (RFC 4180), with formula-looking text neutralised for spreadsheet apps. */
function csvField(v: unknown): string {
  let s = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The audit trail as CSV: one row per entry, JSON columns for before/after/details. */
export function auditCsv(rows: AuditRow[]): string {
  const header = ['occurred_at', 'action', 'actor_kind', 'actor_id', 'outcome', 'source_system', 'target_system'];
  const lines = [[...header, 'workflow_id', 'run_id', 'before', 'after', 'details'].join(',')];
  for (const r of rows)
    lines.push(
      [
        r.occurredAt,
        r.action,
        r.actor.kind,
        r.actor.id,
        r.outcome,
        r.sourceSystem,
        r.targetSystem,
        r.workflowId,
        r.runId,
        r.before,
        r.after,
        r.details,
      ]
        .map(csvField)
        .join(','),
    );
  return `${lines.join('\r\n')}\r\n`;
}
