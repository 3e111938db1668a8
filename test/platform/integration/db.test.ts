import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { flows } from '../../../src/flows/index.js';
import {
  loadMigrations,
  migrate,
  migrationDirs,
  MIGRATIONS_DIR,
  pendingMigrations,
} from '../../../src/platform/db/migrate.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { auditLogRepo, inboundEventsRepo, slackMessagesRepo } from '../../../src/platform/db/repositories.js';
import '../../helpers/provided.js';

describe('Postgres schema (real embedded PostgreSQL)', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await pool.end();
  });

  it('migrations are applied once and re-running is a no-op', async () => {
    expect(await migrate(pool, migrationDirs(flows))).toEqual({ applied: [] });
    expect(await pendingMigrations(pool, migrationDirs(flows))).toEqual([]);
  });

  it('two migrators racing apply each migration exactly once (advisory lock)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mig-'));
    const table = `race_${randomUUID().replace(/-/g, '')}`;
    const version = 900_000 + Math.floor(Math.random() * 99_999);
    await writeFile(join(dir, `${version}_race.sql`), `CREATE TABLE ${table} (id int); SELECT pg_sleep(0.2);`);
    try {
      const results = await Promise.all([migrate(pool, dir), migrate(pool, dir), migrate(pool, dir)]);
      expect(results.flatMap((r) => r.applied)).toEqual([`${version}_race`]);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM schema_migrations WHERE version = $1', [
        version,
      ]);
      expect(rows[0].n).toBe(1);
    } finally {
      await pool.query(`DELETE FROM schema_migrations WHERE version = $1`, [version]);
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a failing migration leaves nothing half-applied', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mig-'));
    const table = `half_${randomUUID().replace(/-/g, '')}`;
    const version = 800_000 + Math.floor(Math.random() * 99_999);
    await writeFile(join(dir, `${version}_broken.sql`), `CREATE TABLE ${table} (id int); SELECT * FROM no_such_table;`);
    try {
      await expect(migrate(pool, dir)).rejects.toThrow(/broken failed/);
      const { rows } = await pool.query('SELECT to_regclass($1) AS t', [table]);
      expect(rows[0].t).toBeNull();
      expect((await pool.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version])).rowCount).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads the platform's migrations and each registered flow's, as one version sequence", async () => {
    const dirs = migrationDirs(flows);
    expect(dirs[0]).toBe(MIGRATIONS_DIR);
    expect(MIGRATIONS_DIR).toMatch(/src\/platform\/db\/migrations\/$/);
    expect(dirs.some((d) => /src\/flows\/payments\/migrations\/$/.test(d))).toBe(true);
    const versions = (await loadMigrations(dirs)).map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('refuses a migration version used by two folders', async () => {
    const [a, b] = [await mkdtemp(join(tmpdir(), 'mig-')), await mkdtemp(join(tmpdir(), 'mig-'))];
    try {
      await writeFile(join(a, '700001_one.sql'), 'SELECT 1;');
      await writeFile(join(b, '700001_other.sql'), 'SELECT 1;');
      await expect(loadMigrations([a, b])).rejects.toThrow(/version 700001 is used twice/);
    } finally {
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
  });

  it('audit_log is append-only: UPDATE, DELETE and TRUNCATE are rejected', async () => {
    const subject = `test:${randomUUID()}`;
    const audit = auditLogRepo(pool);
    expect(
      await audit.append({ subject, action: 'created', actor: { kind: 'system' }, idempotencyKey: `${subject}:1` }),
    ).toBe(true);
    // Same idempotency key (an activity retry): no second row.
    expect(
      await audit.append({ subject, action: 'created', actor: { kind: 'system' }, idempotencyKey: `${subject}:1` }),
    ).toBe(false);
    await expect(pool.query(`UPDATE audit_log SET action = 'x' WHERE subject = $1`, [subject])).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query(`DELETE FROM audit_log WHERE subject = $1`, [subject])).rejects.toThrow(/append-only/);
    await expect(pool.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
    const rows = await audit.bySubject(subject);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.action).toBe('created');
  });

  it('inbound_events claims a delivery once and tells repeats apart', async () => {
    const repo = inboundEventsRepo(pool);
    const id = `Ev${randomUUID()}`;
    expect(await repo.claim('slack', id, 'h')).toBe('new');
    expect(await repo.claim('slack', id, 'h')).toBe('pending'); // crashed before hand-off: hand off again
    await repo.markHandedOff('slack', id, 'payment:x', 'payment:x');
    expect(await repo.claim('slack', id, 'h')).toBe('handed_off');
    expect(await repo.claim('jira', id, 'h')).toBe('new'); // sources are separate namespaces
  });

  it('slack_messages records a post once per idempotency key and finds the subject of a thread', async () => {
    const repo = slackMessagesRepo(pool);
    const key = `k-${randomUUID()}`;
    const ts = `${Date.now() / 1000}`;
    const row = {
      subject: 'payment:o1',
      channel: 'C0PAYMENTS',
      ts,
      threadTs: null,
      purpose: 'root',
      idempotencyKey: key,
    };
    await repo.record(row);
    await repo.record(row);
    expect(await repo.bySubject('payment:o1')).toHaveLength(1);
    await repo.record({ ...row, ts: `${ts}1`, threadTs: ts, purpose: 'reply', idempotencyKey: `${key}:r` });
    expect(await repo.subjectFor('C0PAYMENTS', ts)).toBe('payment:o1');
    expect(await repo.byIdempotencyKey(key)).toMatchObject({ ts });
  });
});
