import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { flows } from '../src/flows/index.js';
import { bundleWorkflows } from '../src/worker/worker.js';
import { spawnApi, spawnWorker, type WorkerProcess } from '../test/helpers/worker-process.js';
import type { BenchStack } from './harness.js';

/**
 * The worker in its own OS process for a benchmark (its RSS measured alone, or killed with -9):
 * the bench stack's in-process worker stops, and `spawn()` starts `test/fixtures/processes/worker.ts`
 * with the stack's env, engines and emulator, on the same task queue. With `BENCH_CPU_PROF_DIR`
 * set (the runner's `--cpu-prof`), each child writes a V8 CPU profile there when it stops.
 */
export interface BenchWorkers {
  spawn(): Promise<WorkerProcess>;
  /** Drained stop (SIGTERM, so a CPU profile is written), then -9 if it has not exited after 30 s. */
  stop(w: WorkerProcess): Promise<void>;
}

/**
 * Node 20 refuses `--cpu-prof` in NODE_OPTIONS (and the child's argv is the fixture's), so each
 * child preloads this (`--import`): it samples the process through the inspector and writes
 * `CPU.<pid>.cpuprofile` into BENCH_CPU_PROF_DIR on SIGTERM (before the drain) or at exit. Plain
 * ESM, loaded before tsx; written next to the bundle at run time.
 */
const PROFILER_SOURCE = `
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname, join } from 'node:path';
const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // A session on the main thread answers synchronously: this works inside 'exit' too.
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, 'CPU.' + process.pid + '.cpuprofile'), JSON.stringify(res.profile));
    });
  };
  process.prependListener('SIGTERM', write);
  process.once('exit', write);
}
`;

async function writeProfiler(dir: string): Promise<string> {
  const path = join(dir, 'cpu-prof-child.mjs');
  await writeFile(path, PROFILER_SOURCE);
  return path;
}

/** Bundles the registry's workflows once into `dir` (the stack and every child share it). */
export async function writeBundle(dir: string) {
  const bundle = await bundleWorkflows(flows);
  const path = join(dir, 'workflows.bundle.js');
  await writeFile(path, bundle.code);
  return { bundle, path };
}

export async function workerChildren(bench: BenchStack, bundlePath: string): Promise<BenchWorkers> {
  await bench.stack.worker.shutdown();
  const { config, stack } = bench;
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  const env: Record<string, string> = {
    ...bench.env,
    SLACK_API_URL: config.slack.apiUrl,
    ...(config.jira ? { JIRA_HOST: config.jira.host } : {}),
    DATABASE_URL: stack.urls.databaseUrl,
    TEMPORAL_ADDRESS: stack.urls.temporal,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    ...(profDir
      ? {
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${await writeProfiler(dirname(bundlePath))}`.trim(),
        }
      : {}),
  };
  await readFile(bundlePath); // fail here, not in the child, if the bundle is missing
  return {
    spawn: () => spawnWorker(env),
    async stop(w) {
      const timer = setTimeout(() => void w.kill9(), 30_000);
      await w.stop();
      clearTimeout(timer);
    },
  };
}

/**
 * The API (HTTP routes and its outbox relay) in its own OS process, as deployed: the benchmark's
 * load generator, the emulators and the worker no longer share its event loop. The bench stack's
 * in-process relay stops (its in-process API stays up, unused); the child serves on `port` with
 * the stack's env and engines. Stop it with `stop()` (SIGTERM: it drains its relay round). With
 * `BENCH_CPU_PROF_DIR` it writes a CPU profile there like the worker children (the preload goes
 * into `scratchDir`).
 */
export async function apiChild(
  bench: BenchStack,
  port: number,
  scratchDir: string,
): Promise<WorkerProcess & { url: string }> {
  await bench.stack.relay.stop();
  const { config, stack } = bench;
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  const child = await spawnApi({
    ...bench.env,
    ...(profDir
      ? {
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${await writeProfiler(scratchDir)}`.trim(),
        }
      : {}),
    PORT: String(port),
    SLACK_API_URL: config.slack.apiUrl,
    ...(config.jira ? { JIRA_HOST: config.jira.host } : {}),
    DATABASE_URL: stack.urls.databaseUrl,
    TEMPORAL_ADDRESS: stack.urls.temporal,
  });
  return { ...child, url: `http://127.0.0.1:${port}` };
}

/** A process's resident set (VmRSS) in bytes, from /proc; 0 where there is no /proc. */
export async function rssOf(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}
