import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin, type InspectedMessage } from '../emulators/slack/admin-client.js';
import { deliverRazorpay, razorpayEvent } from '../test/fixtures/razorpay/build.js';
import { startBenchStack } from './harness.js';
import { fmtMs, summarize } from './stats.js';
import { flowConfigOf } from '../src/platform/flow.js';
import { paymentsFlow } from '../src/flows/payments/flow.js';

/**
 * Payment lifecycle latency and throughput on the real stack (embedded Temporal dev server on
 * SQLite, embedded Postgres, worker, API, Slack emulator), all in this process.
 *
 * Latency: from just before the `payment.captured` webhook request is sent to the moment the
 * emulator created the thread reply (the reply's Slack `ts` is the emulator's wall clock, same
 * process, so no polling error enters the number). Throughput: lifecycles (initiate → root →
 * captured → reply) completed per second at each concurrency. Emulator rate limits are OFF
 * (Slack's real ~1 post/s/channel would otherwise be the whole story).
 */
const LEVELS = [
  { concurrency: 1, lifecycles: 20 },
  { concurrency: 10, lifecycles: 100 },
  { concurrency: 50, lifecycles: 200 },
];

const tsMs = (ts: string) => Number(ts) * 1000;
const subjectOf = (m: InspectedMessage) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject;

export async function run(): Promise<void> {
  const bench = await startBenchStack('payments');
  const { stack, config } = bench;
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  await slack.setRateLimits(false);
  const api = stack.urls.api;
  const secret = flowConfigOf(config, paymentsFlow).razorpayWebhookSecret!;
  const auth = `Bearer ${config.apiKeys[0]!}`;

  // One poller for all in-flight lifecycles (per-payment polling would load the 2 cores more than the system under test).
  const roots = new Map<string, InspectedMessage>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      for (const m of await slack.channelMessages('C0PAYMENTS')) {
        const s = subjectOf(m);
        if (s) roots.set(s, m);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const waitRoot = async (subject: string, pred: (m: InspectedMessage) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = roots.get(subject);
      if (m && pred(m)) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${subject}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  async function lifecycle(): Promise<{ latencyMs: number; ackMs: number }> {
    const u = randomUUID().replace(/-/g, '').slice(0, 16);
    const orderId = `order_b${u}`;
    const subject = `payment:${orderId}`;
    const res = await fetch(`${api}/v1/payments`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ orderId, payerName: `Bench ${u}`, amount: 100000, currency: 'INR', paymentType: 'full' }),
    });
    if (res.status !== 202) throw new Error(`initiate → ${res.status} ${await res.text()}`);
    await waitRoot(subject, () => true);
    const body = JSON.stringify(razorpayEvent('payment.captured', { orderId, paymentId: `pay_b${u}`, amount: 100000 }));
    const t0 = Date.now();
    const hook = await deliverRazorpay(api, secret, body, `evt_b${u}`);
    const ackMs = Date.now() - t0;
    if (hook.status !== 200) throw new Error(`webhook → ${hook.status} ${await hook.text()}`);
    const root = await waitRoot(subject, (m) => (m.replies?.length ?? 0) >= 1);
    return { latencyMs: tsMs(root.replies![0]!.ts) - t0, ackMs };
  }

  try {
    await lifecycle(); // warm-up (JIT, connections, workflow cache)
    const rows: string[] = [];
    for (const level of LEVELS) {
      await slack.reset();
      roots.clear();
      const results: { latencyMs: number; ackMs: number }[] = [];
      let next = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: level.concurrency }, async () => {
          while (next < level.lifecycles) {
            next++;
            results.push(await lifecycle());
          }
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      const lat = summarize(results.map((r) => r.latencyMs));
      const ack = summarize(results.map((r) => r.ackMs));
      rows.push(
        `${String(level.concurrency).padStart(11)} | ${String(lat.n).padStart(4)} | ${fmtMs(lat.p50).padStart(8)} | ${fmtMs(lat.p95).padStart(8)} | ${fmtMs(lat.p99).padStart(8)} | ${fmtMs(ack.p50).padStart(8)} | ${fmtMs(ack.p99).padStart(8)} | ${(lat.n / seconds).toFixed(1).padStart(6)}`,
      );
      console.log(`  concurrency ${level.concurrency}: done (${lat.n} lifecycles in ${seconds.toFixed(1)}s)`);
    }
    console.log('\ncaptured webhook request → thread reply in the Slack emulator (emulator rate limits OFF)');
    console.log('concurrency |    n |  p50     |  p95     |  p99     | ack p50  | ack p99  | lifecycles/s');
    for (const r of rows) console.log(r);
  } finally {
    polling = false;
    await poller.catch(() => undefined);
    await bench.stop();
  }
}
