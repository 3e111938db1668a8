import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Log } from './temporal-cli.js';

/**
 * An embedded engine (the Temporal dev server, Postgres) as a child process that cannot outlive
 * us. It runs in its own process group, so a terminal's Ctrl-C reaches only Threadline, which
 * then stops it last, in order. Node has no PR_SET_PDEATHSIG, so a watchdog (a tiny detached
 * `node -e` process) holds the read end of a pipe whose write end only we hold: when we die for
 * any reason, kill -9 included, the kernel closes it, the watchdog reads EOF and stops the
 * engine's process group (the engine's own stop signal, then SIGKILL after the grace period).
 * A pid file records the engine so that a start after a crash that took the watchdog too can
 * find the leftover and stop it, after checking that the pid is still that very process.
 */
export interface EngineProcess {
  child: ChildProcess;
  /** The last lines the engine printed (for start-up errors). */
  output(): string;
  /** Exit code, or the signal name, once it has exited; undefined while it runs. */
  exited(): number | string | undefined;
  /** Stop signal, wait up to the grace period, then SIGKILL the group; removes the pid file. */
  stop(): Promise<void>;
}

export interface EngineSpec {
  /** For messages: "Temporal dev server", "PostgreSQL". */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** The engine's orderly stop: SIGINT is Postgres's fast shutdown, SIGTERM Temporal's. */
  stopSignal: NodeJS.Signals;
  graceMs: number;
  /** Where to record the running engine (inside DATA_DIR); omitted for throwaway test engines. */
  pidFile?: string;
  log: Log;
}

interface PidRecord {
  name: string;
  pid: number;
  /** Kernel start time of the process (Linux: /proc/<pid>/stat field 22), guards against pid reuse. */
  startTime: string | null;
  argv: string[];
  stopSignal: NodeJS.Signals;
}

/** Marks the watchdog in `ps` output and lets tests find it. */
export const WATCHDOG_MARKER = 'threadline-engine-watchdog';

// Plain JavaScript on purpose: `node -e` starts it in ~40 ms with no loader. argv: marker, pgid,
// stop signal, grace ms. EOF on stdin = our parent is gone. It exits by itself once the group
// has gone (the engine stopped normally), so it never outlives what it guards.
const WATCHDOG_SOURCE = `
const [, pgid, signal, grace] = process.argv.slice(1);
const group = -Number(pgid);
const alive = () => { try { process.kill(group, 0); return true; } catch { return false; } };
const send = (s) => { try { process.kill(group, s); } catch {} };
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  send(signal);
  const deadline = Date.now() + Number(grace);
  setInterval(() => {
    if (!alive()) process.exit(0);
    if (Date.now() > deadline) { send('SIGKILL'); process.exit(0); }
  }, 100);
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setInterval(() => { if (!stopping && !alive()) process.exit(0); }, 1000);
`;

/** Starts the engine in its own process group, under a watchdog, recorded in its pid file. */
export async function spawnEngine(spec: EngineSpec): Promise<EngineProcess> {
  if (spec.pidFile) await stopLeftoverEngine({ pidFile: spec.pidFile, log: spec.log });
  const child = spawn(spec.command, spec.args, {
    env: spec.env,
    uid: spec.uid,
    gid: spec.gid,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (d: Buffer) => {
    lines.push(d.toString('utf8'));
    if (lines.length > 50) lines.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit: number | string | undefined;
  const exitedP = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve();
    }),
  );
  // A spawn failure (EACCES, ENOENT) arrives as 'error' with no 'exit'.
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  await spawned;
  const pid = child.pid!;

  const watchdog = spawn(
    process.execPath,
    ['-e', WATCHDOG_SOURCE, WATCHDOG_MARKER, String(pid), spec.stopSignal, String(spec.graceMs)],
    {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  watchdog.unref();
  // Holding the pipe open must not keep our event loop alive.
  (watchdog.stdin as unknown as Socket).unref();
  watchdog.stdin?.on('error', () => undefined);

  // A normal process.exit (a forced second Ctrl-C) runs exit hooks: signal the engine at once;
  // the watchdog, seeing EOF right after, escalates to SIGKILL if it lingers.
  const onExit = () => signalGroup(pid, spec.stopSignal);
  process.once('exit', onExit);

  if (spec.pidFile) {
    const record: PidRecord = {
      name: spec.name,
      pid,
      startTime: await processStartTime(pid),
      argv: [spec.command, ...spec.args],
      stopSignal: spec.stopSignal,
    };
    await writeFile(spec.pidFile, `${JSON.stringify(record)}\n`, { mode: 0o644 });
  }

  let stopping: Promise<void> | undefined;
  return {
    child,
    output: () => lines.join(''),
    exited: () => exit,
    stop() {
      stopping ??= (async () => {
        if (exit === undefined) {
          child.kill(spec.stopSignal);
          const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), spec.graceMs);
          await exitedP;
          clearTimeout(timer);
        }
        // Backends or helpers the engine left in its group go with it.
        signalGroup(pid, 'SIGKILL');
        process.removeListener('exit', onExit);
        watchdog.kill('SIGKILL');
        if (spec.pidFile) await rm(spec.pidFile, { force: true });
      })();
      return stopping;
    },
  };
}

/**
 * Stops the engine a previous run recorded in `pidFile` if it is still running, and removes the
 * file. The pid is trusted only if that process has the recorded start time and command line (a
 * reused pid is some other program and is left alone).
 */
export async function stopLeftoverEngine(opts: { pidFile: string; log: Log; graceMs?: number }): Promise<void> {
  const record = await readPidFile(opts.pidFile);
  if (!record) return;
  if (await isSameProcess(record)) {
    opts.log(
      `Stopping a leftover ${record.name} (pid ${record.pid}) from a previous run that did not shut down (recorded in ${opts.pidFile})`,
    );
    signalGroup(record.pid, record.stopSignal);
    if (!(await waitForExit(record.pid, opts.graceMs ?? 15_000))) {
      signalGroup(record.pid, 'SIGKILL');
      await waitForExit(record.pid, 5_000);
    }
  }
  await rm(opts.pidFile, { force: true });
}

async function readPidFile(path: string): Promise<PidRecord | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as Partial<PidRecord>;
    if (typeof r.pid === 'number' && Array.isArray(r.argv) && typeof r.name === 'string' && r.stopSignal)
      return r as PidRecord;
  } catch {
    // An unreadable pid file names no process we could verify: drop it below.
  }
  await rm(path, { force: true });
  return undefined;
}

async function isSameProcess(r: PidRecord): Promise<boolean> {
  if (!isAlive(r.pid)) return false;
  const commandLine = await processCommandLine(r.pid);
  if (commandLine !== r.argv.join(' ')) return false;
  return r.startTime === null || r.startTime === (await processStartTime(r.pid));
}

/** Alive and not a zombie (a zombie still answers kill 0 until its parent reaps it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return processState(pid) !== 'Z';
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * /proc/<pid>/stat fields after "(comm)", which may itself contain spaces: [0] is the state,
 * [19] the start time. Linux only: elsewhere there is no /proc, a pid file never verifies, and
 * the watchdog is the only guard.
 */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function processState(pid: number): string | undefined {
  try {
    // Sync: called from polling loops and exit paths; one small procfs read.
    return statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'))[0];
  } catch {
    return undefined;
  }
}

async function processStartTime(pid: number): Promise<string | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return text === undefined ? null : (statFields(text)[19] ?? null);
}

/** The command line as one string: Postgres may rewrite its argv area, turning NULs into spaces. */
async function processCommandLine(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return text?.replace(/\0+$/, '').replace(/\0/g, ' ');
}
