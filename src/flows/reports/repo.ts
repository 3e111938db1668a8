import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { CompleteReportRunInput } from './contract.js';
import type { DatasetRecord, ReportDefinition } from './schema.js';

export interface ReportRow {
  reportId: string;
  name: string;
  definition: ReportDefinition;
  version: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface ReportRunRow {
  windowStart: string;
  windowEnd: string;
  workflowId: string;
  status: string;
  claims: number;
  records: number | null;
  messages: number | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

type Db = Pick<Pool | PoolClient, 'query'>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function mapReport(r: Record<string, unknown>): ReportRow {
  return {
    reportId: r.report_id as string,
    name: r.name as string,
    definition: r.definition as ReportDefinition,
    version: r.version as number,
    createdBy: r.created_by as string,
    createdAt: (r.created_at as Date).toISOString(),
    updatedAt: (r.updated_at as Date).toISOString(),
  };
}

/** Report definitions, dataset records and report windows. */
export function reportsRepo(pool: Pool) {
  return {
    async create(id: string, def: ReportDefinition, createdBy: string, db: Db = pool): Promise<ReportRow> {
      const { rows } = await db.query(
        `INSERT INTO report_definitions (report_id, name, definition, created_by) VALUES ($1, $2, $3, $4) RETURNING *`,
        [id, def.name, JSON.stringify(def), createdBy],
      );
      return mapReport(rows[0] as Record<string, unknown>);
    },
    async get(id: string, db: Db = pool): Promise<ReportRow | undefined> {
      const { rows } = await db.query('SELECT * FROM report_definitions WHERE report_id = $1 AND deleted_at IS NULL', [
        id,
      ]);
      return rows[0] ? mapReport(rows[0] as Record<string, unknown>) : undefined;
    },
    /** Locks the row for an update in `db`'s transaction. */
    async getForUpdate(id: string, db: Db): Promise<ReportRow | undefined> {
      const { rows } = await db.query(
        'SELECT * FROM report_definitions WHERE report_id = $1 AND deleted_at IS NULL FOR UPDATE',
        [id],
      );
      return rows[0] ? mapReport(rows[0] as Record<string, unknown>) : undefined;
    },
    async update(id: string, def: ReportDefinition, db: Db): Promise<ReportRow> {
      const { rows } = await db.query(
        `UPDATE report_definitions SET definition = $2, name = $3, version = version + 1, updated_at = now()
         WHERE report_id = $1 RETURNING *`,
        [id, JSON.stringify(def), def.name],
      );
      return mapReport(rows[0] as Record<string, unknown>);
    },
    async softDelete(id: string, db: Db = pool): Promise<boolean> {
      const res = await db.query(
        'UPDATE report_definitions SET deleted_at = now() WHERE report_id = $1 AND deleted_at IS NULL',
        [id],
      );
      return res.rowCount === 1;
    },
    /** A page of live reports in creation order, after the (created_at, id) key. */
    async list(limit: number, after?: [string, string]): Promise<ReportRow[]> {
      const { rows } = await pool.query(
        `SELECT * FROM report_definitions WHERE deleted_at IS NULL
           AND ($2::timestamptz IS NULL OR (created_at, report_id) > ($2::timestamptz, $3))
         ORDER BY created_at, report_id LIMIT $1`,
        [limit + 1, after?.[0] ?? null, after?.[1] ?? null],
      );
      return rows.map((r) => mapReport(r as Record<string, unknown>));
    },

    /**
     * Upserts records by (dataset, id): the same id with the same timestamp and data changes
     * nothing (a retried push); with different ones it is a correction (revision + 1).
     */
    async pushRecords(
      dataset: string,
      records: DatasetRecord[],
    ): Promise<{ inserted: number; updated: number; unchanged: number }> {
      const ids = records.map((r) => r.id);
      const times = records.map((r) => new Date(r.timestamp).toISOString());
      const datas = records.map((r) => JSON.stringify(r.data));
      const hashes = records.map((r, i) => createHash('sha256').update(`${times[i]}\n${datas[i]}`).digest('hex'));
      // The last copy of an id within one request wins (as if pushed one after another).
      const { rows } = await pool.query<{ inserted: boolean }>(
        `WITH input AS (
           SELECT DISTINCT ON (record_id) record_id, occurred_at, data, data_hash
           FROM unnest($2::text[], $3::timestamptz[], $4::jsonb[], $5::text[])
             WITH ORDINALITY AS t(record_id, occurred_at, data, data_hash, n)
           ORDER BY record_id, n DESC
         )
         INSERT INTO report_records (dataset, record_id, occurred_at, data, data_hash)
         SELECT $1, record_id, occurred_at, data, data_hash FROM input
         ON CONFLICT (dataset, record_id) DO UPDATE SET
           occurred_at = EXCLUDED.occurred_at, data = EXCLUDED.data, data_hash = EXCLUDED.data_hash,
           revision = report_records.revision + 1, updated_at = now()
         WHERE report_records.data_hash <> EXCLUDED.data_hash
         RETURNING (xmax = 0) AS inserted`,
        [dataset, ids, times, datas, hashes],
      );
      const inserted = rows.filter((r) => r.inserted).length;
      const distinct = new Set(ids).size;
      return { inserted, updated: rows.length - inserted, unchanged: distinct - rows.length };
    },
    /** Records of `[start, end)`, in timestamp then id order, at most `max + 1` (the caller tells "too many"). */
    async recordsIn(dataset: string, start: string, end: string, max: number) {
      const { rows } = await pool.query<{ record_id: string; data: Record<string, unknown> }>(
        `SELECT record_id, data FROM report_records
         WHERE dataset = $1 AND occurred_at >= $2 AND occurred_at < $3
         ORDER BY occurred_at, record_id LIMIT $4`,
        [dataset, start, end, max + 1],
      );
      return rows.map((r) => ({ id: r.record_id, data: r.data }));
    },

    /**
     * Claims a window for a run. The first claim inserts `running`; a later one (the same run's
     * retry, a second trigger, a backfill again) counts itself in `claims` and takes the window
     * over unless it was posted: posts are keyed by the window, so a takeover never posts twice.
     */
    async claimWindow(input: {
      reportId: string;
      windowStart: string;
      windowEnd: string;
      workflowId: string;
      runId: string;
    }): Promise<{ status: string; workflowId: string; runId: string; claims: number }> {
      const { rows } = await pool.query<{ status: string; workflow_id: string; run_id: string; claims: number }>(
        `INSERT INTO report_runs (report_id, window_end, window_start, workflow_id, run_id, status)
         VALUES ($1, $2, $3, $4, $5, 'running')
         ON CONFLICT (report_id, window_end) DO UPDATE SET
           claims = report_runs.claims + 1,
           workflow_id = CASE WHEN report_runs.status = 'posted' THEN report_runs.workflow_id ELSE EXCLUDED.workflow_id END,
           run_id = CASE WHEN report_runs.status = 'posted' THEN report_runs.run_id ELSE EXCLUDED.run_id END,
           status = CASE WHEN report_runs.status = 'posted' THEN 'posted' ELSE 'running' END
         RETURNING status, workflow_id, run_id, claims`,
        [input.reportId, input.windowEnd, input.windowStart, input.workflowId, input.runId],
      );
      const r = rows[0]!;
      return { status: r.status, workflowId: r.workflow_id, runId: r.run_id, claims: r.claims };
    },
    async completeRun(input: CompleteReportRunInput): Promise<void> {
      await pool.query(
        `UPDATE report_runs SET status = $4, records = $5, messages = $6, error = $7, finished_at = now()
         WHERE report_id = $1 AND window_end = $2 AND workflow_id = $3 AND status <> 'posted'`,
        [
          input.reportId,
          input.windowEnd,
          input.workflowId,
          input.status,
          input.records,
          input.messages,
          input.error ?? null,
        ],
      );
    },
    /** Newest windows first, before the given window end. */
    async runs(reportId: string, limit: number, before?: string): Promise<ReportRunRow[]> {
      const { rows } = await pool.query(
        `SELECT * FROM report_runs WHERE report_id = $1 AND ($2::timestamptz IS NULL OR window_end < $2)
         ORDER BY window_end DESC LIMIT $3`,
        [reportId, before ?? null, limit + 1],
      );
      return rows.map((r: Record<string, unknown>) => ({
        windowStart: (r.window_start as Date).toISOString(),
        windowEnd: (r.window_end as Date).toISOString(),
        workflowId: r.workflow_id as string,
        status: r.status as string,
        claims: r.claims as number,
        records: (r.records as number | null) ?? null,
        messages: (r.messages as number | null) ?? null,
        error: (r.error as string | null) ?? null,
        startedAt: (r.started_at as Date).toISOString(),
        finishedAt: iso(r.finished_at as Date | null),
      }));
    },
  };
}
export type ReportsRepo = ReturnType<typeof reportsRepo>;
