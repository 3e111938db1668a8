import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SlackEmulator } from '../../../emulators/slack/server.js';
import { routeSlackTo, startSlackFor } from '../../helpers/hand-stack.js';
import { startApi, type RunningApi } from '../../../src/api/server.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { approvalWorkflowId } from '../../../src/flows/approvals/contract.js';
import { ensureTemporalCli } from '../../../src/platform/infra/temporal-cli.js';
import { startTemporalDevServer, type DevServer } from '../../../src/platform/infra/temporal-dev-server.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics } from '../../../src/platform/observability/metrics.js';
import type { PostSlackMessageInput } from '../../../src/platform/slack/contract.js';
import { connectClient } from '../../../src/platform/temporal/connection.js';
import { ensureNamespace } from '../../../src/platform/temporal/namespace.js';
import { startWorker, type RunningWorker } from '../../../src/worker/run.js';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { sharedBundle } from '../../helpers/bundle.js';
import { activityInputs, eventTimeMs, waitIdle, eventsOf } from '../../helpers/history.js';
import { freePort } from '../../helpers/ports.js';
import type { TestStack } from '../../helpers/stack.js';
import { testDataConverter } from '../../helpers/temporal.js';

const REMIND_AFTER_MS = 5_000;

/**
 * Temporal itself restarts: a file-backed dev server (SQLite) started by this test, stopped while
 * an approval waits for its reminder, and started again on the same file after the reminder was
 * due. The worker and the API stay up and reconnect; the timer fires on restart and the reminder
 * is posted once, asserted from the history.
 */
describe('Temporal restarts on the same database file', () => {
  let dir: string;
  let cliPath: string;
  let port: number;
  let dev: DevServer | undefined;
  let config: Config;
  let slackEmu: SlackEmulator;
  let worker: RunningWorker;
  let api: RunningApi;
  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics();

  const startTemporal = async () => {
    dev = await startTemporalDevServer({
      cliPath,
      dbFile: join(dir, 'temporal.db'),
      port,
      uiPort: 0,
      headless: true,
      namespace: 'default',
      log: () => undefined,
    });
    return dev;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-temporal-restart-'));
    cliPath = await ensureTemporalCli(() => undefined);
    port = await freePort();
    await startTemporal();
    config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      THREADLINE_SANDBOX: 'true',
      HOST: '127.0.0.1',
      TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
      APPROVAL_EXPIRE_AFTER: '1h',
    });
    const conn = await connectClient(config.temporal, dev!.address);
    await ensureNamespace(conn, 'default', () => undefined, { setRetention: true });
    await conn.close();
    slackEmu = await startSlackFor(config);
    config.slack.apiUrl = slackEmu.apiUrl;
    const engines = { databaseUrl: inject('databaseUrl'), temporalAddress: dev!.address, logger, metrics };
    worker = await startWorker({ ...engines, config, workflowBundle: await sharedBundle() });
    api = await startApi({ ...engines, config, port: 0 });
    routeSlackTo(slackEmu, api.url);
  });
  afterAll(async () => {
    await api?.close();
    await worker?.shutdown();
    await slackEmu?.stop();
    await dev?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a reminder due while Temporal is down fires after it restarts, exactly once, and a click still decides', async () => {
    const h = approvalsHarness({
      config,
      taskQueue: config.temporal.taskQueue,
      urls: { api: api.url, slackEmulator: slackEmu.url, temporal: dev!.address },
    } as unknown as TestStack);
    const id = await h.created(
      h.body({ approvers: ['U0BOB'], sla: { remindAfter: `${REMIND_AFTER_MS}ms`, expireAfter: '1h' } }),
    );
    const createdAt = Date.now();
    const channelPost = (await h.posted(id, 2)).find((m) => m.purpose === 'channel')!;
    let connection = await Connection.connect({ address: dev!.address });
    await waitIdle(
      new Client({ connection, dataConverter: testDataConverter() }).workflow.getHandle(approvalWorkflowId(id)),
    );
    await connection.close();

    await dev!.stop();
    dev = undefined;
    // Stay down until the reminder is overdue (wall clock: nothing else can be observed while it is down).
    await new Promise((r) => setTimeout(r, Math.max(0, createdAt + REMIND_AFTER_MS + 1_000 - Date.now())));
    const restartedAt = Date.now();
    await startTemporal();

    await h.slack.waitFor(async () => {
      const r = await h.slack.threadReplies(channelPost.channel, channelPost.ts);
      return r.some((m) => m.text.includes('Reminder')) ? true : undefined;
    }, 60_000);
    expect((await h.click('U0BOB', channelPost, 'approve')).delivery.status).toBe(200);
    await h.waitStatus(id, 'approved', 30_000);

    connection = await Connection.connect({ address: dev!.address });
    try {
      const handle = new Client({ connection, dataConverter: testDataConverter() }).workflow.getHandle(
        approvalWorkflowId(id),
      );
      const events = await eventsOf(handle);
      const fired = events.filter((e) => e.timerFiredEventAttributes);
      expect(fired).toHaveLength(1);
      expect(eventTimeMs(fired[0]!)).toBeGreaterThanOrEqual(restartedAt - 1000);
      const reminders = events.filter((e) =>
        activityInputs<PostSlackMessageInput>([e], 'postSlackMessage')[0]?.idempotencyKey.includes(':reminder:'),
      );
      expect(reminders).toHaveLength(1);
      expect(eventTimeMs(reminders[0]!)).toBeGreaterThanOrEqual(eventTimeMs(fired[0]!));
      const replies = await h.slack.threadReplies(channelPost.channel, channelPost.ts);
      expect(replies.filter((m) => m.text.includes('Reminder'))).toHaveLength(1);
      await handle.terminate('test done');
    } finally {
      await connection.close();
    }
  });
});
