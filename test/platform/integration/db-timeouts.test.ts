import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { flows } from '../../../src/flows/index.js';
import { migrate, migrationDirs } from '../../../src/platform/db/migrate.js';
import { createPool, queryWithin, type Pool } from '../../../src/platform/db/pool.js';
import { createBudget, DeadlineExceededError } from '../../../src/platform/http/budget.js';

/** Every Postgres statement is bounded (defect 7): by the pool's caps, or by a request's budget. */
describe('Postgres statement bounds', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = createPool(inject('databaseUrl'), { statementTimeoutMs: 300 });
  });
  afterAll(async () => {
    await pool?.end();
  });

  it("the pool's statement_timeout makes Postgres cancel a slow statement", async () => {
    await expect(pool.query('SELECT pg_sleep(5)')).rejects.toThrow(/statement timeout/);
  });

  it("queryWithin gives up at the request's deadline and never reuses that connection", async () => {
    const roomy = createPool(inject('databaseUrl'));
    try {
      // One idle connection first: the budget then covers the query alone (a connect slower than
      // 150 ms on a loaded machine hands its late connection back unused, which is right, too).
      await roomy.query('SELECT 1');
      expect(roomy.totalCount).toBe(1);
      const started = performance.now();
      const err = await queryWithin(roomy, createBudget(150), 'test sleep', 'SELECT pg_sleep(3)', []).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DeadlineExceededError);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(roomy.totalCount).toBe(0); // the timed-out connection was destroyed, not pooled
      // A spent budget sends nothing at all.
      await expect(queryWithin(roomy, createBudget(0), 'late', 'SELECT 1', [])).rejects.toBeInstanceOf(
        DeadlineExceededError,
      );
      const ok = await queryWithin<{ one: number }>(roomy, createBudget(2_000), 'ok', 'SELECT 1 AS one', []);
      expect(ok.rows[0]!.one).toBe(1);
    } finally {
      await roomy.end();
    }
  });

  it('the migrator is not bound by the cap: it waits for another migrator longer than the statement timeout', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(7215004211)');
      const running = migrate(pool, migrationDirs(flows));
      // Observed, not slept: the migrator has waited past both caps (server 300 ms, client 2.3 s).
      for (;;) {
        const { rows } = await holder.query<{ waiting: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
             AND query LIKE 'SELECT pg_advisory_lock%' AND now() - query_start > interval '2600 milliseconds') AS waiting`,
        );
        if (rows[0]!.waiting) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await holder.query('SELECT pg_advisory_unlock(7215004211)');
      await expect(running).resolves.toMatchObject({ applied: [] });
      // …and the session it used is back under the cap.
      await expect(pool.query('SELECT pg_sleep(5)')).rejects.toThrow(/statement timeout/);
    } finally {
      holder.release();
    }
  });
});
