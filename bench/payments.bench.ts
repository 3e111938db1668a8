import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin, type InspectedMessage } from '../emulators/slack/admin-client.js';
import { deliverRazorpay, razorpayEvent } from '../test/fixtures/razorpay/build.js';
import { startBenchStack } from './harness.js';
import { ratePer } from './payment-driver.js';
import { fmtMs, summarize } from './stats.js';
import { describeStuck, fmtCost, medianCost } from './cost.js';
import { benchScale, figure, type BenchFigure, type BenchResult } from './result.js';
import { cpuShares, describeShares, sampleCpu } from './cpu.js';
import { baselineFlow } from './baseline/flow.js';
import { baselineCapturedSignal, type benchBaselineWorkflow } from './baseline/workflow.js';
import { flowConfigOf } from '../src/platform/flow.js';
import { paymentsFlow } from '../src/flows/payments/flow.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { createMetrics } from '../src/platform/observability/metrics.js';
import { connectClient, temporalClient } from '../src/platform/temporal/connection.js';
import { startWorker } from '../src/worker/run.js';

/**
 * Payment lifecycle latency, throughput and cost on the real stack (embedded Temporal dev server
 * on SQLite, embedded Postgres, worker, API, Slack emulator), all in this process.
 *
 * Latency: from just before the `payment.captured` webhook request is sent to the moment the
 * emulator created the thread reply (the reply's Slack `ts` is the emulator's wall clock, same
 * process, so no polling error enters the number). Throughput: lifecycles (initiate → root →
 * captured → reply → root updated) completed per second at each concurrency. Each level runs
 * `passes` times; figures are medians with min/max. Cost: activities, local activities and
 * workflow tasks per lifecycle, counted from the recorded histories of the concurrency-1 pass.
 *
 * Throughput vs the bare baseline: lifecycles completed per second at 20 concurrent (4 in the quick form),
 * in alternating segments (Threadline, baseline, Threadline, …) of `segmentS` seconds, 60 s of
 * each in all; the ratio is taken per adjacent pair. The baseline (bench/baseline/workflow.ts)
 * makes the same three Slack calls through the same activities on a worker of its own and is
 * driven straight through the Temporal client (no API or webhook ingress in front of it). The
 * CPU each part used during the Threadline segments names the saturating resource.
 * Emulator rate limits are OFF (Slack's real ~1 post/s/channel would otherwise be the whole story).
 */
const FULL = {
  passes: 3,
  levels: [
    { concurrency: 1, lifecycles: 20 },
    { concurrency: 10, lifecycles: 100 },
    { concurrency: 50, lifecycles: 200 },
  ],
};
const QUICK = { passes: 1, levels: [{ concurrency: 2, lifecycles: 4 }] };
const THROUGHPUT = {
  full: { segments: 6, segmentS: 10, concurrency: 20 },
  // The smoke test's form: it shares CI's Temporal and Postgres with every other test file, where
  // 20 lifecycles in flight on 2 loaded cores outlasted the wait below.
  quick: { segments: 1, segmentS: 2, concurrency: 4 },
};

/**
 * Overrides for a shorter full run (e.g. alternating two checkouts on a busy machine):
 * BENCH_PAYMENTS_LEVELS="1:10,10:60" (concurrency:lifecycles), BENCH_PAYMENTS_PASSES,
 * BENCH_PAYMENTS_SEGMENTS, BENCH_PAYMENTS_SEGMENT_S, BENCH_PAYMENTS_THROUGHPUT_CONCURRENCY.
 */
function planFromEnv(base: typeof FULL, tp: (typeof THROUGHPUT)['full']) {
  const env = process.env;
  const levels = env.BENCH_PAYMENTS_LEVELS
    ? env.BENCH_PAYMENTS_LEVELS.split(',').map((l) => {
        const [concurrency, lifecycles] = l.split(':').map(Number);
        return { concurrency: concurrency!, lifecycles: lifecycles! };
      })
    : base.levels;
  return {
    passes: Number(env.BENCH_PAYMENTS_PASSES ?? base.passes),
    levels,
    throughput: {
      segments: Number(env.BENCH_PAYMENTS_SEGMENTS ?? tp.segments),
      segmentS: Number(env.BENCH_PAYMENTS_SEGMENT_S ?? tp.segmentS),
      concurrency: Number(env.BENCH_PAYMENTS_THROUGHPUT_CONCURRENCY ?? tp.concurrency),
    },
  };
}

