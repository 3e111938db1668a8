import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../src/platform/config/index.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { createMetrics } from '../src/platform/observability/metrics.js';
import { startWorker } from '../src/worker/run.js';
import { cpuShares, describeShares, sampleCpu } from './cpu.js';
import { startBenchStack } from './harness.js';
import { paymentDriver } from './payment-driver.js';
import { benchScale, figure, type BenchFigure, type BenchResult } from './result.js';
import { writeBundle } from './worker-child.js';

/**
 * Worker tuning on the payments lifecycle: one stack, and for each worker configuration below a
 * fresh worker (in this process, like `npm start`'s) on the stack's task queue; payment lifecycles
 * completed per second at `BENCH_TUNING_CONCURRENCY` (20) for `BENCH_TUNING_SEGMENT_S` (10 s)
 * per configuration, configurations taken in turn for `BENCH_TUNING_ROUNDS` (3) rounds so a busy
 * machine's swings hit each alike; each figure is the median of its rounds and its ratio to the
 * defaults in the same round. The sticky-queue timeout does not change a healthy worker's
 * throughput (it only decides how long a dead worker's cached workflows wait): see
 * bench/durability.bench.ts for that.
 */
const CONFIGS: { name: string; tuning: Partial<Config['worker']> }[] = [
  { name: 'defaults (activities 50, workflow tasks 40, cache SDK default)', tuning: {} },
  {
    name: 'activities 100, workflow tasks 100',
    tuning: { maxConcurrentActivities: 100, maxConcurrentWorkflowTasks: 100 },
  },
  { name: 'activities 20, workflow tasks 10', tuning: { maxConcurrentActivities: 20, maxConcurrentWorkflowTasks: 10 } },
  { name: 'activities 8, workflow tasks 4', tuning: { maxConcurrentActivities: 8, maxConcurrentWorkflowTasks: 4 } },
  {
    name: 'cache 10 (evicts: fewer than in flight)',
    tuning: { maxCachedWorkflows: 10, maxConcurrentWorkflowTasks: 10 },
  },
];

export async function run(): Promise<BenchResult> {
  const quick = benchScale() === 'quick';
  const env = process.env;
  const p = {
    rounds: Number(env.BENCH_TUNING_ROUNDS ?? (quick ? 1 : 3)),
    segmentS: Number(env.BENCH_TUNING_SEGMENT_S ?? (quick ? 2 : 10)),
    concurrency: Number(env.BENCH_TUNING_CONCURRENCY ?? (quick ? 2 : 20)),
  };
  const tmp = await mkdtemp(join(tmpdir(), 'threadline-bench-tuning-'));
  const { bundle } = await writeBundle(tmp);
  const bench = await startBenchStack('tuning', {}, { workflowBundle: bundle });
  const { stack, config } = bench;
  await stack.worker.shutdown();
  const driver = await paymentDriver(bench, { waitMs: 120_000 });
  const cpuPorts = { temporalPort: config.temporal.devPort, postgresPort: config.embeddedPostgresPort };
  const rates = CONFIGS.map(() => [] as number[]);
  const ratios = CONFIGS.map(() => [] as number[]);
  const shares = CONFIGS.map(() => ({ node: 0, temporal: 0, postgres: 0 }));
  try {
    for (let round = 0; round < p.rounds; round++) {
      for (const [i, c] of CONFIGS.entries()) {
        const worker = await startWorker({
          config: { ...config, worker: { ...config.worker, ...c.tuning } },
          databaseUrl: stack.urls.databaseUrl,
          temporalAddress: stack.urls.temporal,
          logger: createLogger({ level: 'silent' }),
          metrics: createMetrics(),
          workflowBundle: bundle,
        });
        try {
          await driver.slack.reset();
          driver.clear();
          await Promise.all(Array.from({ length: Math.min(4, p.concurrency) }, () => driver.lifecycle())); // warm-up
          const a = await sampleCpu(cpuPorts);
          rates[i]!.push(await driver.segment(p.segmentS, p.concurrency));
          const s = cpuShares(a, await sampleCpu(cpuPorts));
          for (const k of ['node', 'temporal', 'postgres'] as const) shares[i]![k] += s[k] / p.rounds;
          ratios[i]!.push(rates[i]!.at(-1)! / rates[0]!.at(-1)!);
          console.log(
            `  round ${round + 1}, ${c.name}: ${rates[i]!.at(-1)!.toFixed(1)} lifecycles/s (load ${loadavg()[0]!.toFixed(1)})`,
          );
        } finally {
          await worker.shutdown();
        }
      }
    }
    const figures: BenchFigure[] = CONFIGS.flatMap((c, i) => [
      figure(
        `tuning: ${c.name}: lifecycles/s at ${p.concurrency} concurrent`,
        '/s',
        rates[i]!,
        `CPU: ${describeShares(shares[i]!)}`,
      ),
      ...(i ? [figure(`tuning: ${c.name} ÷ defaults (same round)`, 'ratio', ratios[i]!)] : []),
    ]);
    return { figures, notes: [`tuning: ${p.rounds} rounds of ${p.segmentS} s per configuration`] };
  } finally {
    await driver.stop();
    await bench.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}
