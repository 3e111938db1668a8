import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { JiraSeed } from '../emulators/jira/seed.js';
import { startJiraEmulator } from '../emulators/jira/server.js';
import { startSlackEmulator } from '../emulators/slack/server.js';
import { startApi } from '../src/api/server.js';
import type { Config } from '../src/platform/config/index.js';
import { startEmbeddedPostgres } from '../src/platform/infra/embedded-postgres.js';
import { ensureTemporalCli, type Log } from '../src/platform/infra/temporal-cli.js';
import { connectClient } from '../src/platform/temporal/connection.js';
import { startTemporalDevServer } from '../src/platform/infra/temporal-dev-server.js';
import { ensureNamespace } from '../src/platform/temporal/namespace.js';
import type { Logger } from '../src/platform/observability/logger.js';
import { createMetrics } from '../src/platform/observability/metrics.js';
import { startWorker } from '../src/worker/run.js';

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
  stop(): Promise<void>;
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
    for (const s of stops.reverse()) {
      try {
        await s.fn();
      } catch (err) {
        log(`error stopping ${s.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    stops.length = 0;
  };

  try {
    let temporalAddress = opts.temporalAddress ?? config.temporal.address;
    let temporalUi: string | undefined;
    const embeddedTemporal = temporalAddress === undefined;
    if (temporalAddress === undefined) {
      const cliPath = await ensureTemporalCli(log);
      const dev = await startTemporalDevServer({
        cliPath,
        dbFile: join(dataDir, 'temporal.db'),
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        log,
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
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
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
