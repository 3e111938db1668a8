import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, setPriority, tmpdir, totalmem } from 'node:os';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, type Pool } from '../src/platform/db/pool.js';
import { slackMessagesRepo } from '../src/platform/db/repositories.js';
import { computeSlackSignature } from '../src/integrations/slack/signature.js';
import { freePort } from '../test/helpers/ports.js';
import { spawnScript, type WorkerProcess } from '../test/helpers/worker-process.js';
import { boltBaseline } from './bolt-app.js';
import { startBenchStack } from './harness.js';
import { devServerPid, procCpu, sampleCpu } from './cpu.js';
import { fmtMs, percentile, summarize } from './stats.js';
import { apiChild, workerChildren, writeBundle } from './worker-child.js';

/**
 * `npm run bench -- slack-ingress`: POST /slack/events on the real stack (embedded Temporal on
 * SQLite, embedded Postgres, worker, API and relay in this process) against a Slack Bolt for JS
 * app (HTTPReceiver, a no-op `message` listener) given the same kind of signed payloads, each
 * figure taken alternately (ours, Bolt; then Bolt, ours) over RUNS runs and reported as the median
 * [min–max], with the ratio of the medians.
 *
 * Every request is a person's thread reply with a fresh event_id in a thread Threadline owns, so
 * ours does the whole durable ack: verify → parse → thread lookup → ONE ledger INSERT (the sealed
 * signal) → 200; the relay then signals the workflow. Bolt verifies, parses, acks and persists
 * nothing.
 * - ack at RATE events/s: an open loop (requests sent on schedule whatever the answers), p50/p99;
 * - max throughput: a closed loop of MAX_CONCURRENCY senders, requests per second;
 * - hand-off: for every event of the rate run, recorded (`received_at`) → handed off to its
 *   workflow (`handed_off_at`, set when Temporal accepted the signal), p50/p99;
 * - the ack path alone: the rate and max runs again with Temporal's dev server and the worker
 *   paused (SIGSTOP; resumed and drained after), so what the ack path costs shows apart from what
 *   the hand-offs and workflow tasks it feeds cost on the same cores;
 * - the rate run again with the dev server and the worker at nice 10 (a lower CPU priority than
 *   the API's: how one would co-locate them), ack and hand-off;
 * - the cores each part used during the rate run.
 * Processes, as deployed (`BENCH_INGRESS_TOPOLOGY=processes`, the default): our API (routes and
 * its relay), our worker and the Bolt app each run in their own OS process; this process holds the
 * load generator, the emulators, Temporal's and Postgres' embedded engines. `one`: the API, relay,
 * worker and Bolt all share this process's event loop with the load generator (how the figures
 * before 2026-12-01 evening were taken: the API then waited behind the worker's activations).
 * All of it shares the machine's cores: the absolute figures are lower bounds, the ratios compare
 * like with like. The load average is printed.
 */
const TOPOLOGY = process.env.BENCH_INGRESS_TOPOLOGY === 'one' ? 'one' : 'processes';
const RATE = 200;
const RATE_SECONDS = 5;
const MAX_CONCURRENCY = 20;
const MAX_REQUESTS = 1500;
const RUNS = 3;
const THREADS = 40;
/** Clicks: the rate of the open loop, the requests of the closed one, the approvals clicked on. */
const CLICK_RATE = 50;
const CLICK_MAX_REQUESTS = 500;
const APPROVALS = 20;

interface Figures {
  ackP50: number;
  ackP99: number;
  rateRps: number;
  maxRps: number;
  handoffP50?: number;
  handoffP99?: number;
  /** The same two measures with Temporal and the worker paused (SIGSTOP): the ack path alone. */
  aloneP50?: number;
  aloneP99?: number;
  aloneMaxRps?: number;
  /** The rate run again with Temporal's dev server and the worker at a lower CPU priority (nice 10). */
  nicedP50?: number;
  nicedP99?: number;
  nicedHandoffP50?: number;
  nicedHandoffP99?: number;
  /** Cores each part used during the rate run. */
  cpu?: Record<string, number>;
}

