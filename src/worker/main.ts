import { ConfigError, loadConfig } from '../config.js';
import { connectClient } from '../platform/temporal/connection.js';
import { ensureNamespace } from '../platform/temporal/namespace.js';
import { createLogger } from '../platform/observability/logger.js';
import { createMetrics } from '../platform/observability/metrics.js';
import { startWorker } from './run.js';

/** Production entry: `node dist/worker/main.js` against an external Temporal and Postgres. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'threadline-worker' });
  if (!config.temporal.address)
    throw new ConfigError(['TEMPORAL_ADDRESS: required (host:port of the Temporal frontend)']);
  if (!config.databaseUrl) throw new ConfigError(['DATABASE_URL: required (postgres://user:pass@host:5432/db)']);
  // Register our search attributes if the cluster lets us (self-hosted); Temporal Cloud manages
  // them in its control plane, where this fails: then say so and go on.
  const conn = await connectClient(config.temporal, config.temporal.address);
  await ensureNamespace(conn, config.temporal.namespace, (m) => logger.info(m), { setRetention: false }).catch(
    (err: unknown) => logger.warn({ err }, 'could not verify search attributes'),
  );
  await conn.close();
  const running = await startWorker({
    config,
    databaseUrl: config.databaseUrl,
    temporalAddress: config.temporal.address,
    logger,
    metrics: createMetrics(),
  });
  logger.info({ taskQueue: config.temporal.taskQueue }, 'worker polling');
  const stop = (signal: string) => {
    logger.info({ signal }, 'draining worker (running activities get the shutdown grace time)');
    void running.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running.done;
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
