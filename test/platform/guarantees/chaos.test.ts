import { randomInt, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JiraEmulatorAdmin } from '../../../emulators/jira/admin-client.js';
import { defaultJiraSeed } from '../../../emulators/jira/seed.js';
import { startJiraEmulator, type JiraEmulator } from '../../../emulators/jira/server.js';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { startSlackEmulator, type SlackEmulator } from '../../../emulators/slack/server.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { alertsFlow } from '../../../src/flows/alerts/flow.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';
import { SANDBOX_TICKET_CHANNEL } from '../../../src/flows/tickets/config.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import { startHookCapture } from '../../helpers/chaos-capture.js';
import {
  account,
  driveLoad,
  formatTable,
  type Baseline,
  type ChaosContext,
  type LoadOptions,
  type ScenarioRow,
} from '../../helpers/chaos.js';
import { freePort } from '../../helpers/ports.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { spawnApi, spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';

/**
 * The chaos suite: the API and two workers as separate OS processes against the shared Temporal
 * and Postgres, a mixed load (payments with Razorpay's webhooks, approvals, Jira tickets with
 * Slack thread replies, Alertmanager alerts) through the real endpoints, one fault per scenario
 * (then some combined), then the table: events sent, effects expected, seen (Slack posts and
 * Jira comments), lost, duplicated, wrong end state, p99 time to effect. Asserts lost = 0,
 * duplicated = 0 and no wrong end state everywhere.
 * `npm run chaos` runs it at full scale (CHAOS_SCALE=full); `npm test` runs this short form.
 */
const FULL = process.env.CHAOS_SCALE === 'full';
const LOAD: LoadOptions = FULL
  ? { payments: 12, approvals: 6, tickets: 6, alerts: 6 }
  : { payments: 2, approvals: 1, tickets: 1, alerts: 1 };

