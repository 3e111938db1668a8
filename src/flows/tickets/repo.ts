import type { Pool } from '../../platform/db/pool.js';
import type { TicketThreadState } from './contract.js';

/** `ticket_threads`: the last saved state of each ticket's thread. */
export function ticketThreadsRepo(pool: Pool) {
  return {
    /** Upserts unless a newer version is stored (a retried save of an older state is a no-op). */
    async save(s: TicketThreadState): Promise<void> {
      await pool.query(
        `INSERT INTO ticket_threads (issue_key, tracker, issue_id, channel, root_ts, status, sync_state, state, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (issue_key) DO UPDATE SET
           tracker = EXCLUDED.tracker, issue_id = EXCLUDED.issue_id, channel = EXCLUDED.channel,
           root_ts = EXCLUDED.root_ts, status = EXCLUDED.status, sync_state = EXCLUDED.sync_state,
           state = EXCLUDED.state, version = EXCLUDED.version, updated_at = now()
         WHERE ticket_threads.version <= EXCLUDED.version`,
        [
          s.key,
          s.tracker,
          s.issue.id || null,
          s.root?.channel ?? s.channel ?? null,
          s.root?.ts ?? null,
          s.issue.status?.name ?? null,
          s.sync,
          JSON.stringify(s),
          s.version,
        ],
      );
    },
    async get(key: string): Promise<TicketThreadState | undefined> {
      const { rows } = await pool.query<{ state: TicketThreadState }>(
        'SELECT state FROM ticket_threads WHERE issue_key = $1',
        [key],
      );
      return rows[0]?.state;
    },
  };
}
export type TicketThreadsRepo = ReturnType<typeof ticketThreadsRepo>;
