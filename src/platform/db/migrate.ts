import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyFlow } from '../flow.js';
import type { QueryConfig } from 'pg';
import type { Pool } from './pool.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
/** Arbitrary constant for pg_advisory_lock: one migrator at a time across processes. */
const LOCK_KEY = 7_215_004_211;
/**
 * The pool bounds every statement (pool.ts); waiting for another migrator and running a migration
 * may legitimately take longer, so those two lift the client-side bound (node's longest timer).
 */
const UNBOUNDED = { query_timeout: 2_147_483_647 };

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** The platform's migrations folder first, then each flow's (one version sequence across all). */
export function migrationDirs(flows: readonly AnyFlow[]): string[] {
  return [MIGRATIONS_DIR, ...flows.flatMap((f) => (f.migrations ? [fileURLToPath(f.migrations)] : []))];
}

/**
 * Every `NNN_name.sql` in the given folders, in version order. Versions are global: the same
 * number in two folders is an error (flows pick the next free number, see docs/architecture.md).
 */
export async function loadMigrations(dirs: string | string[] = MIGRATIONS_DIR): Promise<Migration[]> {
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  for (const dir of typeof dirs === 'string' ? [dirs] : dirs) {
    const files = (await readdir(dir)).filter((f) => /^\d{3,}_[\w-]+\.sql$/.test(f));
    for (const f of files) {
      const version = Number(f.split('_')[0]);
      const other = seen.get(version);
      if (other) throw new Error(`Migration version ${version} is used twice: ${other} and ${join(dir, f)}`);
      seen.set(version, join(dir, f));
      const sql = await readFile(join(dir, f), 'utf8');
      out.push({
        version,
        name: f.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      });
    }
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Applies forward-only migrations. Each runs in its own transaction together with its
 * bookkeeping row, under a session advisory lock so two processes starting at once cannot race.
 * An applied migration whose file changed is an error: history is not rewritten.
 */
export async function migrate(pool: Pool, dirs: string | string[] = MIGRATIONS_DIR): Promise<{ applied: string[] }> {
  const migrations = await loadMigrations(dirs);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    // Migrations (and waiting for another process's) may outlast the pool's statement cap.
    await client.query('SET statement_timeout = 0');
    await client.query({ text: 'SELECT pg_advisory_lock($1)', values: [LOCK_KEY], ...UNBOUNDED } as QueryConfig);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; checksum: string; name: string }>(
      'SELECT version, checksum, name FROM schema_migrations',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const m of migrations) {
      const prev = done.get(m.version);
      if (prev) {
        if (prev.checksum !== m.checksum) {
          throw new Error(`Migration ${m.name} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query({ text: m.sql, ...UNBOUNDED } as QueryConfig);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
        applied.push(m.name);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${m.name} failed: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.query('RESET statement_timeout').catch(() => undefined);
    client.release();
  }
  return { applied };
}

/** For /readyz: every known migration is applied. */
export async function pendingMigrations(pool: Pool, dirs: string | string[] = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await loadMigrations(dirs);
  const { rows } = await pool
    .query<{ version: number }>('SELECT version FROM schema_migrations')
    .catch(() => ({ rows: [] as { version: number }[] }));
  const have = new Set(rows.map((r) => r.version));
  return migrations.filter((m) => !have.has(m.version)).map((m) => m.name);
}
