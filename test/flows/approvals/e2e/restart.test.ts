import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from '../../../../emulators/slack/server.js';
import { startApi, type RunningApi } from '../../../../src/api/server.js';
import { loadConfig, type Config } from '../../../../src/config.js';
import { createLogger } from '../../../../src/platform/observability/logger.js';
import { createMetrics } from '../../../../src/platform/observability/metrics.js';
import { startWorker, type RunningWorker } from '../../../../src/worker/run.js';
import { sharedBundle } from '../../../helpers/bundle.js';
import { historyOf, scheduledActivities, temporalReader } from '../../../helpers/effects.js';
import { testDataConverter } from '../../../helpers/temporal.js';
import type { TestStack } from '../../../helpers/stack.js';
import { approvalsHarness, seen } from './helpers.js';

/**
 * The stack composed by hand so the worker can be stopped and started on its own: API and the
 * Slack emulator stay up, Temporal keeps the workflow and its timers, a fresh worker (empty
 * workflow cache: the request is rebuilt by replaying its history) picks it up.
 */
describe('approvals survive a worker restart', () => {
  let config: Config;
  let slackEmu: SlackEmulator;
  let api: RunningApi;
  let worker: RunningWorker | undefined;
  let h: ReturnType<typeof approvalsHarness>;
  let temporal: { client: Client; close: () => Promise<void> };
  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics();

  const startOurWorker = async () =>
    startWorker({
      config,
      databaseUrl: inject('databaseUrl'),
      temporalAddress: inject('temporalAddress'),
      logger,
      metrics,
      workflowBundle: await sharedBundle(),
    });

  beforeAll(async () => {
    config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      THREADLINE_SANDBOX: 'true',
      HOST: '127.0.0.1',
      TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
      APPROVAL_EXPIRE_AFTER: '1h',
    });
    slackEmu = await startSlackEmulator({
      port: 0,
      botToken: config.slack.botToken,
      signingSecret: config.slack.signingSecret,
      rateLimits: false,
      eventRetryDelaysMs: [50, 100, 200],
    });
    config.slack.apiUrl = slackEmu.apiUrl;
    worker = await startOurWorker();
    api = await startApi({
      config,
      databaseUrl: inject('databaseUrl'),
      temporalAddress: inject('temporalAddress'),
      logger,
      metrics,
      port: 0,
    });
    slackEmu.setAppUrls({
      events: `${api.url}/slack/events`,
      interactivity: `${api.url}/slack/interactions`,
      commands: `${api.url}/slack/commands`,
    });
    const stackLike = {
      config,
      taskQueue: config.temporal.taskQueue,
      urls: { api: api.url, slackEmulator: slackEmu.url, temporal: inject('temporalAddress') },
      stop: async () => undefined,
    } as unknown as TestStack;
    temporal = await temporalReader(inject('temporalAddress'), testDataConverter(config.temporal));
    h = approvalsHarness(stackLike, temporal.client);
  });
  afterAll(async () => {
    await temporal?.close();
    await api?.close();
    await worker?.shutdown();
    await slackEmu?.stop();
  });

  it('a request waits while the worker is down: its reminder timer fires during the outage (seen in history) and the reminder is posted once a worker is back; a click without a worker is answered 503', async () => {
    const id = await h.created(h.body({ approvers: ['U0BOB'], sla: { remindAfter: '10s', expireAfter: '1h' } }));
    const [channelMsg] = (await h.posted(id, 2)).filter((m) => m.purpose === 'channel');
    const workflowId = `approval:${id}`;

    await worker!.shutdown();
    worker = undefined;
    // The timer is the server's: it fires with no worker running. Wait for that event in history.
    await h.waitFor(
      async () => (await historyOf(temporal.client, workflowId)).some((e) => e.timerFiredEventAttributes),
      20_000,
    );
    // Fired, but nothing acted on it: no reminder was scheduled or posted while no worker ran
    // (had the timer fired before the shutdown, the reminder would be scheduled here and this fails).
    const reminderPosts = async () =>
      (await scheduledActivities(temporal.client, workflowId)).filter(
        (a) => a.type === 'postSlackMessage' && String(a.input.idempotencyKey).includes(':reminder:'),
      );
    expect(await reminderPosts()).toHaveLength(0);
    expect(await h.slack.threadReplies(channelMsg!.channel, channelMsg!.ts)).toHaveLength(0);

    // docs/approvals.md, "Known limits": a click cannot be validated without a worker; Slack sees a
    // 503. (Dave is no approver: an approver's click could still count once a worker is back, and
    // would then decide the request before its reminder goes out.)
    const blind = await h.click('U0DAVE', channelMsg!, 'approve');
    expect(blind.delivery.status).toBe(503);

    worker = await startOurWorker();
    const reminder = await h.waitFor(async () => {
      const r = await h.slack.threadReplies(channelMsg!.channel, channelMsg!.ts);
      return r.find((m) => m.text.includes('Reminder'));
    }, 30_000);
    expect(reminder.text).toContain('<@U0BOB>');

    const click = await h.click('U0BOB', channelMsg!, 'approve');
    expect(click.delivery.status).toBe(200);
    expect(await h.waitStatus(id, 'approved', 30_000)).toMatchObject({ decidedBy: 'U0BOB' });
    expect(seen(await h.locked(channelMsg!))).toContain('Approved by <@U0BOB>');
    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    expect(await reminderPosts()).toHaveLength(1);
    expect(h.postsOfStep(done, 'decision')).toHaveLength(1);
    expect((await h.get(id)).votes).toHaveLength(1);
  });
});
