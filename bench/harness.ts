import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startStack, type Stack } from '../dev/stack.js';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { freePort } from '../test/helpers/ports.js';

export interface BenchStack {
  stack: Stack;
  config: Config;
  stop(): Promise<void>;
}

/** Engines already running and a prebuilt bundle: the suite's smoke test in `npm test` reuses global setup's. */
export interface BenchEngines {
  temporalAddress: string;
  databaseUrl: string;
  workflowBundle?: WorkflowBundleWithSourceMap;
}
let engines: BenchEngines | undefined;

/** Every later `startBenchStack` uses these engines instead of starting its own (tests only). */
export function useBenchEngines(e: BenchEngines | undefined): void {
  engines = e;
}

/**
 * The real stack for a benchmark, all in this process: embedded Temporal dev server on SQLite,
 * embedded Postgres, worker, API and emulators, on free ports with a throwaway data dir.
 * Emulator rate limits and our outbound pacing are OFF (Slack's ~1 post/s/channel would otherwise
 * be the whole story), and SLA timers are pushed out of the way unless `env` says otherwise.
 */
export async function startBenchStack(name: string, env: Record<string, string> = {}): Promise<BenchStack> {
  const dataDir = await mkdtemp(join(tmpdir(), `threadline-bench-${name}-`));
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    THREADLINE_SANDBOX: 'true',
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    TEMPORAL_TASK_QUEUE: `bench-${name}-${randomUUID().slice(0, 8)}`,
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    PAYMENT_ESCALATE_AFTER: '1h',
    PAYMENT_OVERDUE_AFTER: '2h',
    PAYMENT_REFUND_GRACE: '1h',
    // Outbound pacing (about one post per second per channel, like Slack's limit) would make
    // every figure a measure of the pacer; bench/pacing.bench.ts measures it on its own.
    SLACK_POST_INTERVAL: '0s',
    ...env,
  });
  console.log('starting stack (embedded Temporal + Postgres, worker, API, emulators; emulator rate limits OFF)…');
  const stack = await startStack({
    config,
    logger: createLogger({ level: 'silent' }),
    log: () => undefined,
    apiPort: 0,
    emulatorPorts: { slack: 0, jira: 0 },
    emulatorRateLimits: false,
    snapshots: false,
    ...(engines ?? {}),
  });
  return {
    stack,
    config,
    async stop() {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
