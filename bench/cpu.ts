import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';

/** CPU seconds used so far by each part of the stack on this machine (Linux /proc; zeros elsewhere). */
export interface CpuSample {
  atMs: number;
  /** This process: worker, API and emulators (Node). */
  node: number;
  /** The Temporal dev server (SQLite inside it). */
  temporal: number;
  /** Every Postgres process (the embedded server's backends). */
  postgres: number;
}

const TICKS = 100; // USER_HZ on Linux

/** One process's CPU seconds (its own and its reaped children's), parent pid and command line; undefined once gone. */
export async function procCpu(pid: string): Promise<{ ppid: string; cmd: string; seconds: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the comm: state, ppid, … utime, stime, cutime, cstime (fields 14–17, 1-based: 11–14 here).
    const seconds = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
    return { ppid: f[1]!, cmd, seconds };
  } catch {
    return undefined; // gone between readdir and read, or not Linux
  }
}

/** True for the command line of the Temporal dev server listening on `port`. */
const isDevServer = (cmd: string, port: number) => cmd.includes('start-dev') && cmd.includes(`--port ${port} `);

/** The pid of the Temporal dev server listening on `port` (Linux /proc), if found. */
export async function devServerPid(port: number): Promise<number | undefined> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of names.filter((n) => /^\d+$/.test(n))) {
    const p = await procCpu(pid);
    if (p && isDevServer(p.cmd, port)) return Number(pid);
  }
  return undefined;
}

/**
 * A sample of the stack's CPU use: this process, the Temporal dev server listening on
 * `temporalPort`, and the Postgres server on `postgresPort` with its backends (its children;
 * exited backends count through the postmaster's cutime/cstime).
 */
export async function sampleCpu(ports: { temporalPort: number; postgresPort: number }): Promise<CpuSample> {
  const usage = process.cpuUsage();
  const out: CpuSample = { atMs: Date.now(), node: (usage.user + usage.system) / 1e6, temporal: 0, postgres: 0 };
  const pids = await readdir('/proc').then(
    (names) => names.filter((p) => /^\d+$/.test(p)),
    () => [] as string[], // not Linux: the Node figure only
  );
  const all = new Map<string, { ppid: string; cmd: string; seconds: number }>();
  for (const pid of pids) {
    const p = await procCpu(pid);
    if (p) all.set(pid, p);
  }
  const postmaster = [...all].find(
    ([, p]) => p.cmd.includes('postgres') && p.cmd.includes(` -p ${ports.postgresPort} `),
  );
  for (const [pid, p] of all) {
    if (isDevServer(p.cmd, ports.temporalPort)) out.temporal += p.seconds;
    else if (postmaster && (pid === postmaster[0] || p.ppid === postmaster[0])) out.postgres += p.seconds;
  }
  return out;
}

/** Each part's share of one core between two samples (1.0 = one core busy the whole time). */
export function cpuShares(a: CpuSample, b: CpuSample): { node: number; temporal: number; postgres: number } {
  const wall = Math.max(0.001, (b.atMs - a.atMs) / 1000);
  return {
    node: (b.node - a.node) / wall,
    temporal: (b.temporal - a.temporal) / wall,
    postgres: (b.postgres - a.postgres) / wall,
  };
}

/** Which part used the most CPU, in words, with every share (cores: of `os.cpus().length`). */
export function describeShares(s: { node: number; temporal: number; postgres: number }): string {
  const parts = Object.entries(s).sort((x, y) => y[1] - x[1]);
  const name = { node: 'worker+API+emulators (Node)', temporal: 'Temporal dev server', postgres: 'Postgres' } as Record<
    string,
    string
  >;
  return `${parts.map(([k, v]) => `${name[k]} ${v.toFixed(2)} cores`).join(', ')} of ${cpus().length}`;
}
