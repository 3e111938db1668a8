import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { JiraSeed } from '../emulators/jira/seed.js';
import { startJiraEmulator } from '../emulators/jira/server.js';
import { ADMIN_USER_SCOPES, SANDBOX_ADMIN_USER_TOKEN } from '../emulators/slack/seed.js';
import { startSlackEmulator } from '../emulators/slack/server.js';
import { startApi } from '../src/api/server.js';
import type { Config } from '../src/platform/config/index.js';
import { startEmbeddedPostgres } from '../src/platform/infra/embedded-postgres.js';
import { stopLeftoverEngine } from '../src/platform/infra/engine-process.js';
import { assertPortsFree, type PlannedPort } from '../src/platform/infra/ports.js';
import { ensureTemporalCli, type Log } from '../src/platform/infra/temporal-cli.js';
import { connectClient } from '../src/platform/temporal/connection.js';
import { startTemporalDevServer } from '../src/platform/infra/temporal-dev-server.js';
import { ensureNamespace } from '../src/platform/temporal/namespace.js';
import type { Logger } from '../src/platform/observability/logger.js';
import { createMetrics } from '../src/platform/observability/metrics.js';
import { startWorker, type RunningWorker } from '../src/worker/run.js';
import type { Relay } from '../src/platform/relay/relay.js';

export interface StackUrls {
  api: string;
  temporal: string;
  temporalUi: string | undefined;
  slackEmulator: string | undefined;
  jiraEmulator: string | undefined;
  databaseUrl: string;
  dataDir: string;
}

export interface Stack {
  urls: StackUrls;
  /** The running Temporal worker (tests read its state). */
  worker: RunningWorker;
  /** The running API's Fastify instance (tests list the routes it serves). */
  app: FastifyInstance;
  /** The API's outbox relay (a benchmark that runs the API in its own process stops this one). */
  relay: Relay;
  /**
   * Settles when the worker stops: resolves after `stop()`, rejects as soon as the worker crashes
   * on its own (its run promise rejected). `stop()` rethrows that crash too.
   */
  workerDone: Promise<void>;
  /**
   * Stops every part in reverse order (the API stops accepting, the worker drains, then the
   * emulators and the engines), trying each even if an earlier one failed, and rejects with a
   * `StackStopError` listing every part that failed, a worker that crashed earlier included.
   */
  stop(): Promise<void>;
}

/**
 * Every part of the stack that failed to stop, with its error, in stop order. A plain Error, not
 * an AggregateError: vitest reports an AggregateError as its inner errors and would drop which
 * part failed.
 */
