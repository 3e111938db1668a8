import pg from 'pg';
import { DeadlineExceededError, type Deadline } from '../http/budget.js';

export type Pool = pg.Pool;

/** Server-side cap on any one statement (Postgres cancels it): nothing we run is meant to take longer. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/**
 * One pool per process. Errors on idle clients are logged, not thrown (a restart of Postgres must
 * not crash us). Every statement is bounded twice: `statement_timeout` makes Postgres cancel a slow
 * or lock-blocked statement, and the client-side `query_timeout` (a little longer) gives up on a
 * server that stopped answering altogether (a hung host or network: no cancel can arrive then).
 * Sessions that legitimately run long (the migrator) lift the server-side cap for themselves.
 */
export function createPool(
  databaseUrl: string,
  opts: { max?: number; onError?: (err: Error) => void; statementTimeoutMs?: number } = {},
): pg.Pool {
  const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'threadline',
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 2_000,
  });
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

/**
 * Runs one statement inside a request's time budget. The connection is awaited within the budget
 * too (a hung server accepts TCP but never finishes the handshake), and a statement is never sent
 * once the budget is spent: a client that arrives late goes back to the pool unused, so nothing is
 * written after the request has already answered. A statement that times out client-side takes its
 * connection with it (its socket is closed), so no later query queues behind it.
 */
export async function queryWithin<R extends pg.QueryResultRow = pg.QueryResultRow>(
  pool: Pool,
  within: Deadline,
  step: string,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  const left = within.remainingMs();
  if (left <= 0) throw new DeadlineExceededError(step);
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const client = await Promise.race([
    connecting,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceededError(step)), left);
    }),
  ]).catch((err: unknown) => {
    // Too late for this request: hand the connection back untouched whenever it comes.
    connecting.then((c) => c.release()).catch(() => undefined);
    throw err;
  });
  clearTimeout(timer);
  const remaining = Math.floor(within.remainingMs());
  if (remaining <= 0) {
    client.release();
    throw new DeadlineExceededError(step);
  }
  try {
    const res = await client.query<R>({ text, values, query_timeout: remaining } as pg.QueryConfig);
    client.release();
    return res;
  } catch (err) {
    // Destroy rather than reuse: after a read timeout the server may still answer on this socket.
    client.release(err instanceof Error ? err : true);
    if (err instanceof Error && err.message === 'Query read timeout') throw new DeadlineExceededError(step);
    throw err;
  }
}
