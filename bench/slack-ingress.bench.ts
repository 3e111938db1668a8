import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import bolt from '@slack/bolt';
import { createPool } from '../src/platform/db/pool.js';
import { slackMessagesRepo } from '../src/platform/db/repositories.js';
import { computeSlackSignature } from '../src/integrations/slack/signature.js';
import { startBenchStack } from './harness.js';
import { fmtMiB, fmtMs, summarize } from './stats.js';

/**
 * Ack latency and throughput of POST /slack/events on the real stack (embedded Temporal on SQLite,
 * embedded Postgres, worker, API in this process), against a baseline Slack Bolt for JS app
 * (HTTPReceiver, a no-op `message` listener) given the same signed payloads in the same run.
 *
 * Every request is a person's thread reply with a fresh event_id in a thread Threadline owns, so
 * ours does the whole durable path: verify → parse → thread lookup → ledger claim → Temporal signal
 * → ledger mark → 200. Bolt verifies, parses, acks, and persists nothing: the ratio is the price of
 * "never ack what was not handed off".
 */
const LEVELS = [
  { concurrency: 1, requests: 300 },
  { concurrency: 10, requests: 1000 },
  { concurrency: 50, requests: 1500 },
];
const THREADS = 40;

export async function run(): Promise<void> {
  const bench = await startBenchStack('ingress');
  const { stack, config } = bench;
  console.log('…and a Bolt HTTPReceiver baseline');
  const secret = config.slack.signingSecret;

  const boltApp = new bolt.App({
    token: config.slack.botToken,
    signingSecret: secret,
    receiver: new bolt.HTTPReceiver({ signingSecret: secret, endpoints: '/slack/events' }),
    // Without these Bolt calls auth.test (slack.com) on the first event to learn who it is.
    tokenVerificationEnabled: false,
    botId: 'B0TLBOT',
    botUserId: 'U0TLBOT',
    logLevel: bolt.LogLevel.ERROR,
  });
  let boltSeen = 0;
  boltApp.event('message', async () => {
    boltSeen++;
  });
  const pool = createPool(stack.urls.databaseUrl);
  try {
    const boltServer = await boltApp.start({ port: 0, host: '127.0.0.1' });
    const boltUrl = `http://127.0.0.1:${(boltServer.address() as AddressInfo).port}/slack/events`;

    // Threads Threadline owns: payments whose root message is recorded in slack_messages.
    const threads: { channel: string; ts: string }[] = [];
    for (let i = 0; i < THREADS; i++) {
      const orderId = `order_bi${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const res = await fetch(`${stack.urls.api}/v1/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${config.apiKeys[0]!}` },
        body: JSON.stringify({ orderId, payerName: 'Bench', amount: 1000, currency: 'INR', paymentType: 'full' }),
      });
      if (res.status !== 202) throw new Error(`initiate → ${res.status}`);
      for (;;) {
        const root = (await slackMessagesRepo(pool).bySubject(`payment:${orderId}`)).find((r) => r.purpose === 'root');
        if (root) {
          threads.push({ channel: root.channel, ts: root.ts });
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    let seq = 0;
    const payload = () => {
      const t = threads[seq % THREADS]!;
      seq++;
      return JSON.stringify({
        token: 'x',
        team_id: 'T0THREADLN',
        api_app_id: 'A0THREADLN',
        type: 'event_callback',
        event_id: `Ev${randomUUID().replace(/-/g, '')}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: 'T0THREADLN', user_id: 'U0TLBOT', is_bot: true }],
        event: {
          type: 'message',
          user: 'U0ALICE',
          text: `reply ${seq}`,
          ts: `${Math.floor(Date.now() / 1000)}.${String(seq).padStart(6, '0')}`,
          thread_ts: t.ts,
          channel: t.channel,
          channel_type: 'channel',
        },
      });
    };
    const send = async (url: string, body: string) => {
      const ts = String(Math.floor(Date.now() / 1000));
      const t0 = performance.now();
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': computeSlackSignature(secret, ts, body),
        },
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} → ${res.status}`);
      return performance.now() - t0;
    };
    const level = async (url: string, concurrency: number, requests: number) => {
      const bodies = Array.from({ length: requests }, payload);
      const lat: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < bodies.length) lat.push(await send(url, bodies[next++]!));
        }),
      );
      return { ...summarize(lat), rps: requests / ((performance.now() - started) / 1000) };
    };

    // Warm-up both (JIT, connection pools, workflow cache).
    await level(`${stack.urls.api}/slack/events`, 5, 100);
    await level(boltUrl, 5, 100);

    const header = 'conc  server      p50       p99       max       req/s    | ratio vs Bolt (p50 / p99 / req/s)';
    const rows: string[] = [header];
    for (const l of LEVELS) {
      const ours = await level(`${stack.urls.api}/slack/events`, l.concurrency, l.requests);
      const base = await level(boltUrl, l.concurrency, l.requests);
      const line = (name: string, r: typeof ours) =>
        `${String(l.concurrency).padEnd(5)} ${name.padEnd(10)} ${fmtMs(r.p50).padStart(8)}  ${fmtMs(r.p99).padStart(8)}  ${fmtMs(r.max).padStart(8)}  ${r.rps.toFixed(0).padStart(7)}`;
      rows.push(
        `${line('threadline', ours)}    | ${(ours.p50 / base.p50).toFixed(2)}× / ${(ours.p99 / base.p99).toFixed(2)}× / ${(ours.rps / base.rps).toFixed(2)}×`,
      );
      rows.push(line('bolt', base));
    }
    const handedOff = Number(
      (
        await pool.query(
          `SELECT count(*)::int AS n FROM inbound_events WHERE source = 'slack' AND status = 'handed_off'`,
        )
      ).rows[0].n as number,
    );
    console.log(rows.join('\n'));
    console.log(
      `handed off to Temporal: ${handedOff} events (Bolt listener saw ${boltSeen}); process RSS ${fmtMiB(process.memoryUsage().rss)}; ` +
        `machine: ${(await import('node:os')).cpus().length} cores`,
    );
  } finally {
    await pool.end();
    await boltApp.stop().catch(() => undefined);
    await bench.stop();
  }
}
