import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../platform/observability/logger.js';
import { createMetrics } from '../platform/observability/metrics.js';
import { startApi } from './server.js';

/** Production entry: `node dist/api/main.js` against an external Temporal and Postgres. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'threadline-api' });
  if (!config.temporal.address)
    throw new ConfigError(['TEMPORAL_ADDRESS: required (host:port of the Temporal frontend)']);
  if (!config.databaseUrl) throw new ConfigError(['DATABASE_URL: required (postgres://user:pass@host:5432/db)']);
  const api = await startApi({
    config,
    databaseUrl: config.databaseUrl,
    temporalAddress: config.temporal.address,
    logger,
    metrics: createMetrics(),
  });
  logger.info({ url: api.url }, 'api listening');
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down api');
    api.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
