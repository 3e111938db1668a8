import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import type { SlackEmulator } from '../../../emulators/slack/server.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import {
  account,
  driveLoad,
  formatTable,
  type Baseline,
  type ChaosContext,
  type ScenarioRow,
} from '../../helpers/chaos.js';
import { startSlackFor } from '../../helpers/hand-stack.js';
import { freePort } from '../../helpers/ports.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { spawnApi, spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';

/**
 * The chaos suite: the API and two workers as separate OS processes against the shared Temporal
 * and Postgres, a mixed load (payments with their capture webhook, approvals) through the real
 * endpoints, one fault per scenario, then the table: events sent, effects expected, seen, lost,
 * duplicated, p99 time to effect. Asserts lost = 0 and duplicated = 0 everywhere.
 * `npm run chaos` runs it at full scale (CHAOS_SCALE=full); `npm test` runs this short form.
 */
const FULL = process.env.CHAOS_SCALE === 'full';
const LOAD = FULL ? { payments: 20, approvals: 10 } : { payments: 3, approvals: 2 };

describe('chaos: API + two worker processes under faults', () => {
  let env: Record<string, string>;
  let config: Config;
  let slackEmu: SlackEmulator;
  let api: WorkerProcess;
  let apiUrl: string;
  let workers: WorkerProcess[] = [];
  let connection: Connection;
  let ctx: ChaosContext;
  const rows = new Map<string, ScenarioRow>();
  let baseline: Baseline | undefined;

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
    };
    config = loadConfig(env);
    slackEmu = await startSlackFor(config);
    apiUrl = `http://127.0.0.1:${await freePort()}`;
    Object.assign(env, {
      SLACK_API_URL: slackEmu.apiUrl,
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
      slack: new SlackEmulatorAdmin(slackEmu.url),
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
  });

  const scenario = async (name: string, run: () => Promise<Awaited<ReturnType<typeof driveLoad>>>) => {
    const r = await run();
    const { row, baseline: learned } = await account(ctx, name, r, baseline);
    // Every armed fault was hit (an exhausted fault leaves the list): the scenario really ran under it.
    const armed = await ctx.slack.faults();
    await ctx.slack.clearFaults();
    baseline = learned;
    rows.set(name, row);
    expect(armed).toEqual([]);
    expect(row, `${name}\n${formatTable([row])}\n${(row.missing ?? []).join('\n')}`).toMatchObject({
      lost: 0,
      duplicated: 0,
    });
    expect(row.seen).toBe(row.expected);
  };

  it('no fault (the baseline: what each lifecycle posts)', async () => {
    await scenario('no fault', () => driveLoad(ctx, LOAD));
    expect(baseline!.payment.length).toBeGreaterThan(0);
    expect(baseline!.approval.length).toBeGreaterThan(0);
  }, 300_000);

  it('every input delivered 3 times at once', async () => {
    await scenario('duplicates ×3', () => driveLoad(ctx, { ...LOAD, copies: 3 }));
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
});
