import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlackEmulatorAdmin, type InspectedMessage } from '../emulators/slack/admin-client.js';
import { paymentsFlow } from '../src/flows/payments/flow.js';
import { flowConfigOf } from '../src/platform/flow.js';
import { deliverRazorpay, razorpayEvent } from '../test/fixtures/razorpay/build.js';
import { fmtCost, medianCost } from './cost.js';
import { procCpu, sampleCpu, type CpuSample } from './cpu.js';
import { startBenchStack } from './harness.js';
import { benchScale, figure, type BenchFigure, type BenchResult } from './result.js';
import { fmtMiB, fmtMs, summarize } from './stats.js';
import { rssOf, workerChildren, writeBundle } from './worker-child.js';

/**
 * Scale: N open lifecycles waiting on a signal, approvals and payments, on the real stack (embedded
 * Temporal dev server on SQLite, embedded Postgres, API and Slack emulator in this process, the
 * worker in its own OS process so its memory is measured alone).
 *
 * For each kind, lifecycles are created through the API (POST /v1/approvals: a request with one
 * approver, which answers once its people are resolved and then DMs the approver; POST
 * /v1/payments: the root post in the payments channel) at `BENCH_SCALE_CONCURRENCY` (32) until the
 * open count reaches each level of `BENCH_SCALE_LEVELS` (1000,2000,5000,10000). At each level, once
 * every one of them has its Slack post (settled): time to create that step and its rate (with the
 * CPU each process used meanwhile: what bounds it), the worker's RSS, the Temporal SQLite size,
 * and signal-to-effect latency on `BENCH_SCALE_SIGNALS` (20) lifecycles picked at random among
 * the open ones (so with N above the worker's cache most are evicted and replayed), against the
 * same measure on an idle system. Approvals: click Approve in the emulator → the DM's chat.update
 * applied (`history[].replacedAt`, the emulator's clock in this process); payments:
 * `payment.captured` webhook sent → thread reply (its `ts`). Memory and database size per
 * lifecycle are the least-squares slopes over the levels. Emulator rate limits and pacing are OFF.
 */
const FULL = { levels: [1000, 2000, 5000, 10_000], signals: 20, concurrency: 32 };
const QUICK = { levels: [10, 20], signals: 3, concurrency: 4 };

function plan() {
  const base = benchScale() === 'quick' ? QUICK : FULL;
  const env = process.env;
  return {
    levels: env.BENCH_SCALE_LEVELS ? env.BENCH_SCALE_LEVELS.split(',').map(Number) : base.levels,
    signals: Number(env.BENCH_SCALE_SIGNALS ?? base.signals),
    concurrency: Number(env.BENCH_SCALE_CONCURRENCY ?? base.concurrency),
    kinds: (env.BENCH_SCALE_KINDS ?? 'approvals,payments').split(',') as Kind[],
  };
}
type Kind = 'approvals' | 'payments';

async function dirSize(dir: string, prefix: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) if (f.startsWith(prefix)) total += (await stat(join(dir, f))).size;
  return total;
}

