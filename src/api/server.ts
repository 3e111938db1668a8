import type { FastifyInstance } from 'fastify';
import type { Config } from '../platform/config/index.js';
import { flows as registry } from '../flows/index.js';
import type { AnyFlow } from '../platform/flow.js';
import { migrate, migrationDirs } from '../platform/db/migrate.js';
import { createPool } from '../platform/db/pool.js';
import { auditLogRepo, inboundEventsRepo, slackMessagesRepo } from '../platform/db/repositories.js';
import { connectClient, temporalClient } from '../platform/temporal/connection.js';
import type { Logger } from '../platform/observability/logger.js';
import type { Metrics } from '../platform/observability/metrics.js';
import { slackClientsFor } from '../platform/installations/compose.js';
import { startSocketMode, type SocketModeTransport } from '../platform/slack-ingress/socket-mode.js';
import { buildApp } from './app.js';
import { createReadiness } from './readiness.js';
import { createCallSealer, relayLane } from '../platform/relay/call.js';
import { createRelay, type Relay } from '../platform/relay/relay.js';

export interface RunningApi {
  app: FastifyInstance;
  url: string;
  /** With SLACK_APP_TOKEN: the Socket Mode connection (Slack's requests arrive over it). */
  socketMode?: SocketModeTransport;
  /** Hands the deliveries this deployment recorded to Temporal (every API process runs one). */
  relay: Relay;
  close(): Promise<void>;
}

/** Composes the API's real dependencies and listens. Used by api/main.ts and the dev stack. */
export async function startApi(opts: {
  config: Config;
  databaseUrl: string;
  temporalAddress: string;
  logger: Logger;
  metrics: Metrics;
  port?: number;
  /** The flows to serve (default: the registry). */
  flows?: readonly AnyFlow[];
}): Promise<RunningApi> {
  const { config, logger } = opts;
  const flows = opts.flows ?? registry;
  const pool = createPool(opts.databaseUrl, {
    onError: (err) => logger.warn({ error: err.message }, 'postgres pool error'),
  });
  await migrate(pool, migrationDirs(flows));
  const connection = await connectClient(config.temporal, opts.temporalAddress);
  const temporal = temporalClient(config.temporal, connection);
  const slack = slackClientsFor({ config, pool, metrics: opts.metrics });
  const relay = createRelay({
    pool,
    temporal,
    sealer: createCallSealer(config.temporal),
    lane: relayLane(config.temporal),
    metrics: opts.metrics,
    log: logger,
    options: { pollIntervalMs: config.relay.pollIntervalMs, batchSize: config.relay.batchSize, callTimeoutMs: 5_000 },
  });
  const app = await buildApp({
    config,
    logger,
    metrics: opts.metrics,
    temporal,
    pool,
    repos: {
      inbound: inboundEventsRepo(pool),
      slackMessages: slackMessagesRepo(pool),
      audit: auditLogRepo(pool),
      ...slack.repos,
    },
    readiness: createReadiness({
      client: temporal,
      pool,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      migrationDirs: migrationDirs(flows),
      relay: { stats: relay.stats, lastError: relay.lastError, stuckAfterMs: config.relay.stuckAfterMs },
    }),
    flows,
  });
  const port = opts.port ?? config.port;
  await app.listen({ host: config.host, port });
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  relay.start();
  // Socket Mode: the same pipeline as the HTTP routes, fed over Slack's WebSocket.
  const socketMode = config.slack.appToken
    ? startSocketMode({
        appToken: config.slack.appToken,
        apiUrl: config.slack.apiUrl,
        ingress: app.slackIngress,
        metrics: opts.metrics,
        logger,
      })
    : undefined;
  return {
    app,
    url: `http://127.0.0.1:${actualPort}`,
    ...(socketMode ? { socketMode } : {}),
    relay,
    async close() {
      // Stop accepting first (Socket Mode too), finish in-flight requests, then drop the connections we own.
      await socketMode?.stop();
      await app.close();
      // After the last request: what it recorded is sent now or by the next relay.
      await relay.stop();
      await connection.close();
      await pool.end();
    },
  };
}
