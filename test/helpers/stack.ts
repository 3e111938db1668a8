import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { inject } from 'vitest';
import { startStack, type Stack } from '../../dev/stack.js';
import type { JiraSeed } from '../../emulators/jira/seed.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/platform/observability/logger.js';
import { sharedBundle } from './bundle.js';
import './provided.js';

export interface TestStack extends Stack {
  config: Config;
  taskQueue: string;
}

/**
 * The real stack for one test file: worker + API + both emulators on ephemeral ports, against the
 * shared Temporal dev server and Postgres, with its own task queue and data dir. `workflowBundle`:
 * a bundle of its own (e.g. with a test interceptor), instead of the one global setup built.
 */
export async function startTestStack(
  env: Record<string, string> = {},
  /**
   * `workflowBundle`: a bundle other than the shared one (e.g. with test interceptors);
   * `logger`: where the app logs (a test reading the app's log output); default per LOG_LEVEL to stdout;
   * `jiraSeed`: the Jira emulator's world, e.g. project keys unique to the test file.
   */
  opts: {
    workflowBundle?: WorkflowBundleWithSourceMap;
    logger?: Logger;
    jiraSeed?: JiraSeed;
    /** How long the Slack emulator waits for a Socket Mode ack before redelivering. */
    socketAckTimeoutMs?: number;
    /** A database of its own (migrated by the stack) instead of the shared one: a test counting every table's rows. */
    databaseUrl?: string;
    /** The shared Temporal through another address (a proxy a test can stall: Temporal down for the whole stack). */
    temporalAddress?: string;
  } = {},
): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'threadline-stack-'));
  const taskQueue = `test-${randomUUID()}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    THREADLINE_SANDBOX: 'true',
    DATA_DIR: dataDir,
    TEMPORAL_TASK_QUEUE: taskQueue,
    HOST: '127.0.0.1',
    // The emulator's rate limits are off here: pace briefly, so every post still goes through the pacer.
    SLACK_POST_INTERVAL: '20ms',
    ...env,
  });
  const stack = await startStack({
    config,
    logger: opts.logger ?? createLogger({ level: config.logLevel }),
    log: () => undefined,
    temporalAddress: opts.temporalAddress ?? inject('temporalAddress'),
    databaseUrl: opts.databaseUrl ?? inject('databaseUrl'),
    apiPort: 0,
    emulatorPorts: { slack: 0, jira: 0 },
    workflowBundle: opts.workflowBundle ?? (await sharedBundle()),
    slackEventRetryDelaysMs: [50, 100, 200],
    jiraWebhookRetryDelaysMs: [50, 100, 200],
    emulatorRateLimits: false,
    snapshots: false,
    jiraSeed: opts.jiraSeed,
    socketAckTimeoutMs: opts.socketAckTimeoutMs,
  });
  return {
    ...stack,
    config,
    taskQueue,
    /**
     * Rethrows what stopping collected (a worker that crashed mid-file included), so the test
     * file's afterAll, and with it the file, fails instead of passing quietly.
     */
    async stop() {
      try {
        await stack.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