export async function run(): Promise<void> {
  const separate = TOPOLOGY === 'processes';
  const tmp = await mkdtemp(join(tmpdir(), 'threadline-bench-slack-ingress-'));
  const built = separate ? await writeBundle(tmp) : undefined;
  const bench = await startBenchStack('ingress', {}, built ? { workflowBundle: built.bundle } : {});
  const { stack, config } = bench;
  console.log(`…and a Bolt HTTPReceiver baseline (topology: ${TOPOLOGY})`);
  const secret = config.slack.signingSecret;
  const children: { stop(): Promise<void> }[] = [];
  let worker: WorkerProcess | undefined;
  if (built) {
    const workers = await workerChildren(bench, built.path);
    worker = await workers.spawn();
    children.push({ stop: () => workers.stop(worker!) });
  }
  const api = separate ? await apiChild(bench, await freePort(), tmp) : undefined;
  if (api) children.push(api);
  const boltChild = separate ? await spawnBolt(secret) : undefined;
  if (boltChild) children.push(boltChild);

  const { app: boltApp, seen: boltSeen } = boltBaseline(secret, config.slack.botToken);
  const pool = createPool(stack.urls.databaseUrl);
  try {
    const boltUrl = boltChild
      ? boltChild.url
      : `http://127.0.0.1:${((await boltApp.start({ port: 0, host: '127.0.0.1' })).address() as AddressInfo).port}/slack/events`;
    const apiBase = api?.url ?? stack.urls.api;
    const oursUrl = `${apiBase}/slack/events`;
    const threads = await ownedThreads(apiBase, config.apiKeys[0]!, pool);
    const cpuPorts = { temporalPort: config.temporal.devPort, postgresPort: config.embeddedPostgresPort };
    const temporalPid = await devServerPid(config.temporal.devPort);
    /** CPU seconds so far of each part (the API's, the worker's and Bolt's own processes when they run apart). */
    const cpuNow = async () => {
      const base = await sampleCpu(cpuPorts);
      const of = async (pid: number | undefined) => (pid ? ((await procCpu(String(pid)))?.seconds ?? 0) : 0);
      return {
        atMs: base.atMs,
        parts: {
          temporal: base.temporal,
          postgres: base.postgres,
          worker: await of(worker?.child.pid),
          api: await of(api?.child.pid),
          bolt: await of(boltChild?.pid),
          'load generator + emulators': base.node,
        } as Record<string, number>,
      };
    };
    const cpuBetween = (a: Awaited<ReturnType<typeof cpuNow>>, b: Awaited<ReturnType<typeof cpuNow>>) => {
      const wall = Math.max(0.001, (b.atMs - a.atMs) / 1000);
      return Object.fromEntries(
        Object.keys(a.parts).map((k) => [k, Number(((b.parts[k]! - a.parts[k]!) / wall).toFixed(2))]),
      );
    };
    /** Stops (SIGSTOP) or resumes (SIGCONT) what is downstream of the ack: Temporal's dev server and the worker. */
    const downstream = (sig: 'SIGSTOP' | 'SIGCONT') => {
      for (const pid of [temporalPid, worker?.child.pid]) if (pid) process.kill(pid, sig);
    };
    /** Sets the CPU priority (nice value) of Temporal's dev server and the worker (their main threads' process). */
    const renice = (nice: number) => {
      for (const pid of [temporalPid, worker?.child.pid]) if (pid) reniceAll(pid, nice);
    };

    let seq = 0;
    const payload = () => {
      const t = threads[seq % THREADS]!;
      seq++;
      const eventId = `Ev${randomUUID().replace(/-/g, '')}`;
      const body = JSON.stringify({
        token: 'x',
        team_id: 'T0THREADLN',
        api_app_id: 'A0THREADLN',
        type: 'event_callback',
        event_id: eventId,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: 'T0THREADLN', user_id: 'U0TLBOT', is_bot: true }],
        event: {
          type: 'message',
          user: 'U0ALICE',
          text: `reply ${seq}`,
          ts: `${Math.floor(Date.now() / 1000)}.${String(seq % 1e6).padStart(6, '0')}`,
          thread_ts: t.ts,
          channel: t.channel,
          channel_type: 'channel',
        },
      });
      return { eventId, body };
    };
    const send = (url: string, body: string, contentType = 'application/json') =>
      attempt(url, body, contentType).catch(() => {
        failures.set(0, (failures.get(0) ?? 0) + 1); // no answer (connect or 10 s timeout)
        return NaN;
      });
    const attempt = async (url: string, body: string, contentType: string) => {
      const ts = String(Math.floor(Date.now() / 1000));
      const t0 = performance.now();
      const res = await fetch(url, {
        signal: AbortSignal.timeout(10_000),
        method: 'POST',
        headers: {
          'content-type': contentType,
          'x-slack-request-timestamp': ts,
          'x-slack-signature': computeSlackSignature(secret, ts, body),
        },
        body,
      });
      await res.arrayBuffer();
      // Counted, not thrown: a 503 (the pool or the budget ran out) is a figure of the run.
      if (res.status !== 200) failures.set(res.status, (failures.get(res.status) ?? 0) + 1);
      return performance.now() - t0;
    };
    const failures = new Map<number, number>();

    /** Open loop: request i leaves at start + i/rate s, answered or not. */
    const atRate = async (
      url: string,
      make: () => { eventId: string; body: string } = payload,
      rate = RATE,
      ct?: string,
    ) => {
      const items = Array.from({ length: rate * RATE_SECONDS }, make);
      const lat: number[] = [];
      const inflight: Promise<void>[] = [];
      const started = performance.now();
      for (let i = 0; i < items.length; i++) {
        const wait = started + (i * 1000) / rate - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        inflight.push(send(url, items[i]!.body, ct).then((ms) => void (Number.isNaN(ms) || lat.push(ms))));
      }
      await Promise.all(inflight);
      const s = summarize(lat);
      return {
        p50: s.p50,
        p99: s.p99,
        rps: items.length / ((performance.now() - started) / 1000),
        ids: items.map((x) => x.eventId),
      };
    };
    /** Closed loop: MAX_CONCURRENCY senders, each sends its next request when the previous is answered. */
    const flatOut = async (url: string, make: () => { body: string } = payload, n = MAX_REQUESTS, ct?: string) => {
      const bodies = Array.from({ length: n }, () => make().body);
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: MAX_CONCURRENCY }, async () => {
          while (next < bodies.length) await send(url, bodies[next++]!, ct);
        }),
      );
      return n / ((performance.now() - started) / 1000);
    };

    // Warm-up both (JIT, connection pools, workflow cache); what failed there is not counted.
    for (let i = 0; i < 20; i++) {
      await Promise.all(Array.from({ length: 10 }, () => send(oursUrl, payload().body)));
      await Promise.all(Array.from({ length: 10 }, () => send(boltUrl, payload().body)));
    }
    await settle(pool);
    failures.clear();

    const loadBefore = loadavg();
    const ours: Figures[] = [];
    const base: Figures[] = [];
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 === 0 ? (['ours', 'bolt'] as const) : (['bolt', 'ours'] as const);
      for (const who of order) {
        if (who === 'ours') {
          const c0 = await cpuNow();
          const rate = await atRate(oursUrl);
          const cpu = cpuBetween(c0, await cpuNow());
          const handoff = await handOffTimes(pool, rate.ids);
          const maxRps = await flatOut(oursUrl);
          await settle(pool);
          // The ack path alone: what is downstream paused, so only the API, Postgres and the load
          // generator run (the relay's calls wait and back off); then resumed and drained.
          let alone: { p50: number; p99: number; maxRps: number } | undefined;
          if (temporalPid && worker) {
            downstream('SIGSTOP');
            try {
              const r = await atRate(oursUrl);
              alone = { p50: r.p50, p99: r.p99, maxRps: await flatOut(oursUrl) };
            } finally {
              downstream('SIGCONT');
            }
            await settle(pool);
          }
          // The ack path first: what is downstream at a lower CPU priority (nice 10, as an operator
          // co-locating them would run them), so the kernel serves the API before them.
          let niced: { p50: number; p99: number; handoff: number[] } | undefined;
          if (temporalPid && worker) {
            renice(10);
            try {
              const r = await atRate(oursUrl);
              niced = { p50: r.p50, p99: r.p99, handoff: await handOffTimes(pool, r.ids) };
            } finally {
              renice(0);
            }
          }
          ours.push({
            ackP50: rate.p50,
            ackP99: rate.p99,
            rateRps: rate.rps,
            maxRps,
            handoffP50: percentile(handoff, 50),
            handoffP99: percentile(handoff, 99),
            ...(niced
              ? {
                  nicedP50: niced.p50,
                  nicedP99: niced.p99,
                  nicedHandoffP50: percentile(niced.handoff, 50),
                  nicedHandoffP99: percentile(niced.handoff, 99),
                }
              : {}),
            ...(alone ? { aloneP50: alone.p50, aloneP99: alone.p99, aloneMaxRps: alone.maxRps } : {}),
            cpu,
          });
        } else {
          const rate = await atRate(boltUrl);
          base.push({ ackP50: rate.p50, ackP99: rate.p99, rateRps: rate.rps, maxRps: await flatOut(boltUrl) });
        }
      }
      console.log(`run ${r + 1}/${RUNS}: ours ${JSON.stringify(ours.at(-1))}, bolt ${JSON.stringify(base.at(-1))}`);
    }
    const loadAfter = loadavg();

    const med = (xs: number[]) => percentile(xs, 50);
    const cell = (xs: number[], fmt: (v: number) => string) =>
      `${fmt(med(xs))} [${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}]`;
    const rps = (v: number) => v.toFixed(0);
    const col = (f: keyof Figures, of: Figures[]) => of.map((x) => x[f] as number);
    type Fmt = (v: number) => string;
    /** A row comparing one of our figures with one of Bolt's: both cells, the ratio of the medians, the goal. */
    const vs = (label: string, f: keyof Figures, g: keyof Figures, fmt: Fmt, goal = '', o = ours, b = base) => [
      label,
      cell(col(f, o), fmt),
      cell(col(g, b), fmt),
      `${(med(col(f, o)) / med(col(g, b))).toFixed(2)}×`,
      goal,
    ];
    /** A row of ours alone. */
    const alone = (label: string, f: keyof Figures, fmt: Fmt, goal = '') => [
      label,
      cell(col(f, ours), fmt),
      '',
      '',
      goal,
    ];
    const rows = [
      ['figure', 'threadline', 'bolt', 'ratio (ours / bolt)', 'goal'],
      vs(`ack p50 @ ${RATE}/s`, 'ackP50', 'ackP50', fmtMs),
      vs(`ack p99 @ ${RATE}/s`, 'ackP99', 'ackP99', fmtMs, '≤ 25ms'),
      [`achieved req/s @ ${RATE}/s`, cell(col('rateRps', ours), rps), cell(col('rateRps', base), rps), '', ''],
      vs(`max req/s (${MAX_CONCURRENCY} concurrent)`, 'maxRps', 'maxRps', rps, '≥ 0.5×'),
      ...(ours.every((o) => o.aloneP99 !== undefined)
        ? [
            vs(`ack p50 @ ${RATE}/s, ack path alone`, 'aloneP50', 'ackP50', fmtMs),
            vs(`ack p99 @ ${RATE}/s, ack path alone`, 'aloneP99', 'ackP99', fmtMs, '≤ 25ms'),
            vs(`max req/s, ack path alone`, 'aloneMaxRps', 'maxRps', rps, '≥ 0.5×'),
          ]
        : []),
      ...(ours.every((o) => o.nicedP99 !== undefined)
        ? [
            vs(`ack p50 @ ${RATE}/s, downstream at nice 10`, 'nicedP50', 'ackP50', fmtMs),
            vs(`ack p99 @ ${RATE}/s, downstream at nice 10`, 'nicedP99', 'ackP99', fmtMs, '≤ 25ms'),
            alone(`hand-off p50 @ ${RATE}/s, downstream at nice 10`, 'nicedHandoffP50', fmtMs),
            alone(`hand-off p99 @ ${RATE}/s, downstream at nice 10`, 'nicedHandoffP99', fmtMs, '≤ 100ms'),
          ]
        : []),
      alone(`hand-off p50 @ ${RATE}/s`, 'handoffP50', fmtMs),
      alone(`hand-off p99 @ ${RATE}/s`, 'handoffP99', fmtMs, '≤ 100ms'),
    ];
    printTable(rows);
    console.log(
      `median [min–max] of ${RUNS} alternated runs; ${RATE * RATE_SECONDS} events per rate run, ${MAX_REQUESTS} per max run; ` +
        `Bolt listener saw ${boltChild ? 'its' : boltSeen()} events; non-200 answers: ${failures.size ? [...failures].map(([k, v]) => `${v}× ${k === 0 ? 'no answer' : k}`).join(', ') : 'none'}`,
    );
    const cpuRuns = ours.map((o) => o.cpu!);
    console.log(
      `cores used during our rate runs (median of ${RUNS}): ` +
        Object.keys(cpuRuns[0]!)
          .map((k) => `${k} ${med(cpuRuns.map((c) => c[k]!)).toFixed(2)}`)
          .join(', ') +
        `; "ack path alone": Temporal's dev server and the worker paused (SIGSTOP) for that run`,
    );
    console.log(
      `machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; ` +
        `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
    );

    // ─── /slack/interactions: clicks that must be answered in the response ───
    // A person who is not an approver clicks Approve on a pending approval: the workflow's update
    // validator refuses it (a Temporal Update, then the ephemeral's response workflow started
    // within the ack's budget), the synchronous path the issue keeps direct. Bolt: a no-op
    // `app.action` listener that acks, on the same signed form bodies.
    const approvals = await pendingApprovals(apiBase, config.apiKeys[0]!, APPROVALS);
    let clickSeq = 0;
    const click = () => {
      const a = approvals[clickSeq++ % approvals.length]!;
      const id = `${Date.now()}.${randomUUID()}`;
      const body = new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          api_app_id: 'A0THREADLN',
          user: { id: 'U0CAROL', team_id: 'T0THREADLN' },
          trigger_id: id,
          team: { id: 'T0THREADLN' },
          channel: { id: a.channel },
          container: { type: 'message', channel_id: a.channel, message_ts: a.ts },
          message: { ts: a.ts },
          actions: [{ action_id: 'tl:approval.approve', block_id: 'decide', value: a.workflowId, action_ts: '1.2' }],
        }),
      }).toString();
      return { eventId: id, body };
    };
    const FORM = 'application/x-www-form-urlencoded';
    const oursClicks = `${apiBase}/slack/interactions`;
    for (let i = 0; i < 5; i++) {
      await Promise.all(Array.from({ length: 10 }, () => send(oursClicks, click().body, FORM)));
      await Promise.all(Array.from({ length: 10 }, () => send(boltUrl, click().body, FORM)));
    }
    failures.clear();
    const clicks = { ours: [] as Figures[], bolt: [] as Figures[] };
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 === 0 ? (['ours', 'bolt'] as const) : (['bolt', 'ours'] as const);
      for (const who of order) {
        const url = who === 'ours' ? oursClicks : boltUrl;
        const rate = await atRate(url, click, CLICK_RATE, FORM);
        const maxRps = await flatOut(url, click, CLICK_MAX_REQUESTS, FORM);
        clicks[who].push({ ackP50: rate.p50, ackP99: rate.p99, rateRps: rate.rps, maxRps });
        await settle(pool);
      }
      console.log(
        `clicks run ${r + 1}/${RUNS}: ours ${JSON.stringify(clicks.ours.at(-1))}, bolt ${JSON.stringify(clicks.bolt.at(-1))}`,
      );
    }
    const clicked = (label: string, f: keyof Figures, fmt: Fmt) =>
      vs(label, f, f, fmt, '', clicks.ours, clicks.bolt).slice(0, 4);
    printTable([
      ['/slack/interactions (refused click)', 'threadline', 'bolt', 'ratio (ours / bolt)'],
      clicked(`answer p50 @ ${CLICK_RATE}/s`, 'ackP50', fmtMs),
      clicked(`answer p99 @ ${CLICK_RATE}/s`, 'ackP99', fmtMs),
      [
        `achieved req/s @ ${CLICK_RATE}/s`,
        cell(col('rateRps', clicks.ours), rps),
        cell(col('rateRps', clicks.bolt), rps),
        '',
      ],
      clicked(`max req/s (${MAX_CONCURRENCY} concurrent)`, 'maxRps', rps),
    ]);
    console.log(
      `median [min–max] of ${RUNS} alternated runs; ${CLICK_RATE * RATE_SECONDS} clicks per rate run, ${CLICK_MAX_REQUESTS} per max run, ` +
        `over ${APPROVALS} pending approvals; non-200 answers: ${failures.size ? [...failures].map(([k, v]) => `${v}× ${k === 0 ? 'no answer' : k}`).join(', ') : 'none'}`,
    );
  } finally {
    await pool.end();
    if (!boltChild) await boltApp.stop().catch(() => undefined);
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await bench.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The Bolt baseline in its own process (bench/bolt-server.ts): resolves with its URL once it listens. */
async function spawnBolt(secret: string): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const script = fileURLToPath(new URL('./bolt-server.ts', import.meta.url));
  const child = await spawnScript(script, { BOLT_SIGNING_SECRET: secret, NODE_ENV: 'production' }, 60_000);
  return {
    url: child.readyLine.trim().split(' ')[1]!,
    pid: child.child.pid,
    async stop() {
      await child.stop();
      const seen = /seen (\d+)/.exec(child.stdout())?.[1];
      if (seen) console.log(`Bolt listener (own process) saw ${seen} events`);
    },
  };
}

/** Prints rows as columns padded to their widest cell. */
function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n'));
}

/** Sets the nice value of every thread of process `pid` (Linux: a process's threads each have their own). */
function reniceAll(pid: number, nice: number): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    tids = [String(pid)];
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), nice);
    } catch {
      // a thread that ended meanwhile
    }
  }
}

/** Pending approvals (one approver, U0BOB) with their DM posted: what the refused clicks land on. */
async function pendingApprovals(api: string, apiKey: string, n: number) {
  const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const out: { workflowId: string; channel: string; ts: string }[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${api}/v1/approvals`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ title: `Bench click ${i}`, requester: 'U0ALICE', approvers: ['U0BOB'] }),
    });
    if (res.status !== 201) throw new Error(`create approval → ${res.status} ${await res.text()}`);
    const { approvalId } = (await res.json()) as { approvalId: string };
    for (let tries = 0; ; tries++) {
      const v = (await (await fetch(`${api}/v1/approvals/${approvalId}`, { headers: auth })).json()) as {
        slack: { channel: string; ts: string }[];
      };
      if (v.slack.length) {
        out.push({ workflowId: `approval:${approvalId}`, ...v.slack[0]! });
        break;
      }
      if (tries > 400) throw new Error(`no DM for approval ${approvalId}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return out;
}

/** Threads Threadline owns: payments whose root message is recorded in slack_messages. */
async function ownedThreads(api: string, apiKey: string, pool: Pool) {
  const threads: { channel: string; ts: string }[] = [];
  for (let i = 0; i < THREADS; i++) {
    const orderId = `order_bi${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const res = await fetch(`${api}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
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
  return threads;
}

/** Waits until the relay has no backlog (so one run's hand-offs do not load the next run). */
async function settle(pool: Pool, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbound_events WHERE status = 'queued'`,
    );
    if (rows[0]!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`relay backlog of ${rows[0]!.n} did not drain in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Recorded → handed off, ms, for those of these events that were recorded (waits until the relay has sent them all). */
async function handOffTimes(pool: Pool, ids: string[]): Promise<number[]> {
  await settle(pool);
  const { rows } = await pool.query<{ ms: number }>(
    `SELECT EXTRACT(EPOCH FROM handed_off_at - received_at)::float8 * 1000 AS ms
     FROM inbound_events WHERE source = 'slack' AND event_id = ANY($1) AND status = 'handed_off'`,
    [ids],
  );
  // Events answered 503 were never recorded (they are counted with the non-200 answers).
  return rows.map((r) => r.ms);
}