export class StackStopError extends Error {
  constructor(readonly failures: { name: string; error: unknown }[]) {
    super(`stopping the stack failed: ${failures.map((f) => `${f.name}: ${errorMessage(f.error)}`).join('; ')}`, {
      cause: failures[0]?.error,
    });
    this.name = 'StackStopError';
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface StackOptions {
  config: Config;
  logger: Logger;
  log: Log;
  /** Tests: an already running Temporal/Postgres (from global setup) and ephemeral ports. */
  temporalAddress?: string;
  databaseUrl?: string;
  apiPort?: number;
  emulatorPorts?: { slack: number; jira: number };
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Delays for the emulators' delivery retries (tests shorten them). */
  slackEventRetryDelaysMs?: number[];
  jiraWebhookRetryDelaysMs?: number[];
  emulatorRateLimits?: boolean;
  snapshots?: boolean;
  /** Tests: how long the emulator waits for a Socket Mode ack before redelivering (Slack: 3 s). */
  socketAckTimeoutMs?: number;
  /**
   * Tests: the Jira emulator's world (e.g. project keys of their own: issue keys are per emulator,
   * while the workflow ids and the database they name are shared by every stack of a test run).
   */
  jiraSeed?: JiraSeed;
}

/**
 * The whole stack in one process, in dependency order: Temporal (embedded dev server unless
 * TEMPORAL_ADDRESS), Postgres (embedded unless DATABASE_URL), the emulators in sandbox mode,
 * the worker and the API. `stop()` tears down in reverse: the API stops accepting, the worker
 * drains, then the servers stop.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const { config, log } = opts;
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const stops: { name: string; fn: () => Promise<void> }[] = [];
  const stopAll = async () => {
    const failures: { name: string; error: unknown }[] = [];
    for (const s of stops.reverse()) {
      try {
        await s.fn();
        log(`${s.name} stopped`);
      } catch (error) {
        log(`error stopping ${s.name}: ${errorMessage(error)}`);
        failures.push({ name: s.name, error });
      }
    }
    stops.length = 0;
    if (failures.length) throw new StackStopError(failures);
  };

  const embeddedTemporal = (opts.temporalAddress ?? config.temporal.address) === undefined;
  const embeddedPostgres = (opts.databaseUrl ?? config.databaseUrl) === undefined;
  const pidFiles = { temporal: join(dataDir, 'temporal.pid'), postgres: join(dataDir, 'postgres.pid') };
  // A run that crashed may have left its engines behind (recorded in DATA_DIR): stop them, then
  // make sure every port we are about to bind is free, before anything starts.
  if (embeddedTemporal) await stopLeftoverEngine({ pidFile: pidFiles.temporal, log });
  if (embeddedPostgres) await stopLeftoverEngine({ pidFile: pidFiles.postgres, log });
  await assertPortsFree(plannedPorts(opts, embeddedTemporal, embeddedPostgres));

  try {
    let temporalAddress = opts.temporalAddress ?? config.temporal.address;
    let temporalUi: string | undefined;
    if (temporalAddress === undefined) {
      const cliPath = await ensureTemporalCli(log);
      const dev = await startTemporalDevServer({
        cliPath,
        dbFile: join(dataDir, 'temporal.db'),
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        log,
        pidFile: pidFiles.temporal,
      });
      stops.push({ name: 'temporal', fn: () => dev.stop() });
      temporalAddress = dev.address;
      temporalUi = dev.uiUrl;
    }
    const conn = await connectClient(config.temporal, temporalAddress);
    try {
      await ensureNamespace(conn, config.temporal.namespace, log, { setRetention: embeddedTemporal });
    } finally {
      await conn.close();
    }

    let databaseUrl = opts.databaseUrl ?? config.databaseUrl;
    if (databaseUrl === undefined) {
      const pg = await startEmbeddedPostgres({
        dir: join(dataDir, 'postgres'),
        port: config.embeddedPostgresPort,
        persistent: true,
        log,
        pidFile: pidFiles.postgres,
      });
      stops.push({ name: 'postgres', fn: () => pg.stop() });
      databaseUrl = pg.databaseUrl;
    }

    const apiPort = opts.apiPort ?? config.port;
    const appBase = `http://127.0.0.1:${apiPort}`;
    let slackEmulator: string | undefined;
    let jiraEmulator: string | undefined;
    let setSlackAppUrls: ((base: string) => void) | undefined;
    let setJiraWebhookUrl: ((base: string) => void) | undefined;
    if (config.sandbox) {
      const slack = await startSlackEmulator({
        port: opts.emulatorPorts?.slack ?? config.slack.emulatorPort,
        botToken: config.slack.botToken,
        signingSecret: config.slack.signingSecret,
        rateLimits: opts.emulatorRateLimits ?? true,
        eventRetryDelaysMs: opts.slackEventRetryDelaysMs,
        snapshotPath: opts.snapshots === false ? undefined : join(dataDir, 'slack-emulator.json'),
        // The sandbox app: its OAuth client (installs into the second workspace) and, with an
        // app-level token, Socket Mode instead of HTTP deliveries.
        ...(config.slack.oauth
          ? { oauth: { clientId: config.slack.oauth.clientId, clientSecret: config.slack.oauth.clientSecret } }
          : {}),
        ...(config.slack.appToken ? { appToken: config.slack.appToken, socketMode: true } : {}),
        ...(opts.socketAckTimeoutMs ? { socketAckTimeoutMs: opts.socketAckTimeoutMs } : {}),
        // The sandbox admin's user token (Admin API), as the standalone emulator has it (main.ts).
        userTokens: [{ token: SANDBOX_ADMIN_USER_TOKEN, user: 'U0ALICE', scopes: ADMIN_USER_SCOPES }],
      });
      stops.push({ name: 'slack emulator', fn: () => slack.stop() });
      slackEmulator = slack.url;
      config.slack.apiUrl = slack.apiUrl;
      setSlackAppUrls = (base) =>
        slack.setAppUrls({
          events: `${base}/slack/events`,
          interactivity: `${base}/slack/interactions`,
          commands: `${base}/slack/commands`,
        });
      if (config.jira) {
        const jira = await startJiraEmulator({
          port: opts.emulatorPorts?.jira ?? config.jira.emulatorPort,
          email: config.jira.email,
          apiToken: config.jira.apiToken,
          webhookSecret: config.jira.webhookSecret,
          rateLimits: opts.emulatorRateLimits ?? true,
          webhookRetryDelaysMs: opts.jiraWebhookRetryDelaysMs,
          snapshotPath: opts.snapshots === false ? undefined : join(dataDir, 'jira-emulator.json'),
          ...(opts.jiraSeed ? { seed: opts.jiraSeed } : {}),
        });
        stops.push({ name: 'jira emulator', fn: () => jira.stop() });
        jiraEmulator = jira.url;
        config.jira.host = jira.url;
        setJiraWebhookUrl = (base) => jira.setWebhookUrls([`${base}/webhooks/jira`]);
      }
    }

    const metrics = createMetrics();
    const worker = await startWorker({
      config,
      databaseUrl,
      temporalAddress,
      logger: opts.logger,
      metrics,
      workflowBundle: opts.workflowBundle,
    });
    // Observed here so a crash is never an unhandled rejection; the owner reads `workerDone` and
    // `stop()` rethrows it (worker.shutdown() awaits the same run promise).
    worker.done.catch(() => undefined);
    stops.push({ name: 'worker', fn: () => worker.shutdown() });

    const api = await startApi({ config, databaseUrl, temporalAddress, logger: opts.logger, metrics, port: apiPort });
    stops.push({ name: 'api', fn: () => api.close() });
    setSlackAppUrls?.(apiPort === 0 ? api.url : appBase);
    setJiraWebhookUrl?.(apiPort === 0 ? api.url : appBase);

    return {
      urls: {
        api: api.url,
        temporal: temporalAddress,
        temporalUi,
        slackEmulator,
        jiraEmulator,
        databaseUrl,
        dataDir,
      },
      worker,
      app: api.app,
      relay: api.relay,
      workerDone: worker.done,
      stop: stopAll,
    };
  } catch (err) {
    // The start-up error is the one to report; parts that then also fail to stop are added to it.
    const stopErr = await stopAll().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (stopErr !== undefined) throw new Error(`${errorMessage(err)} (then ${errorMessage(stopErr)})`, { cause: err });
    throw err;
  }
}

/** Every port this stack will listen on, with the variable that moves it. */
function plannedPorts(opts: StackOptions, embeddedTemporal: boolean, embeddedPostgres: boolean): PlannedPort[] {
  const { config } = opts;
  const local = '127.0.0.1';
  const ports: PlannedPort[] = [
    { port: opts.apiPort ?? config.port, host: config.host, variable: 'PORT', what: 'the API' },
  ];
  if (embeddedTemporal) {
    ports.push({
      port: config.temporal.devPort,
      host: local,
      variable: 'TEMPORAL_DEV_PORT',
      what: 'the embedded Temporal dev server',
    });
    ports.push({ port: config.temporal.uiPort, host: local, variable: 'TEMPORAL_UI_PORT', what: 'the Temporal UI' });
  }
  if (embeddedPostgres)
    ports.push({
      port: config.embeddedPostgresPort,
      host: local,
      variable: 'EMBEDDED_POSTGRES_PORT',
      what: 'the embedded PostgreSQL',
    });
  if (config.sandbox) {
    ports.push({
      port: opts.emulatorPorts?.slack ?? config.slack.emulatorPort,
      host: local,
      variable: 'SLACK_EMULATOR_PORT',
      what: 'the Slack emulator',
    });
    if (config.jira)
      ports.push({
        port: opts.emulatorPorts?.jira ?? config.jira.emulatorPort,
        host: local,
        variable: 'JIRA_EMULATOR_PORT',
        what: 'the Jira emulator',
      });
  }
  return ports;
}

/** Database URL without its password, for banners and logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
