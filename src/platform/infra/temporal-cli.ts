import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The CLI we build; newer tags carry a `replace` directive and cannot be `go install`ed. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
/** Tried in order if building the pinned tag fails (none of them has a `replace` directive). */
const FALLBACK_VERSIONS = ['1.5.0', '1.4.1'];
const MIN_GO = [1, 25] as const;

export type Log = (msg: string) => void;

export function temporalCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'threadline', 'bin');
}

/**
 * Finds the Temporal CLI: `TEMPORAL_CLI_PATH`, then `temporal` on PATH, then the machine-level
 * cache, else builds it once with `go install` into the cache. A file lock keeps two processes
 * (say `npm start` and a test run) from building at the same time.
 */
export async function ensureTemporalCli(log: Log, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.TEMPORAL_CLI_PATH) {
    if (!existsSync(env.TEMPORAL_CLI_PATH))
      throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} does not exist`);
    return env.TEMPORAL_CLI_PATH;
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return onPath;

  const dir = temporalCacheDir(env);
  const cached = [TEMPORAL_CLI_VERSION, ...FALLBACK_VERSIONS].map((v) => join(dir, `temporal-${v}`)).find(existsSync);
  if (cached) return cached;

  await mkdir(dir, { recursive: true });
  const release = await acquireLock(join(dir, '.build.lock'), log);
  try {
    // Another process may have finished the build while we waited for the lock.
    const built = [TEMPORAL_CLI_VERSION, ...FALLBACK_VERSIONS].map((v) => join(dir, `temporal-${v}`)).find(existsSync);
    if (built) return built;
    await checkGo(env);
    const errors: string[] = [];
    for (const version of [TEMPORAL_CLI_VERSION, ...FALLBACK_VERSIONS]) {
      try {
        return await buildCli(version, dir, log, env);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        errors.push(`v${version}: ${msg}`);
        log(
          `Building Temporal CLI v${version} failed; ${version === FALLBACK_VERSIONS.at(-1) ? 'giving up' : 'trying an older tag'}`,
        );
      }
    }
    throw new Error(
      `Could not build the Temporal CLI with go install:\n${errors.join('\n')}\n` +
        'Set TEMPORAL_ADDRESS to use an existing Temporal server, or TEMPORAL_CLI_PATH to a temporal binary.',
    );
  } finally {
    await release();
  }
}

function findOnPath(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const d of (env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

async function checkGo(env: NodeJS.ProcessEnv): Promise<void> {
  let out: string;
  try {
    out = (await execFileAsync('go', ['version'], { env })).stdout;
  } catch {
    throw new Error(
      `Go is not installed, and it is needed once to build the Temporal CLI (v${TEMPORAL_CLI_VERSION}). ` +
        `Install Go ≥ ${MIN_GO.join('.')} (https://go.dev/dl/), or set TEMPORAL_ADDRESS to an existing Temporal server.`,
    );
  }
  const m = /go(\d+)\.(\d+)/.exec(out);
  const [maj, min] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (maj < MIN_GO[0] || (maj === MIN_GO[0] && min < MIN_GO[1])) {
    throw new Error(
      `Go ${m ? `${maj}.${min}` : '(unknown version)'} is too old to build the Temporal CLI: install Go ≥ ${MIN_GO.join('.')}, ` +
        'or set TEMPORAL_ADDRESS to an existing Temporal server.',
    );
  }
}

async function buildCli(version: string, dir: string, log: Log, env: NodeJS.ProcessEnv): Promise<string> {
  const gobin = join(dir, `.build-${version}-${process.pid}`);
  await rm(gobin, { recursive: true, force: true });
  log(`Building the Temporal CLI v${version} with go install (once per machine; takes a few minutes)…`);
  const started = Date.now();
  let packages = 0;
  let lastReport = 0;
  const stderrTail: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'go',
      [
        'install',
        '-v',
        '-ldflags',
        `-X github.com/temporalio/cli/temporalcli.Version=${version}`,
        `github.com/temporalio/cli/cmd/temporal@v${version}`,
      ],
      { env: { ...env, GOBIN: gobin, CGO_ENABLED: '0' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (!line.trim()) continue;
        packages++;
        stderrTail.push(line);
        if (stderrTail.length > 30) stderrTail.shift();
      }
      const now = Date.now();
      if (now - lastReport > 10_000) {
        lastReport = now;
        log(`  … ${Math.round((now - started) / 1000)}s, ${packages} modules/packages downloaded or compiled`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`go install exited ${code}: ${stderrTail.slice(-8).join(' | ')}`)),
    );
  });
  const target = join(dir, `temporal-${version}`);
  await chmod(join(gobin, 'temporal'), 0o755);
  await rename(join(gobin, 'temporal'), target);
  await rm(gobin, { recursive: true, force: true });
  log(`Temporal CLI v${version} built in ${Math.round((Date.now() - started) / 1000)}s → ${target}`);
  return target;
}

/** A crude cross-process lock: O_EXCL lock file, stale after 20 minutes. */
async function acquireLock(path: string, log: Log): Promise<() => Promise<void>> {
  let announced = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const s = await stat(path).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > 20 * 60_000) {
        await rm(path, { force: true });
        continue;
      }
      if (!announced) {
        log('Another process is building the Temporal CLI; waiting for it…');
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
