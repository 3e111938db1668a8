import type { Pool } from '../../platform/db/pool.js';
import type { AlertState } from './contract.js';

/** Snapshots of alert lifecycles (written by the workflow through an activity, read by the API). */
export function alertsRepo(pool: Pool) {
  return {
    /** Upsert; an older version never overwrites a newer one (activity retries may reorder). */
    async saveSnapshot(workflowId: string, s: AlertState): Promise<boolean> {
      const res = await pool.query(
        `INSERT INTO alert_snapshots (workflow_id, alert_id, source, status, occurrences, root_channel, root_ts, state, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (workflow_id) DO UPDATE SET
           status = EXCLUDED.status, occurrences = EXCLUDED.occurrences, root_channel = EXCLUDED.root_channel,
           root_ts = EXCLUDED.root_ts, state = EXCLUDED.state, version = EXCLUDED.version, updated_at = now()
         WHERE alert_snapshots.version <= EXCLUDED.version`,
        [
          workflowId,
          s.alertId,
          s.source,
          s.status,
          s.occurrences,
          s.root?.channel ?? null,
          s.root?.ts ?? null,
          JSON.stringify(s),
          s.version,
        ],
      );
      return res.rowCount === 1;
    },
    async get(workflowId: string): Promise<AlertState | undefined> {
      const { rows } = await pool.query<{ state: AlertState }>(
        'SELECT state FROM alert_snapshots WHERE workflow_id = $1',
        [workflowId],
      );
      return rows[0]?.state;
    },
  };
}
export type AlertsRepo = ReturnType<typeof alertsRepo>;