const tsMs = (ts: string) => Number(ts) * 1000;
const subjectOf = (m: InspectedMessage) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject;

export async function run(): Promise<BenchResult> {
  const scale = benchScale();
  const plan = scale === 'quick' ? { ...QUICK, throughput: THROUGHPUT.quick } : planFromEnv(FULL, THROUGHPUT.full);
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
  // A bound, not a figure: on a shared, loaded machine (the smoke test in CI) a lifecycle can take long.
  const waitMs = scale === 'quick' ? 180_000 : 60_000;
  const waitRoot = async (subject: string, pred: (m: InspectedMessage) => boolean, timeoutMs = waitMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = roots.get(subject);
      if (m && pred(m)) return m;
      if (Date.now() > deadline) {
        const why = await describeStuck({ config, address: stack.urls.temporal, workflowId: subject });
        throw new Error(`timed out waiting for ${subject} (${why})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  let webhookRetries = 0;

  const baselineQueue = `${config.temporal.taskQueue}-baseline`;
  const baselineWorker = await startWorker({
    config,
    databaseUrl: stack.urls.databaseUrl,
    temporalAddress: stack.urls.temporal,
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(),
    taskQueue: baselineQueue,
    flows: [baselineFlow],
  });
  const clientConnection = await connectClient(config.temporal, stack.urls.temporal);
  const temporal = temporalClient(config.temporal, clientConnection);

  /** The bare baseline's lifecycle: start → root → captured signal → reply and the root's update. */
  async function baselineLifecycle(): Promise<void> {
    const u = randomUUID().replace(/-/g, '').slice(0, 16);
    const subject = `benchbase:${u}`;
    const handle = await temporal.workflow.start<typeof benchBaselineWorkflow>('benchBaselineWorkflow', {
      workflowId: subject,
      taskQueue: baselineQueue,
      args: [{ channel: 'C0PAYMENTS', payer: `Bench ${u}`, amount: '₹1,000.00 INR' }],
    });
    await waitRoot(subject, () => true);
    await handle.signal(baselineCapturedSignal, { amount: '₹1,000.00 INR' });
    await waitRoot(subject, (m) => (m.replies?.length ?? 0) >= 1 && (m.history?.length ?? 0) >= 1);
  }

  /** Lifecycles completed per second for `seconds` at `concurrency` (in-flight ones finish and count). */
  async function segment(one: () => Promise<unknown>, seconds: number, concurrency: number): Promise<number> {
    await slack.reset();
    roots.clear();
    return ratePer(one, seconds, concurrency);
  }

  /** initiate → root → captured → reply and the root's update (the lifecycle's last visible effect). */
  async function lifecycle(): Promise<{ subject: string; latencyMs: number; ackMs: number }> {
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
    // A 503 (the ledger did not answer within the request's budget) is retried, as Razorpay does.
    let hook = await deliverRazorpay(api, secret, body, `evt_b${u}`);
    for (let i = 0; i < 5 && hook.status === 503; i++) {
      webhookRetries++;
      hook = await deliverRazorpay(api, secret, body, `evt_b${u}`);
    }
    const ackMs = Date.now() - t0;
    if (hook.status !== 200) throw new Error(`webhook → ${hook.status} ${await hook.text()}`);
    const root = await waitRoot(subject, (m) => (m.replies?.length ?? 0) >= 1 && (m.history?.length ?? 0) >= 1);
    return { subject, latencyMs: tsMs(root.replies![0]!.ts) - t0, ackMs };
  }

  try {
    await lifecycle(); // warm-up (JIT, connections, workflow cache)
    const byLevel = plan.levels.map(() => ({ rate: [] as number[], p50: [] as number[], p99: [] as number[] }));
    const costSubjects: string[] = [];
    const rows: string[] = [];
    for (let pass = 0; pass < plan.passes; pass++) {
      for (const [li, level] of plan.levels.entries()) {
        await slack.reset();
        roots.clear();
        const results: { subject: string; latencyMs: number; ackMs: number }[] = [];
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
        if (pass === 0 && li === 0) costSubjects.push(...results.map((r) => r.subject));
        const lat = summarize(results.map((r) => r.latencyMs));
        const ack = summarize(results.map((r) => r.ackMs));
        byLevel[li]!.rate.push(lat.n / seconds);
        byLevel[li]!.p50.push(lat.p50);
        byLevel[li]!.p99.push(lat.p99);
        rows.push(
          `${String(pass + 1).padStart(4)} | ${String(level.concurrency).padStart(11)} | ${String(lat.n).padStart(4)} | ${fmtMs(lat.p50).padStart(8)} | ${fmtMs(lat.p95).padStart(8)} | ${fmtMs(lat.p99).padStart(8)} | ${fmtMs(ack.p50).padStart(8)} | ${fmtMs(ack.p99).padStart(8)} | ${(lat.n / seconds).toFixed(1).padStart(6)}`,
        );
        console.log(
          `  pass ${pass + 1}, concurrency ${level.concurrency}: ${lat.n} lifecycles in ${seconds.toFixed(1)}s`,
        );
      }
    }
    console.log('\ncaptured webhook request → thread reply in the Slack emulator (emulator rate limits OFF)');
    console.log('pass | concurrency |    n |  p50     |  p95     |  p99     | ack p50  | ack p99  | lifecycles/s');
    for (const r of rows) console.log(r);

    const tp = plan.throughput;
    const cpuPorts = { temporalPort: config.temporal.devPort, postgresPort: config.embeddedPostgresPort };
    await baselineLifecycle(); // warm-up of the baseline worker
    const real: number[] = [];
    const bare: number[] = [];
    const ratios: number[] = [];
    const shares = { node: 0, temporal: 0, postgres: 0 };
    for (let i = 0; i < tp.segments; i++) {
      const a = await sampleCpu(cpuPorts);
      real.push(await segment(lifecycle, tp.segmentS, tp.concurrency));
      const s = cpuShares(a, await sampleCpu(cpuPorts));
      for (const k of ['node', 'temporal', 'postgres'] as const) shares[k] += s[k] / tp.segments;
      bare.push(await segment(baselineLifecycle, tp.segmentS, tp.concurrency));
      ratios.push(real.at(-1)! / bare.at(-1)!);
      console.log(
        `  throughput segment ${i + 1}: threadline ${real.at(-1)!.toFixed(1)}/s, baseline ${bare.at(-1)!.toFixed(1)}/s`,
      );
    }
    const saturating = describeShares(shares);
    console.log(`CPU during the Threadline segments: ${saturating}; webhook 503s retried: ${webhookRetries}`);

    const cost = await medianCost({ config, address: stack.urls.temporal, workflowIds: costSubjects });
    console.log(`\ncost per payment lifecycle (median of ${cost.n} histories): ${fmtCost(cost)}`);

    const figures: BenchFigure[] = plan.levels.flatMap((level, li) => [
      figure(`payments: lifecycles/s at ${level.concurrency} concurrent`, '/s', byLevel[li]!.rate),
      figure(`payments: captured → reply p50 at ${level.concurrency} concurrent`, 'ms', byLevel[li]!.p50),
      figure(`payments: captured → reply p99 at ${level.concurrency} concurrent`, 'ms', byLevel[li]!.p99),
    ]);
    figures.push(
      figure('payments: activities per lifecycle', 'count', [cost.activities]),
      figure('payments: local activities per lifecycle', 'count', [cost.localActivities]),
      figure('payments: workflow tasks per lifecycle', 'count', [cost.workflowTasks]),
      figure('payments: history events per lifecycle', 'count', [cost.events]),
      figure(`payments: throughput at ${tp.concurrency} concurrent`, '/s', real, `CPU: ${saturating}`),
      figure(`payments: bare baseline throughput at ${tp.concurrency} concurrent`, '/s', bare),
      figure('payments: throughput ÷ bare baseline (alternating pairs)', 'ratio', ratios),
    );
    return {
      figures,
      notes: [`payments cost: ${fmtCost(cost)}`, `payments: webhook 503s retried: ${webhookRetries}`],
    };
  } finally {
    polling = false;
    await poller.catch(() => undefined);
    await baselineWorker.shutdown();
    await clientConnection.close();
    await bench.stop();
  }
}
