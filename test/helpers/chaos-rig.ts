import { randomInt, randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { expect } from 'vitest';
import { JiraEmulatorAdmin } from '../../emulators/jira/admin-client.js';
import { defaultJiraSeed } from '../../emulators/jira/seed.js';
import { startJiraEmulator } from '../../emulators/jira/server.js';
import { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import { startSlackEmulator } from '../../emulators/slack/server.js';
import { loadConfig } from '../../src/config.js';
import { alertsFlow } from '../../src/flows/alerts/flow.js';
import { paymentsFlow } from '../../src/flows/payments/flow.js';
import { SANDBOX_TICKET_CHANNEL } from '../../src/flows/tickets/config.js';
import { flowConfigOf } from '../../src/platform/flow.js';
import { startHookCapture } from './chaos-capture.js';
import { account, formatTable, type Baseline, type ChaosContext, type driveLoad, type ScenarioRow } from './chaos.js';
import { freePort } from './ports.js';
import { testDataConverter } from './temporal.js';
import { spawnApi, spawnWorker, type WorkerProcess } from './worker-process.js';

/** What the chaos suite runs against; `api` and `workers` are replaced when a scenario restarts them. */
export interface ChaosRig {
  ctx: ChaosContext;
  env: Record<string, string>;
  api: WorkerProcess;
  workers: WorkerProcess[];
  /** kill -9 of the API process, then a new one on the same port. */
  restartApi(): Promise<void>;
  /** kill -9 of worker `i`, then a new one. */
  restartWorker(i: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The chaos suite's rig: the Slack and Jira emulators (limits off), a capture for their webhooks
 * (the load delivers them itself), the API and two workers as separate OS processes against
 * `engines`, and a Temporal client for the accounting. Ticket threads sync a Jira project of the
 * rig's own (issue keys restart at 1 in every emulator; workflow ids are shared by the run).
 */
export async function startChaosRig(engines: {
  databaseUrl: string;
  temporalAddress: string;
  workflowBundlePath: string;
}): Promise<ChaosRig> {
  const project = `CH${Array.from({ length: 4 }, () => String.fromCharCode(65 + randomInt(26))).join('')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    THREADLINE_SANDBOX: 'true',
    HOST: '127.0.0.1',
    TEMPORAL_TASK_QUEUE: `chaos-${randomUUID()}`,
    PAYMENT_INITIATION_WAIT: '300ms',
    PAYMENT_ESCALATE_AFTER: '1h',
    PAYMENT_OVERDUE_AFTER: '2h',
    PAYMENT_REFUND_GRACE: '1h',
    APPROVAL_REMIND_AFTER: '1h',
    APPROVAL_EXPIRE_AFTER: '2h',
    SLACK_POST_INTERVAL: '50ms',
    TICKET_SYNC: JSON.stringify({ rules: [{ id: 'chaos', project, channel: SANDBOX_TICKET_CHANNEL }] }),
    TICKET_MERGE_WINDOW: '300ms',
    // Assignment routing adds replies of its own to ticket threads; the load counts the threads' own.
    THREADLINE_FLAGS: 'assignment=off',
  };
  let config = loadConfig(env);
  const capture = await startHookCapture();
  const slackEmu = await startSlackEmulator({
    port: 0,
    botToken: config.slack.botToken,
    signingSecret: config.slack.signingSecret,
    rateLimits: false,
    eventRetryDelaysMs: [50, 100, 200],
  });
  const jiraEmu = await startJiraEmulator({
    port: 0,
    email: config.jira!.email,
    apiToken: config.jira!.apiToken,
    webhookSecret: config.jira!.webhookSecret,
    webhookUrls: [capture.jiraUrl],
    rateLimits: false,
    webhookRetryDelaysMs: [50, 100, 200],
    seed: {
      ...defaultJiraSeed,
      projects: [{ ...defaultJiraSeed.projects.find((p) => p.key === 'OPS')!, key: project }],
    },
  });
  const apiUrl = `http://127.0.0.1:${await freePort()}`;
  // The emulator's Events API goes to the capture: the load delivers each event itself (see chaos.ts).
  slackEmu.setAppUrls({
    events: capture.slackUrl,
    interactivity: `${apiUrl}/slack/interactions`,
    commands: `${apiUrl}/slack/commands`,
  });
  Object.assign(env, {
    SLACK_API_URL: slackEmu.apiUrl,
    JIRA_HOST: jiraEmu.url,
    DATABASE_URL: engines.databaseUrl,
    TEMPORAL_ADDRESS: engines.temporalAddress,
    WORKFLOW_BUNDLE_PATH: engines.workflowBundlePath,
    PORT: new URL(apiUrl).port,
  });
  config = loadConfig(env);
  const [api, ...workers] = await Promise.all([spawnApi(env), spawnWorker(env), spawnWorker(env)]);
  const connection = await Connection.connect({ address: engines.temporalAddress });
  const rig: ChaosRig = {
    env,
    api,
    workers,
    ctx: {
      api: () => apiUrl,
      apiKey: config.apiKeys[0]!,
      razorpaySecret: flowConfigOf(config, paymentsFlow).razorpayWebhookSecret!,
      slackSigningSecret: config.slack.signingSecret,
      alertmanagerToken: flowConfigOf(config, alertsFlow).alertmanagerToken!,
      slack: new SlackEmulatorAdmin(slackEmu.url),
      jira: new JiraEmulatorAdmin(jiraEmu.url),
      jiraProject: project,
      ticketChannel: SANDBOX_TICKET_CHANNEL,
      captured: capture.got,
      slackAttempts: [],
      client: new Client({ connection, dataConverter: testDataConverter() }),
    },
    async restartApi() {
      await rig.api.kill9();
      rig.api = await spawnApi(env);
    },
    async restartWorker(i) {
      await rig.workers[i]!.kill9();
      rig.workers[i] = await spawnWorker(env);
    },
    async stop() {
      await Promise.all([rig.api, ...rig.workers].map((p) => p.kill9()));
      await connection.close();
      await slackEmu.stop();
      await jiraEmu.stop();
      await capture.close();
    },
  };
  return rig;
}

/**
 * Runs scenarios against a rig and keeps the table: the first run defines the baseline; each run
 * asserts that every armed fault (Slack and Jira) was hit, then lost = 0, duplicated = 0, no
 * wrong end state, seen = expected. `strict: false` records the row without asserting (a known
 * defect's row, asserted by its own test).
 */
export function scenarioRunner(rig: ChaosRig) {
  const rows = new Map<string, ScenarioRow>();
  let baseline: Baseline | undefined;
  return {
    rows,
    baseline: () => baseline,
    async run(name: string, load: () => Promise<Awaited<ReturnType<typeof driveLoad>>>, strict = true) {
      const { ctx } = rig;
      const r = await load();
      const { row, baseline: learned } = await account(ctx, name, r, baseline);
      const armed = [...(await ctx.slack.faults()), ...(await ctx.jira.faults()).faults];
      await ctx.slack.clearFaults();
      await ctx.jira.clearFaults();
      baseline ??= learned;
      rows.set(name, row);
      if (!strict) return row;
      expect(armed).toEqual([]);
      expect(row, `${name}\n${formatTable([row])}\n${(row.missing ?? []).join('\n')}`).toMatchObject({
        lost: 0,
        duplicated: 0,
        wrongState: 0,
      });
      expect(row.seen).toBe(row.expected);
      return row;
    },
    /** Prints the table (and writes it to CHAOS_TABLE when set). */
    async print(title: string) {
      const table = formatTable([...rows.values()]);
      console.log(`[chaos] ${title}\n${table}`);
      if (process.env.CHAOS_TABLE) await appendFile(process.env.CHAOS_TABLE, `${title}\n\n${table}\n\n`);
    },
  };
}
