import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SlackEmulator } from '../../../emulators/slack/server.js';
import { routeSlackTo, startSlackFor } from '../../helpers/hand-stack.js';
import { approvalWorkflowId } from '../../../src/flows/approvals/contract.js';
import { paymentWorkflowId } from '../../../src/flows/payments/contract.js';
import { startApi, type RunningApi } from '../../../src/api/server.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics } from '../../../src/platform/observability/metrics.js';
import type { PostSlackMessageInput } from '../../../src/platform/slack/contract.js';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { paymentsHarness } from '../../flows/payments/e2e/helpers.js';
import {
  activityInputs,
  eventTimeMs,
  localActivities,
  timerDeadlines,
  waitIdle,
  eventsOf,
} from '../../helpers/history.js';
import type { TestStack } from '../../helpers/stack.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';

/**
 * The worker dies without draining (`kill -9` of its own OS process) and a new one takes over:
 * Temporal keeps the workflows, their timers and the activity that was in flight; nothing is lost
 * and nothing happens twice. Facts come from the workflow histories and the Slack emulator.
 */
describe('worker killed with kill -9', () => {
  let config: Config;
  let env: Record<string, string>;
  let slackEmu: SlackEmulator;
  let api: RunningApi;
  let worker: WorkerProcess | undefined;
  let connection: Connection;
  let client: Client;
  let stackLike: TestStack;

  beforeAll(async () => {
    env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      THREADLINE_SANDBOX: 'true',
      HOST: '127.0.0.1',
      TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
      PAYMENT_INITIATION_WAIT: '300ms',
      PAYMENT_REFUND_GRACE: '1h',
      APPROVAL_EXPIRE_AFTER: '1h',
    };
    config = loadConfig(env);
    slackEmu = await startSlackFor(config);
    env.SLACK_API_URL = slackEmu.apiUrl;
    env.DATABASE_URL = inject('databaseUrl');
    env.TEMPORAL_ADDRESS = inject('temporalAddress');
    env.WORKFLOW_BUNDLE_PATH = inject('workflowBundlePath');
    config = loadConfig(env);
    api = await startApi({
      config,
      databaseUrl: inject('databaseUrl'),
      temporalAddress: inject('temporalAddress'),
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics(),
      port: 0,
    });
    routeSlackTo(slackEmu, api.url);
    stackLike = {
      config,
      taskQueue: config.temporal.taskQueue,
      urls: { api: api.url, slackEmulator: slackEmu.url, temporal: inject('temporalAddress') },
      stop: async () => undefined,
    } as unknown as TestStack;
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter() });
  });
  afterEach(async () => {
    await worker?.kill9();
    worker = undefined;
  });
  afterAll(async () => {
    await connection?.close();
    await api?.close();
    await slackEmu?.stop();
  });

  it('an activity in flight when the worker dies is retried by the next worker and posts exactly once', async () => {
    const h = paymentsHarness(stackLike);
    worker = await spawnWorker(env);
    const { orderId } = h.ids();
    const workflowId = paymentWorkflowId(orderId);
    // Slack takes its time answering the root post (it still posts it): the activity is in flight.
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'latency', latencyMs: 5_000, count: 1 });
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    const handle = client.workflow.getHandle(workflowId);
    await h.slack.waitFor(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
      return pending.some((a) => a.activityType?.name === 'postSlackMessage' && a.state === started) ? true : undefined;
    }, 60_000);
    await worker.kill9();

    const killedAt = Date.now();
    worker = await spawnWorker(env);
    // The killed attempt times out on the server (startToCloseTimeout) and the new worker retries it.
    await h.thread('C0PAYMENTS', orderId, 0, 90_000);
    await waitIdle(handle, 60_000);

    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(1);
    const events = await eventsOf(handle);
    const rootAttempts = events.filter(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        events.find(
          (s) =>
            s.eventId?.toString() === e.activityTaskStartedEventAttributes!.scheduledEventId?.toString() &&
            activityInputs<PostSlackMessageInput>([s], 'postSlackMessage')[0]?.purpose === 'root',
        ),
    );
    // One scheduled root post, completed on a later attempt than the one that died with the worker.
    expect(
      activityInputs<PostSlackMessageInput>(events, 'postSlackMessage').filter((p) => p.purpose === 'root'),
    ).toHaveLength(1);
    // Attempt 2 at the earliest (a starved machine can time out the next one too: still one post).
    expect(rootAttempts).toHaveLength(1);
    expect(rootAttempts[0]!.activityTaskStartedEventAttributes!.attempt).toBeGreaterThanOrEqual(2);
    expect(eventTimeMs(rootAttempts[0]!)).toBeGreaterThan(killedAt);
    // The root's step (its `routed` audit row and snapshot) ran once: one local activity after the
    // start's lookup (a second root result would have run a second step).
    expect(localActivities(events)).toEqual(['loadPaymentStart', 'recordPaymentStep']);
    await handle.terminate('test done');
  });

  it('a reminder due while no worker runs: the server fires the timer, the next worker posts the reminder once', async () => {
    const h = approvalsHarness(stackLike);
    worker = await spawnWorker(env);
    // Long enough for the kill to come first on a loaded machine (posting and going idle took > 4 s there).
    const id = await h.created(h.body({ approvers: ['U0BOB'], sla: { remindAfter: '12s', expireAfter: '1h' } }));
    const channelPost = (await h.posted(id, 2)).find((m) => m.purpose === 'channel')!;
    const handle = client.workflow.getHandle(approvalWorkflowId(id));
    await waitIdle(handle);
    await worker.kill9();
    const killedAt = Date.now();

    // The observable point: the reminder's timer fired in history while no worker was running.
    const fired = await h.slack.waitFor(async () => {
      const events = await eventsOf(handle);
      return events.find((e) => e.timerFiredEventAttributes);
    }, 60_000);
    const restartedAt = Date.now();
    expect(eventTimeMs(fired)).toBeGreaterThan(killedAt);
    worker = await spawnWorker(env);
    await h.slack.waitFor(async () => {
      const r = await h.slack.threadReplies(channelPost.channel, channelPost.ts);
      return r.some((m) => m.text.includes('Reminder')) ? true : undefined;
    }, 60_000);
    await waitIdle(handle);

    const events = await eventsOf(handle);
    const timers = timerDeadlines(events);
    expect(timers.filter((t) => t.fired)).toHaveLength(1);
    const reminders = events.filter((e) =>
      activityInputs<PostSlackMessageInput>([e], 'postSlackMessage')[0]?.idempotencyKey.includes(':reminder:'),
    );
    expect(reminders).toHaveLength(1);
    // Scheduled by the new worker, after the timer had fired without one.
    expect(eventTimeMs(reminders[0]!)).toBeGreaterThanOrEqual(restartedAt);
    const replies = await h.slack.threadReplies(channelPost.channel, channelPost.ts);
    expect(replies.filter((m) => m.text.includes('Reminder'))).toHaveLength(1);
    await handle.terminate('test done');
  });
});
