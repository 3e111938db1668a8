import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient, temporalClient } from '../src/platform/temporal/connection.js';
import { waitIdle } from '../test/helpers/history.js';
import type { WorkerProcess } from '../test/helpers/worker-process.js';
import { startBenchStack } from './harness.js';
import { paymentDriver, paymentPostsBySubject } from './payment-driver.js';
import { benchScale, figure, type BenchResult } from './result.js';
import { workerChildren, writeBundle } from './worker-child.js';

/**
 * Cost of durability: the payment flow (initiate → root post → `payment.captured` webhook →
 * thread reply and root update) for `BENCH_DURABILITY_LIFECYCLES` (200) lifecycles at
 * `BENCH_DURABILITY_CONCURRENCY` (20), with ONE worker in its own OS process. A disturbed run
 * kills that worker with `kill -9` once half of the lifecycles have finished and starts a new
 * one at once; an undisturbed run does not. Runs alternate (undisturbed, killed, …,
 * `BENCH_DURABILITY_PAIRS` pairs, 3) so both see the same machine; the figure is each killed
 * run's completion time over its undisturbed neighbour's.
 *
 * Correctness, counted in the Slack emulator after every workflow of the run is idle (no pending
 * workflow task, no pending activity, seen twice): each subject must have exactly one root post
 * and exactly one reply in its thread, and its root must have been updated (captured). Lost: a
 * subject missing either; duplicated: any extra root or reply (deleted messages included).
 * Emulator rate limits and pacing are OFF.
 */
const FULL = { lifecycles: 200, concurrency: 20, pairs: 3 };
const QUICK = { lifecycles: 6, concurrency: 2, pairs: 1 };

export async function run(): Promise<BenchResult> {
  const base = benchScale() === 'quick' ? QUICK : FULL;
  const env = process.env;
  const p = {
    lifecycles: Number(env.BENCH_DURABILITY_LIFECYCLES ?? base.lifecycles),
    concurrency: Number(env.BENCH_DURABILITY_CONCURRENCY ?? base.concurrency),
    pairs: Number(env.BENCH_DURABILITY_PAIRS ?? base.pairs),
  };
  const tmp = await mkdtemp(join(tmpdir(), 'threadline-bench-durability-'));
  const { bundle, path: bundlePath } = await writeBundle(tmp);
  const bench = await startBenchStack('durability', {}, { workflowBundle: bundle });
  const { stack, config } = bench;
  const workers = await workerChildren(bench, bundlePath);
  let worker: WorkerProcess = await workers.spawn();
  // A bound, not a figure: after a kill, activities in flight on the dead worker wait out their
  // start-to-close timeout (10–30 s) before Temporal retries them on the new one.
  const driver = await paymentDriver(bench, { waitMs: 180_000 });
  const { slack } = driver;
  const connection = await connectClient(config.temporal, stack.urls.temporal);
  const temporal = temporalClient(config.temporal, connection);

  /** One run: every lifecycle to its reply; with `kill`, the worker dies at the halfway mark. */
  async function runOnce(kill: boolean) {
    await slack.reset();
    driver.clear();
    const subjects: string[] = [];
    let next = 0;
    let killedAt: number | undefined;
    let restartS = 0;
    let restart: Promise<void> = Promise.resolve();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: p.concurrency }, async () => {
        while (next < p.lifecycles) {
          next++;
          subjects.push(await driver.lifecycle());
          // The restart runs beside the drivers: the other lifecycles keep going (or waiting) meanwhile.
          if (kill && killedAt === undefined && subjects.length >= p.lifecycles / 2) {
            const at = Date.now();
            killedAt = at;
            restart = (async () => {
              await worker.kill9();
              worker = await workers.spawn();
              restartS = (Date.now() - at) / 1000;
            })();
          }
        }
      }),
    );
    await restart;
    const seconds = (Date.now() - started) / 1000;
    // Exactly once is counted after every workflow of the run is idle.
    for (const s of subjects) await waitIdle(temporal.workflow.getHandle(s), 120_000);
    const bySubject = await paymentPostsBySubject(slack);
    let lost = 0;
    let duplicated = 0;
    for (const s of subjects) {
      const rootsOf = bySubject.get(s) ?? [];
      const replies = rootsOf.flatMap((m) => m.replies ?? []);
      if (rootsOf.length === 0 || replies.length === 0 || !rootsOf.some((m) => m.history.length > 0)) lost++;
      duplicated += Math.max(0, rootsOf.length - 1) + Math.max(0, replies.length - 1);
    }
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    console.log(
      `  ${kill ? 'killed' : 'undisturbed'}: ${subjects.length} lifecycles in ${seconds.toFixed(1)} s` +
        `${kill ? ` (worker killed at ${(((killedAt ?? started) - started) / 1000).toFixed(1)} s, new one polling ${restartS.toFixed(1)} s later)` : ''}` +
        `; lost ${lost}, duplicated ${duplicated}; load ${load}`,
    );
    return { seconds, lost, duplicated, restartS };
  }

  try {
    await driver.lifecycle(); // warm-up
    const calm: number[] = [];
    const killed: number[] = [];
    const ratios: number[] = [];
    const restarts: number[] = [];
    let lost = 0;
    let duplicated = 0;
    for (let i = 0; i < p.pairs; i++) {
      const a = await runOnce(false);
      const b = await runOnce(true);
      calm.push(a.seconds);
      killed.push(b.seconds);
      ratios.push(b.seconds / a.seconds);
      restarts.push(b.restartS);
      lost += a.lost + b.lost;
      duplicated += a.duplicated + b.duplicated;
    }
    const n = `${p.lifecycles} at ${p.concurrency} concurrent`;
    return {
      figures: [
        figure(`durability: undisturbed run, ${n}`, 's', calm),
        figure(
          `durability: worker killed -9 halfway, ${n}`,
          's',
          killed,
          'activities in flight wait out their start-to-close timeout',
        ),
        figure('durability: killed ÷ undisturbed (alternating pairs)', 'ratio', ratios),
        figure(
          'durability: kill → new worker polling',
          's',
          restarts,
          'worker start (migrations check, connections, bundle load)',
        ),
        figure('durability: lifecycles lost (all runs)', 'count', [lost]),
        figure('durability: effects duplicated (all runs)', 'count', [duplicated]),
      ],
      notes: [`durability: ${p.pairs} pairs of runs, ${n}; lost ${lost}, duplicated ${duplicated}`],
    };
  } finally {
    await driver.stop();
    await connection.close();
    await workers.stop(worker).catch(() => undefined);
    await bench.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}