/** Least-squares slope of y over x (NaN under two points). */
function slope(xs: number[], ys: number[]): number {
  if (xs.length < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return num / den;
}

const subjectOf = (m: InspectedMessage) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<BenchResult> {
  const p = plan();
  const tmp = await mkdtemp(join(tmpdir(), 'threadline-bench-scale-'));
  const { bundle, path: bundlePath } = await writeBundle(tmp);
  // No SLA timer may fire during the run: every lifecycle waits on its signal only.
  const bench = await startBenchStack(
    'scale',
    { APPROVAL_REMIND_AFTER: '6h', APPROVAL_EXPIRE_AFTER: '1d', APPROVAL_DECIDED_GRACE: '1s' },
    { workflowBundle: bundle },
  );
  const { stack, config } = bench;
  const workers = await workerChildren(bench, bundlePath);
  const worker = await workers.spawn();
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  await slack.setRateLimits(false);
  const api = stack.urls.api;
  const headers = { authorization: `Bearer ${config.apiKeys[0]!}`, 'content-type': 'application/json' };
  const secret = flowConfigOf(config, paymentsFlow).razorpayWebhookSecret!;
  const approvers = ['U0BOB', 'U0CAROL', 'U0DAVE', 'U0ERIN'];
  const dmChannels = new Map<string, string>(); // approver → DM channel id (learned from the first DMs)
  const cpuPorts = { temporalPort: config.temporal.devPort, postgresPort: config.embeddedPostgresPort };
  const cpuNow = async (): Promise<CpuSample & { worker: number }> => ({
    ...(await sampleCpu(cpuPorts)),
    worker: (await procCpu(String(worker.child.pid)))?.seconds ?? 0,
  });

  let retried503 = 0;
  /**
   * A POST with an Idempotency-Key, retried on 503 (the API's 2.5 s budget ran out on a loaded
   * machine) as a client would: the key makes a retry answer the first attempt's outcome.
   */
  async function post(path: string, body: unknown, want: number): Promise<Response> {
    const key = randomUUID();
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${api}${path}`, {
        method: 'POST',
        headers: { ...headers, 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      if (res.status === want) return res;
      if (res.status !== 503 || attempt >= 10) throw new Error(`POST ${path} → ${res.status} ${await res.text()}`);
      retried503++;
      await res.arrayBuffer();
      await sleep(500);
    }
  }

  /** Creates one open lifecycle; answers its subject (workflow id) once the API answered. */
  async function create(kind: Kind, i: number): Promise<string> {
    if (kind === 'approvals') {
      const res = await post(
        '/v1/approvals',
        { title: `Scale ${i}`, requester: 'U0ALICE', approvers: [approvers[i % 4]!] },
        201,
      );
      return ((await res.json()) as { workflowId: string }).workflowId;
    }
    const orderId = `order_s${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    await post(
      '/v1/payments',
      { orderId, payerName: `Scale ${orderId}`, amount: 100000, currency: 'INR', paymentType: 'full' },
      202,
    );
    return `payment:${orderId}`;
  }

  /** Every Slack post of the kind, by subject (the approvers' DMs, or the payments channel). */
  async function posts(kind: Kind): Promise<Map<string, InspectedMessage>> {
    const channels = kind === 'approvals' ? [...dmChannels.values()] : ['C0PAYMENTS'];
    const out = new Map<string, InspectedMessage>();
    for (const c of channels)
      for (const m of await slack.channelMessages(c)) {
        const s = subjectOf(m);
        if (s) out.set(s, m);
      }
    return out;
  }

  /** Waits until every subject has its post (the lifecycle is open and waiting on its signal). */
  async function settle(kind: Kind, subjects: Iterable<string>): Promise<Map<string, InspectedMessage>> {
    const want = [...subjects];
    // A stall, not a rate, fails the level: posts that keep arriving are waited for however slowly
    // (10,000 payments posted at 17/s outlasted a fixed 20 ms per lifecycle and lost the whole table).
    const STALL_MS = 120_000;
    let posted = -1;
    let progressAt = Date.now();
    for (;;) {
      const have = await posts(kind);
      const n = want.filter((s) => have.has(s)).length;
      if (n === want.length) return have;
      if (n > posted) {
        posted = n;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > STALL_MS)
        throw new Error(
          `${kind}: ${want.length - n} of ${want.length} never posted (no new post for ${STALL_MS / 1000} s)`,
        );
      await sleep(500);
    }
  }

  /** One signal → its visible effect, in ms (the emulator's own clock for the effect). */
  async function signalLatency(kind: Kind, subject: string, post: InspectedMessage): Promise<number> {
    const t0 = Date.now();
    if (kind === 'approvals') {
      const approver = [...dmChannels].find(([, c]) => c === post.channel)![0];
      await slack.clickButton({ user: approver, channel: post.channel, ts: post.ts, action_id: 'tl:approval.approve' });
    } else {
      const orderId = subject.slice('payment:'.length);
      const body = JSON.stringify(
        razorpayEvent('payment.captured', { orderId, paymentId: `pay_${orderId}`, amount: 100000 }),
      );
      const hook = await deliverRazorpay(api, secret, body, `evt_${orderId}`);
      if (hook.status !== 200) throw new Error(`webhook → ${hook.status} ${await hook.text()}`);
    }
    for (;;) {
      const m = await slack.message(post.channel, post.ts);
      if (kind === 'approvals' && JSON.stringify(m.blocks ?? []).includes('approval_outcome'))
        return Date.parse(m.history.at(-1)!.replacedAt) - t0;
      if (kind === 'payments' && m.replies?.length) return Number(m.replies[0]!.ts) * 1000 - t0;
      if (Date.now() - t0 > 60_000) throw new Error(`no effect for ${subject}`);
      await sleep(10);
    }
  }

  /** Signals `n` random open lifecycles one after another; they leave the open set. */
  async function latencies(kind: Kind, open: string[], n: number): Promise<number[]> {
    const have = await posts(kind);
    const out: number[] = [];
    for (let i = 0; i < n && open.length; i++) {
      const [subject] = open.splice(Math.floor(Math.random() * open.length), 1);
      out.push(await signalLatency(kind, subject!, have.get(subject!)!));
    }
    return out;
  }

  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  try {
    // Learn the approvers' DM channels and warm up (JIT, connections, the worker's cache).
    for (const [i, a] of approvers.entries()) {
      const subject = await create('approvals', i);
      for (let t = 0; !dmChannels.has(a); t++) {
        const r = await fetch(`${api}/v1/approvals/${subject.slice('approval:'.length)}`, { headers });
        const v = (await r.json()) as { slack: { channel: string }[] };
        if (v.slack[0]) dmChannels.set(a, v.slack[0].channel);
        else if (t > 2400) throw new Error(`no DM for ${subject}`);
        else await sleep(25);
      }
    }
    for (const kind of p.kinds) {
      // Idle: a few fresh lifecycles, nothing else open of this kind.
      const fresh: string[] = [];
      for (let i = 0; i < p.signals; i++) fresh.push(await create(kind, 9_000_000 + i));
      await settle(kind, fresh);
      const idle = await latencies(kind, fresh, p.signals);
      const idleS = summarize(idle);
      console.log(`${kind}: idle signal → effect p50 ${fmtMs(idleS.p50)}, p99 ${fmtMs(idleS.p99)} (load ${load()})`);
      figures.push(figure(`scale ${kind}: signal → effect p50, idle`, 'ms', [idleS.p50]));

      const open: string[] = [];
      const xs: number[] = [];
      const rss: number[] = [];
      const db: number[] = [];
      const rssStart = await rssOf(worker.child.pid);
      const dbStart = await dirSize(stack.urls.dataDir, 'temporal.db');
      let created = 0;
      for (const level of p.levels) {
        const target = level - open.length;
        if (target <= 0) continue;
        const startLoad = load();
        const cpuA = await cpuNow();
        const started = Date.now();
        const createMs: number[] = [];
        const batch: string[] = [];
        let next = 0;
        await Promise.all(
          Array.from({ length: p.concurrency }, async () => {
            while (next < target) {
              next++;
              const t = Date.now();
              batch.push(await create(kind, created++));
              createMs.push(Date.now() - t);
            }
          }),
        );
        const answeredS = (Date.now() - started) / 1000;
        await settle(kind, batch);
        const settledS = (Date.now() - started) / 1000;
        const cpuB = await cpuNow();
        const wall = Math.max(0.001, (cpuB.atMs - cpuA.atMs) / 1000);
        const share = (k: 'node' | 'temporal' | 'postgres' | 'worker') => ((cpuB[k] - cpuA[k]) / wall).toFixed(2);
        const cpu = `CPU (cores of 2): Temporal ${share('temporal')}, worker ${share('worker')}, API+emulator+driver ${share('node')}, Postgres ${share('postgres')}`;
        open.push(...batch);
        const rate = batch.length / settledS;
        const c = summarize(createMs);
        xs.push(open.length);
        rss.push(await rssOf(worker.child.pid));
        db.push(await dirSize(stack.urls.dataDir, 'temporal.db'));
        const loaded = summarize(await latencies(kind, open, p.signals));
        const endLoad = load();
        console.log(
          `${kind}: ${level} open: +${batch.length} in ${settledS.toFixed(1)} s (API answered all in ${answeredS.toFixed(1)} s) = ${rate.toFixed(1)}/s; ` +
            `POST p50 ${fmtMs(c.p50)} p99 ${fmtMs(c.p99)}; worker RSS ${fmtMiB(rss.at(-1)!)}; temporal.db ${fmtMiB(db.at(-1)!)}; ` +
            `signal → effect p50 ${fmtMs(loaded.p50)} p99 ${fmtMs(loaded.p99)}; ${cpu}; load ${startLoad} → ${endLoad}`,
        );
        const at = `at ${level}`;
        figures.push(
          figure(`scale ${kind}: created per second ${at}`, '/s', [rate], cpu),
          figure(
            `scale ${kind}: seconds to create ${batch.length} ${at}`,
            's',
            [settledS],
            `load ${startLoad} → ${endLoad}`,
          ),
          figure(`scale ${kind}: create POST p99 ${at}`, 'ms', [c.p99]),
          figure(`scale ${kind}: worker RSS ${at}`, 'MiB', [rss.at(-1)! / 2 ** 20]),
          figure(`scale ${kind}: Temporal DB ${at}`, 'MiB', [db.at(-1)! / 2 ** 20]),
          figure(`scale ${kind}: signal → effect p50 ${at}`, 'ms', [loaded.p50]),
          figure(`scale ${kind}: signal → effect p99 ${at}`, 'ms', [loaded.p99]),
        );
      }
      // What one open lifecycle cost to create, from real histories (the server's work per create).
      const cost = await medianCost({ config, address: stack.urls.temporal, workflowIds: open.slice(0, 10) });
      notes.push(`${kind}: cost to open one (median of ${cost.n} histories): ${fmtCost(cost)}`);
      figures.push(
        figure(`scale ${kind}: activities per open lifecycle`, 'count', [cost.activities]),
        figure(`scale ${kind}: workflow tasks per open lifecycle`, 'count', [cost.workflowTasks]),
      );
      const kibPer = (ys: number[], start: number) => slope([0, ...xs], [start, ...ys]) / 1024;
      figures.push(
        figure(`scale ${kind}: worker memory per open lifecycle (slope)`, 'KiB', [kibPer(rss, rssStart)]),
        figure(`scale ${kind}: Temporal DB per open lifecycle (slope)`, 'KiB', [kibPer(db, dbStart)]),
      );
      notes.push(
        `${kind}: worker RSS ${xs.map((x, i) => `${x}: ${fmtMiB(rss[i]!)}`).join(', ')}; temporal.db ${xs.map((x, i) => `${x}: ${fmtMiB(db[i]!)}`).join(', ')}`,
      );
    }
    notes.push(`create POSTs answered 503 and retried (same Idempotency-Key): ${retried503}`);
    notes.push(
      `worker cache: WORKER_MAX_CACHED_WORKFLOWS=${config.worker.maxCachedWorkflows ?? 'SDK default (from the heap size)'}; levels ${p.levels.join(', ')}; concurrency ${p.concurrency}`,
    );
    return { figures, notes };
  } finally {
    await workers.stop(worker).catch(() => undefined);
    await bench.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}
