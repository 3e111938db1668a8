import { Session } from 'node:inspector/promises';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * CPU profiles for `npm run bench -- <name> --cpu-prof` (or `BENCH_CPU_PROF=<dir>`): this
 * process (API, emulators, the load driver and, for benchmarks that keep it in-process, the
 * worker) is sampled through the inspector around each benchmark; worker processes a benchmark
 * spawns (bench/worker-child.ts) run with `--cpu-prof` into the same folder. The Temporal dev
 * server (Go) has no profiling endpoint in the CLI: its share comes from bench/cpu.ts instead.
 * Open a `.cpuprofile` in Chrome DevTools (Performance → Load profile) or speedscope.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Starts sampling this process; `stop(path)` writes the profile and answers its path. */
export async function profileSelf(): Promise<{ stop(path: string): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(path) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await writeFile(path, JSON.stringify(profile));
      return path;
    },
  };
}

/** A script's place, short: `pkg/…/file.js` inside node_modules, else the path from the checkout. */
function where(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith(process.cwd()) ? path.slice(process.cwd().length + 1) : basename(path);
}

/** `fn (file:line) 12.3%, …`: the `top` functions by self time, of all non-idle samples. */
export async function hottest(path: string, top = 5): Promise<string> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as { nodes: ProfileNode[] };
  const byFn = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits || n.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const key = url
      ? `${functionName || '(anonymous)'} (${where(url)}:${lineNumber + 1})`
      : functionName || '(anonymous)';
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
    total += hits;
  }
  return [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${k} ${((100 * v) / Math.max(1, total)).toFixed(1)}%`)
    .join(', ');
}

/** Profiles written into `dir` that are not in `before` (the ones a benchmark's children left). */
export async function newProfiles(dir: string, before: ReadonlySet<string>): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile') && !before.has(f)).map((f) => join(dir, f));
}
