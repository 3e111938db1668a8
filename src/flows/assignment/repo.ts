import type { Pool } from '../../platform/db/pool.js';
import type { AssignmentPolicy, AssignmentState, RoutingDecision } from './contract.js';
import { LOAD_STATUSES } from './domain/lifecycle.js';

/** Whose load an assignment counts as: the person asked to take it, then its owner. */
const loadHolder = (s: AssignmentState): string | null =>
  s.status === 'routed' ? (s.current?.jira ?? null) : (s.owner?.jira ?? null);

/**
 * `assignments`, `assignment_decisions` and `assignment_cursors` (migration 062): the saved state
 * of each issue's assignment, every routing decision under its id, and the round-robin cursors.
 */
export function assignmentsRepo(pool: Pool) {
  return {
    /** Upserts unless a newer version is stored (a retried save of an older state is a no-op). */
    async save(s: AssignmentState): Promise<void> {
      await pool.query(
        `INSERT INTO assignments (site, issue_key, project, status, owner_jira, owner_by, rule_id, rule_version, state, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (site, issue_key) DO UPDATE SET
           project = EXCLUDED.project, status = EXCLUDED.status, owner_jira = EXCLUDED.owner_jira,
           owner_by = EXCLUDED.owner_by, rule_id = EXCLUDED.rule_id, rule_version = EXCLUDED.rule_version,
           state = EXCLUDED.state, version = EXCLUDED.version, updated_at = now()
         WHERE assignments.version <= EXCLUDED.version`,
        [
          s.site,
          s.key,
          s.issue.project,
          s.status,
          loadHolder(s),
          s.status === 'routed' ? 'threadline' : (s.owner?.by ?? null),
          s.policy?.ruleId ?? null,
          s.policy?.ruleVersion ?? null,
          JSON.stringify(s),
          s.version,
        ],
      );
    },

    async get(site: string, key: string): Promise<AssignmentState | undefined> {
      const { rows } = await pool.query<{ state: AssignmentState }>(
        'SELECT state FROM assignments WHERE site = $1 AND issue_key = $2',
        [site, key],
      );
      return rows[0]?.state;
    },

    /** Open assignments per Jira account on a site, from our records (the issue being routed left out). */
    async loads(site: string, exceptKey: string): Promise<Record<string, number>> {
      const { rows } = await pool.query<{ owner_jira: string; n: string }>(
        `SELECT owner_jira, count(*) AS n FROM assignments
         WHERE site = $1 AND issue_key <> $2 AND owner_jira IS NOT NULL AND status = ANY($3)
         GROUP BY owner_jira`,
        [site, exceptKey, LOAD_STATUSES],
      );
      return Object.fromEntries(rows.map((r) => [r.owner_jira, Number(r.n)]));
    },

    /** Open assignments on a site (reconciliation's list). */
    async open(site: string): Promise<AssignmentState[]> {
      const { rows } = await pool.query<{ state: AssignmentState }>(
        `SELECT state FROM assignments WHERE site = $1 AND status <> 'closed' ORDER BY issue_key`,
        [site],
      );
      return rows.map((r) => r.state);
    },

    async decision(id: string): Promise<{ decision: RoutingDecision; policy: AssignmentPolicy } | undefined> {
      const { rows } = await pool.query<{ decision: { decision: RoutingDecision; policy: AssignmentPolicy } }>(
        'SELECT decision FROM assignment_decisions WHERE decision_id = $1',
        [id],
      );
      return rows[0]?.decision;
    },

    /**
     * Stores a decision under its id and advances the round-robin cursor in one transaction; a
     * decision already stored (an earlier attempt) wins and is returned instead.
     */
    async recordDecision(input: {
      id: string;
      site: string;
      key: string;
      decision: RoutingDecision;
      policy: AssignmentPolicy;
    }): Promise<{ decision: RoutingDecision; policy: AssignmentPolicy }> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const ins = await client.query(
          `INSERT INTO assignment_decisions (decision_id, site, issue_key, rule_id, rule_version, chosen_jira, decision)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (decision_id) DO NOTHING`,
          [
            input.id,
            input.site,
            input.key,
            input.decision.ruleId,
            input.decision.ruleVersion,
            input.decision.chosen?.jira ?? null,
            JSON.stringify({ decision: input.decision, policy: input.policy }),
          ],
        );
        const c = input.decision.cursor;
        if (ins.rowCount === 1 && c)
          await client.query(
            `INSERT INTO assignment_cursors (site, cursor_key, position) VALUES ($1, $2, $3)
             ON CONFLICT (site, cursor_key) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
            [input.site, c.key, c.after],
          );
        const { rows } = await client.query<{ decision: { decision: RoutingDecision; policy: AssignmentPolicy } }>(
          'SELECT decision FROM assignment_decisions WHERE decision_id = $1',
          [input.id],
        );
        await client.query('COMMIT');
        return rows[0]!.decision;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async cursors(site: string): Promise<Record<string, number>> {
      const { rows } = await pool.query<{ cursor_key: string; position: number }>(
        'SELECT cursor_key, position FROM assignment_cursors WHERE site = $1',
        [site],
      );
      return Object.fromEntries(rows.map((r) => [r.cursor_key, r.position]));
    },
  };
}
export type AssignmentsRepo = ReturnType<typeof assignmentsRepo>;
