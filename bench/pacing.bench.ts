import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { SlackEmulatorAdmin } from '../emulators/slack/admin-client.js';
import { createSlackClient } from '../src/integrations/slack/client.js';
import { dataConverterFor } from '../src/platform/temporal/connection.js';
import { runPacingBursts, writeProbeBundle, type PacingBurst } from '../test/helpers/pacing.js';
import { spawnWorker } from '../test/helpers/worker-process.js';
import { startBenchStack } from './harness.js';

/**
 * Outbound pacing against the Slack emulator with its real limits ON (chat.postMessage 1/s per
 * channel, burst 3), from two worker processes sharing the Postgres schedule. Each scenario's
 * total time is compared with the minimum 1 message/s/channel allows (the busiest channel's
 * messages minus one, in seconds); the bar is within 15 %.
 */
const SCENARIOS: { name: string; channels: number; threadsPerChannel: number; perThread: number }[] = [
  { name: '30 messages to one channel', channels: 1, threadsPerChannel: 3, perThread: 10 },
  { name: '20 channels × 30 messages', channels: 20, threadsPerChannel: 3, perThread: 10 },
];

export async function run(): Promise<void> {
  const bench = await startBenchStack('pacing');
  const { stack, config } = bench;
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const dir = await mkdtemp(join(tmpdir(), 'threadline-bench-pacing-'));
  const taskQueue = `bench-pacing-${randomUUID().slice(0, 8)}`;
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    THREADLINE_SANDBOX: 'true',
    TEMPORAL_TASK_QUEUE: taskQueue,
    SLACK_API_URL: config.slack.apiUrl,
    SLACK_POST_INTERVAL: '1s',
    DATABASE_URL: stack.urls.databaseUrl,
    TEMPORAL_ADDRESS: stack.urls.temporal,
    WORKFLOW_BUNDLE_PATH: await writeProbeBundle(dir),
  };
  // Channels to spread over (created while the emulator's limits are still off).
  const web = createSlackClient({ token: config.slack.botToken, apiUrl: config.slack.apiUrl });
  const channels: string[] = [];
  for (let i = 0; i < Math.max(...SCENARIOS.map((s) => s.channels)); i++) {
    const res = await web.conversations.create({ name: `pacing-${i}-${randomUUID().slice(0, 6)}` });
    channels.push(res.channel!.id!);
  }
  await slack.setRateLimits(true);
  const workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
  const connection = await Connection.connect({ address: stack.urls.temporal });
  const client = new Client({ connection, dataConverter: dataConverterFor(config.temporal) });
  try {
    console.log('two worker processes, emulator limits ON, SLACK_POST_INTERVAL=1s');
    for (const s of SCENARIOS) {
      const bursts: PacingBurst[] = channels
        .slice(0, s.channels)
        .map((channel) => ({ channel, threads: s.threadsPerChannel, perThread: s.perThread }));
      const o = await runPacingBursts({ client, taskQueue, slack, bursts });
      const over = ((o.elapsedMs - o.theoreticalMs) / o.theoreticalMs) * 100;
      console.log(
        `${s.name}: sent ${o.sent}, seen ${o.seen}, lost ${o.lost}, duplicated ${o.duplicated}, ` +
          `out of order ${o.outOfOrder}, 429s ${o.rateLimited}; ` +
          `${(o.elapsedMs / 1000).toFixed(1)} s vs minimum ${(o.theoreticalMs / 1000).toFixed(1)} s (+${over.toFixed(1)} %)`,
      );
      console.log(
        `  phases: first post after ${(o.phases.firstPostMs / 1000).toFixed(1)} s, busiest channel first → last post ` +
          `${(o.phases.busiestSpanMs / 1000).toFixed(1)} s, last post → all done ${(o.phases.tailMs / 1000).toFixed(1)} s; ` +
          `429s by method ${JSON.stringify(o.rateLimitedBy)}; retried attempts by cause ${JSON.stringify(o.retriesBy)}`,
      );
      if (o.duplicateSamples.length)
        console.log(`  duplicated, accepted at (ms): ${JSON.stringify(o.duplicateSamples)}`);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await connection.close();
    await bench.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
