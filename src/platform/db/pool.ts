import pg from 'pg';

export type Pool = pg.Pool;

/** One pool per process. Errors on idle clients are logged, not thrown (a restart of Postgres must not crash us). */
export function createPool(databaseUrl: string, opts: { max?: number; onError?: (err: Error) => void } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'threadline',
  });
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}
