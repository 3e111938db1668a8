import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from '../../../../emulators/slack/server.js';
import { startApi, type RunningApi } from '../../../../src/api/server.js';
import { loadConfig, type Config } from '../../../../src/config.js';
import { createLogger } from '../../../../src/platform/observability/logger.js';
import { createMetrics } from '../../../../src/platform/observability/metrics.js';
import { startWorker, type RunningWorker } from '../../../../src/worker/run.js';
import { sharedBundle } from '../../../helpers/bundle.js';
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
    h = approvalsHarness(stackLike);
  });
  afterAll(async () => {
    await api?.close();
    await worker?.shutdown();
    await slackEmu?.stop();
  });

  it('a request waits while the worker is down; its reminder timer (due during the outage) fires and a click is processed after the restart', async () => {
    const id = await h.created(h.body({ approvers: ['U0BOB'], sla: { remindAfter: '2s', expireAfter: '1h' } }));
    const [channelMsg] = (await h.posted(id, 2)).filter((m) => m.purpose === 'channel');

    await worker!.shutdown();
    worker = undefined;
    // Let the reminder's timer expire while no worker runs.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await h.slack.threadReplies(channelMsg!.channel, channelMsg!.ts)).toHaveLength(0);

    worker = await startOurWorker();
    const reminder = await h.slack.waitFor(async () => {
      const r = await h.slack.threadReplies(channelMsg!.channel, channelMsg!.ts);
      return r.find((m) => m.text.includes('Reminder'));
    }, 20_000);
    expect(reminder.text).toContain('<@U0BOB>');

    const click = await h.click('U0BOB', channelMsg!, 'approve');
    expect(click.delivery.status).toBe(200);
    expect(await h.waitStatus(id, 'approved', 20_000)).toMatchObject({ decidedBy: 'U0BOB' });
    expect(seen(await h.locked(channelMsg!))).toContain('Approved by <@U0BOB>');
    expect((await h.get(id)).votes).toHaveLength(1);
  });
});
