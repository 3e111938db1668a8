import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, runFlowStartHooks } from './activities.js';
import type { Config } from '../platform/config/index.js';
import { flows as registry } from '../flows/index.js';
import type { AnyFlow } from '../platform/flow.js';
import { migrate, migrationDirs } from '../platform/db/migrate.js';
import { createPool } from '../platform/db/pool.js';
import { auditLogRepo, slackMessagesRepo } from '../platform/db/repositories.js';
import { slackClientsFor } from '../platform/installations/compose.js';
import { connectClient, connectWorker, dataConverterFor, temporalClient } from '../platform/temporal/connection.js';
import type { Logger } from '../platform/observability/logger.js';
import type { Metrics } from '../platform/observability/metrics.js';
import { registerOpenLifecycles } from '../platform/observability/open-lifecycles.js';
import { platformSinks } from '../platform/observability/workflow-sinks.js';
import { installTemporalRuntime } from './runtime.js';
import { createWorker } from './worker.js';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after shutdown), rejects if it crashed. */
  done: Promise<void>;
  /** Stop polling, let running activities finish (grace period), close connections. */
  shutdown(): Promise<void>;
}

/** Composes the worker's real dependencies and starts polling. Used by worker/main.ts and the dev stack. */
export async function startWorker(opts: {
  config: Config;
  databaseUrl: string;
  temporalAddress: string;
  logger: Logger;
  metrics: Metrics;
  taskQueue?: string;
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** The flows to serve (default: the registry). */
  flows?: readonly AnyFlow[];
}): Promise<RunningWorker> {
  const { config, logger } = opts;
  const flows = opts.flows ?? registry;
  installTemporalRuntime(logger);
  const pool = createPool(opts.databaseUrl, {
    onError: (err) => logger.warn({ error: err.message }, 'postgres pool error'),
  });
  await migrate(pool, migrationDirs(flows));
  const connection = await connectWorker(config.temporal, opts.temporalAddress);
  // Activities that query workflows (/threadline status) use a plain client connection.
  const clientConnection = await connectClient(config.temporal, opts.temporalAddress);
  const slack = slackClientsFor({ config, pool, metrics: opts.metrics });
  const deps = {
    config,
    logger,
    metrics: opts.metrics,
    pool,
    slack: slack.clients.slack,
    slackScope: slack.clients,
    temporal: temporalClient(config.temporal, clientConnection),
    repos: { audit: auditLogRepo(pool), slackMessages: slackMessagesRepo(pool), ...slack.repos },
    responseUrlPrefixes: ['https://hooks.slack.com/', `${new URL(config.slack.apiUrl).origin}/`],
  };
  const activities = await createActivities(deps, flows);
  const worker = await createWorker(
    {
      connection,
      namespace: config.temporal.namespace,
      taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
      activities,
      dataConverter: dataConverterFor(config.temporal),
      workflowBundle: opts.workflowBundle,
      sinks: platformSinks(opts.metrics),
    },
    flows,
  );
  registerOpenLifecycles({
    registry: opts.metrics.registry,
    temporal: deps.temporal,
    taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
    kinds: flows.flatMap((f) => f.kinds),
  });
  try {
    await runFlowStartHooks(deps, flows);
  } catch (err) {
    // The worker never ran: release what it holds before reporting the failed start.
    await Promise.allSettled([connection.close(), clientConnection.close(), pool.end()]);
    throw err;
  }
  const done = worker.run().finally(async () => {
    await connection.close();
    await clientConnection.close();
    await pool.end();
  });
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
