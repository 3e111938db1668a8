import { ConfigError, loadConfig } from '../config.js';
import { connectClient } from '../platform/temporal/connection.js';
import { ensureNamespace } from '../platform/temporal/namespace.js';
import { createLogger } from '../platform/observability/logger.js';
import { createMetrics } from '../platform/observability/metrics.js';
import { startMetricsServer } from '../platform/observability/metrics-server.js';
import { installTemporalRuntime } from './runtime.js';
import { startWorker } from './run.js';

/** Production entry: `node dist/worker/main.js` against an external Temporal and Postgres. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'threadline-worker' });
  if (!config.temporal.address)
    throw new ConfigError(['TEMPORAL_ADDRESS: required (host:port of the Temporal frontend)']);
  if (!config.databaseUrl) throw new ConfigError(['DATABASE_URL: required (postgres://user:pass@host:5432/db)']);
  // /metrics: ours and the Temporal SDK's (its exporter binds loopback only; our server merges it
  // in). The Runtime is installed before any native connection exists, or its options are lost.
  const metrics = createMetrics();
  const { port: metricsPort, temporalPort } = config.workerMetrics;
  const sdkMetrics = metricsPort > 0 && temporalPort > 0;
  installTemporalRuntime(logger, sdkMetrics ? { prometheusBindAddress: `127.0.0.1:${temporalPort}` } : {});
  const metricsServer =
    metricsPort > 0
      ? await startMetricsServer({
          registry: metrics.registry,
          host: config.host,
          port: metricsPort,
          temporalUrl: sdkMetrics ? `http://127.0.0.1:${temporalPort}/metrics` : undefined,
        })
      : undefined;
  if (metricsServer) logger.info({ url: metricsServer.url }, 'worker metrics');
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
    metrics,
  });
  logger.info({ taskQueue: config.temporal.taskQueue }, 'worker polling');
  const stop = (signal: string) => {
    logger.info({ signal }, 'draining worker (running activities get the shutdown grace time)');
    void running.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running.done;
  await metricsServer?.close();
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
