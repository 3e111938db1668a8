import type { Pool } from '../db/pool.js';

export type IdempotencyClaim =
  | { kind: 'new' }
  | { kind: 'replay'; requestHash: string; statusCode: number; response: unknown }
  | { kind: 'in_flight'; requestHash: string; ageMs: number };

/** Generic store behind the `Idempotency-Key` header (any POST route). */
export function idempotencyRepo(pool: Pool) {
  return {
    /** Claims (route, key) for this request, or tells what an earlier request with the key did. */
    async claim(route: string, key: string, requestHash: string): Promise<IdempotencyClaim> {
      const ins = await pool.query(
        `INSERT INTO idempotency_keys (route, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (route, key) DO NOTHING`,
        [route, key, requestHash],
      );
      if (ins.rowCount === 1) return { kind: 'new' };
      const { rows } = await pool.query<{
        request_hash: string;
        status_code: number | null;
        response: unknown;
        age_ms: number;
      }>(
        `SELECT request_hash, status_code, response, (EXTRACT(EPOCH FROM now() - created_at) * 1000)::float8 AS age_ms
         FROM idempotency_keys WHERE route = $1 AND key = $2`,
        [route, key],
      );
      const r = rows[0];
      if (!r) return this.claim(route, key, requestHash); // released between our insert and select
      if (r.status_code === null) return { kind: 'in_flight', requestHash: r.request_hash, ageMs: r.age_ms };
      return { kind: 'replay', requestHash: r.request_hash, statusCode: r.status_code, response: r.response };
    },
    async complete(route: string, key: string, statusCode: number, response: unknown): Promise<void> {
      await pool.query(
        `UPDATE idempotency_keys SET status_code = $3, response = $4, completed_at = now() WHERE route = $1 AND key = $2`,
        [route, key, statusCode, JSON.stringify(response)],
      );
    },
    /** Frees the key after a failed request so the client's retry runs again. */
    async release(route: string, key: string): Promise<void> {
      await pool.query('DELETE FROM idempotency_keys WHERE route = $1 AND key = $2 AND status_code IS NULL', [
        route,
        key,
      ]);
    },
    /** Takes over a stale in-flight claim (the first request died); true if we got it. */
    async takeOver(route: string, key: string, requestHash: string, olderThanMs: number): Promise<boolean> {
      const res = await pool.query(
        `UPDATE idempotency_keys SET created_at = now()
         WHERE route = $1 AND key = $2 AND request_hash = $3 AND status_code IS NULL
           AND created_at < now() - ($4::float8 * interval '1 millisecond')`,
        [route, key, requestHash, olderThanMs],
      );
      return res.rowCount === 1;
    },
  };
}
export type IdempotencyRepo = ReturnType<typeof idempotencyRepo>;
