import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { startSlackEmulator, type SlackEmulator } from '../../../emulators/slack/server.js';
import { loadConfig } from '../../../src/config.js';
import { runPacingBursts, writeProbeBundle } from '../../helpers/pacing.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';

/**
 * Outbound pacing across processes: two worker processes post bursts into the same channels of a
 * Slack emulator that enforces chat.postMessage's real per-channel limit (1/s, burst 3). The
 * shared Postgres schedule keeps both under it: every message arrives, once, in thread order,
 * and Slack never answers 429. (Without the pacer the 30-message channel draws 429s at once.)
 */
describe('outbound pacing across two worker processes', () => {
  let dir: string;
  let slackEmu: SlackEmulator;
  let slack: SlackEmulatorAdmin;
  let workers: WorkerProcess[] = [];
  let connection: Connection;
  let client: Client;
  const taskQueue = `test-pacing-${randomUUID()}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-pacing-'));
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      THREADLINE_SANDBOX: 'true',
      HOST: '127.0.0.1',
      TEMPORAL_TASK_QUEUE: taskQueue,
      SLACK_POST_INTERVAL: '1s',
    };
    const config = loadConfig(env);
    slackEmu = await startSlackEmulator({
      port: 0,
      botToken: config.slack.botToken,
      signingSecret: config.slack.signingSecret,
      rateLimits: true,
    });
    slack = new SlackEmulatorAdmin(slackEmu.url);
    Object.assign(env, {
      SLACK_API_URL: slackEmu.apiUrl,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      WORKFLOW_BUNDLE_PATH: await writeProbeBundle(dir),
    });
    workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter() });
  }, 180_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill9()));
    await connection?.close();
    await slackEmu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('30 messages to one channel and 5 channels × 10: nothing dropped, thread order kept, zero 429s', async () => {
    const outcome = await runPacingBursts({
      client,
      taskQueue,
      slack,
      bursts: [
        { channel: 'C0PAYMENTS', threads: 3, perThread: 10 },
        ...['C0PARTPAY', 'C0APPROVAL', 'C0ESCALATE', 'C0TICKETS', 'C0OPSALERT'].map((channel) => ({
          channel,
          threads: 1,
          perThread: 10,
        })),
      ],
    });
    console.log(`[pacing] ${JSON.stringify(outcome)}`);
    expect(outcome).toMatchObject({ sent: 80, seen: 80, lost: 0, duplicated: 0, outOfOrder: 0, rateLimited: 0 });
    // Both processes posted: the schedule, not one process's memory, kept them apart.
    expect(outcome.workers).toHaveLength(2);
    // The busiest channel cannot have been faster than 1 message/s.
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(outcome.theoreticalMs);
  }, 240_000);
});