describe('chaos: API + two worker processes under faults', () => {
  let env: Record<string, string>;
  let config: Config;
  let slackEmu: SlackEmulator;
  let jiraEmu: JiraEmulator;
  let capture: Awaited<ReturnType<typeof startHookCapture>>;
  let api: WorkerProcess;
  let apiUrl: string;
  let workers: WorkerProcess[] = [];
  let connection: Connection;
  let ctx: ChaosContext;
  const rows = new Map<string, ScenarioRow>();
  let baseline: Baseline | undefined;
  // Issue keys restart at 1 in every emulator, while workflow ids (`ticket:<KEY>`) are shared by the run.
  const project = `CH${Array.from({ length: 4 }, () => String.fromCharCode(65 + randomInt(26))).join('')}`;

  beforeAll(async () => {
    env = {
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
    config = loadConfig(env);
    capture = await startHookCapture();
    slackEmu = await startSlackEmulator({
      port: 0,
      botToken: config.slack.botToken,
      signingSecret: config.slack.signingSecret,
      rateLimits: false,
      eventRetryDelaysMs: [50, 100, 200],
    });
    jiraEmu = await startJiraEmulator({
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
    apiUrl = `http://127.0.0.1:${await freePort()}`;
    // The emulator's Events API goes to the capture: the load delivers each event itself (see chaos.ts).
    slackEmu.setAppUrls({
      events: capture.slackUrl,
      interactivity: `${apiUrl}/slack/interactions`,
      commands: `${apiUrl}/slack/commands`,
    });
    Object.assign(env, {
      SLACK_API_URL: slackEmu.apiUrl,
      JIRA_HOST: jiraEmu.url,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      PORT: new URL(apiUrl).port,
    });
    config = loadConfig(env);
    [api, ...workers] = await Promise.all([spawnApi(env), spawnWorker(env), spawnWorker(env)]);
    connection = await Connection.connect({ address: inject('temporalAddress') });
    ctx = {
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
      client: new Client({ connection, dataConverter: testDataConverter() }),
    };
  }, 180_000);

  afterAll(async () => {
    const table = formatTable([...rows.values()]);
    console.log(`[chaos]\n${table}`);
    if (process.env.CHAOS_TABLE) await writeFile(process.env.CHAOS_TABLE, `${table}\n`);
    await Promise.all([api, ...workers].map((p) => p?.kill9()));
    await connection?.close();
    await slackEmu?.stop();
    await jiraEmu?.stop();
    await capture?.close();
  });

  const scenario = async (name: string, run: () => Promise<Awaited<ReturnType<typeof driveLoad>>>) => {
    const r = await run();
    const { row, baseline: learned } = await account(ctx, name, r, baseline);
    // Every armed fault was hit (an exhausted fault leaves the list): the scenario really ran under it.
    const armed = [...(await ctx.slack.faults()), ...(await ctx.jira.faults()).faults];
    await ctx.slack.clearFaults();
    await ctx.jira.clearFaults();
    baseline = learned;
    rows.set(name, row);
    expect(armed).toEqual([]);
    expect(row, `${name}\n${formatTable([row])}\n${(row.missing ?? []).join('\n')}`).toMatchObject({
      lost: 0,
      duplicated: 0,
      wrongState: 0,
    });
    expect(row.seen).toBe(row.expected);
  };

  /** The route key of our Jira comment write (the emulator's fault registry names routes by template). */
  const jiraCommentRoute = async () =>
    (await ctx.jira.faults()).routeKeys.find((k) => k.startsWith('POST ') && k.endsWith('/comment'))!;

  it('no fault (the baseline: what each lifecycle posts)', async () => {
    await scenario('no fault', () => driveLoad(ctx, LOAD));
    for (const kind of ['payment', 'approval', 'ticket', 'alert'] as const)
      expect(Object.keys(baseline![kind]).length, kind).toBeGreaterThan(0);
  }, 300_000);

  it('every input delivered 3 times at once', async () => {
    await scenario('duplicates ×3', () => driveLoad(ctx, { ...LOAD, copies: 3 }));
  }, 300_000);

  it('every source out of order', async () => {
    await scenario('reordered (all sources)', () => driveLoad(ctx, { ...LOAD, reorder: true }));
  }, 300_000);

  it('Slack 429 storm on chat.postMessage', async () => {
    await ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter: 1, count: 10 });
    await scenario('Slack 429 ×10', () => driveLoad(ctx, LOAD));
  }, 300_000);

  it('Slack 5xx burst', async () => {
    await ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'status', status: 503, count: 10 });
    await scenario('Slack 503 ×10', () => driveLoad(ctx, LOAD));
  }, 300_000);

  it('Slack commits then times out', async () => {
    await ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', count: 2 });
    await scenario('Slack commit-then-timeout ×2', () => driveLoad(ctx, LOAD));
  }, 300_000);

  it('Jira 429, 5xx and commit-then-timeout on the comment write', async () => {
    const method = await jiraCommentRoute();
    const n = LOAD.tickets * 2;
    await ctx.jira.injectFault([
      { method, kind: 'ratelimit', retryAfter: 1, count: Math.max(1, Math.floor(n / 2)) },
      { method, kind: 'status', status: 503, count: Math.max(1, Math.floor(n / 2)) },
      { method, kind: 'commit_then_timeout', count: Math.max(1, Math.floor(n / 2)) },
    ]);
    await scenario('Jira 429 + 503 + commit-then-timeout', () => driveLoad(ctx, LOAD));
  }, 300_000);

  it('kill -9 of a worker mid-stream, then restart', async () => {
    await scenario('worker kill -9 + restart', () =>
      driveLoad(ctx, {
        ...LOAD,
        midway: async () => {
          await workers[0]!.kill9();
          workers[0] = await spawnWorker(env);
        },
      }),
    );
  }, 300_000);

  it('kill -9 of the API with requests in flight, then restart', async () => {
    await scenario('API kill -9 + restart', () =>
      driveLoad(ctx, {
        ...LOAD,
        midway: async () => {
          await api.kill9();
          api = await spawnApi(env);
        },
      }),
    );
  }, 300_000);

  it('combined: duplicates ×3, Slack 429s, a Jira 503 and a worker kill -9 in one run', async () => {
    await ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter: 1, count: 5 });
    await ctx.jira.injectFault({ method: await jiraCommentRoute(), kind: 'status', status: 503, count: 1 });
    await scenario('combined: dup ×3 + Slack 429 + Jira 503 + worker kill', () =>
      driveLoad(ctx, {
        ...LOAD,
        copies: 3,
        midway: async () => {
          await workers[1]!.kill9();
          workers[1] = await spawnWorker(env);
        },
      }),
    );
  }, 300_000);
});
