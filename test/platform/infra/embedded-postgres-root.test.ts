import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  postgresInstallDir,
  startEmbeddedPostgres,
  type EmbeddedPg,
} from '../../../src/platform/infra/embedded-postgres.js';
import { freePort } from '../../helpers/ports.js';

/**
 * Running as root from a checkout other users cannot traverse (defect 9): Postgres runs as the
 * `postgres` system user, which cannot reach binaries under a 0700 directory, and Threadline
 * must not loosen anything outside its data directory to make it work. Only meaningful as root
 * (which is how CI and the dev machines run); skipped otherwise.
 */
const asRoot = process.getuid?.() === 0;

/** Mode of every directory from `/` down to `path`. */
async function modes(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let d = path; ; d = dirname(d)) {
    out.set(d, (await stat(d)).mode & 0o7777);
    if (dirname(d) === d) return out;
  }
}

describe.skipIf(!asRoot)('embedded Postgres as root', () => {
  const cleanup: string[] = [];
  const running: EmbeddedPg[] = [];
  afterAll(async () => {
    for (const p of running) await p.stop();
    for (const d of cleanup) await rm(d, { recursive: true, force: true });
  });

  /** A copy of the shipped binaries under a fresh 0700 directory, as in a checkout under /root. */
  async function lockedInstall(): Promise<{ locked: string; installDir: string }> {
    const locked = await mkdtemp(join(tmpdir(), 'threadline-locked-'));
    cleanup.push(locked);
    expect((await stat(locked)).mode & 0o777).toBe(0o700);
    const installDir = join(locked, 'checkout', 'native');
    await cp(await postgresInstallDir(), installDir, { recursive: true, verbatimSymlinks: true });
    return { locked, installDir };
  }

  it('starts from binaries the postgres user cannot reach, changing no mode outside the data directory', async () => {
    const { locked, installDir } = await lockedInstall();
    const dataParent = await mkdtemp(join(tmpdir(), 'threadline-pgdata-'));
    cleanup.push(dataParent);
    const dir = join(dataParent, 'pg');
    const before = new Map([...(await modes(join(installDir, 'bin'))), ...(await modes(dirname(dataParent)))]);

    const db = await startEmbeddedPostgres({
      dir,
      port: await freePort(),
      persistent: false,
      log: () => undefined,
      installDir,
    });
    running.push(db);
    const c = new pg.Client(db.databaseUrl);
    await c.connect();
    const { rows } = await c.query<{ user: string }>('SELECT current_user AS user');
    await c.end();
    expect(rows[0]!.user).toBe('threadline');

    const after = new Map([...(await modes(join(installDir, 'bin'))), ...(await modes(dirname(dataParent)))]);
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(before));
    expect((await stat(locked)).mode & 0o777).toBe(0o700);
  });

  it('refuses a data directory under a non-traversable directory, naming it and the variable to set', async () => {
    const { locked, installDir } = await lockedInstall();
    const dir = join(locked, 'data', 'postgres');
    const before = await modes(locked);
    const started = startEmbeddedPostgres({
      dir,
      port: await freePort(),
      persistent: false,
      log: () => undefined,
      installDir,
    });
    started.then(
      (db) => running.push(db),
      () => undefined,
    );
    await expect(started).rejects.toThrow(new RegExp(`${locked} \\(mode 0700.*is not traversable.*Set DATA_DIR`, 's'));
    expect(Object.fromEntries(await modes(locked))).toEqual(Object.fromEntries(before));
  });
});
