import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { JiraEmulatorAdmin } from '../emulators/jira/admin-client.js';
import type { AlertsConfig } from '../src/flows/alerts/config.js';
import { paymentsFlow } from '../src/flows/payments/flow.js';
import { computeJiraSignature } from '../src/integrations/jira/signature.js';
import { createPool, type Pool } from '../src/platform/db/pool.js';
import { slackMessagesRepo } from '../src/platform/db/repositories.js';
import { flowConfigOf } from '../src/platform/flow.js';
import { razorpayEvent, signRazorpay } from '../test/fixtures/razorpay/build.js';
import { startBenchStack } from './harness.js';
import { benchScale, figure, type BenchFigure, type BenchResult } from './result.js';
import { percentile } from './stats.js';

/**
 * `npm run bench -- ingress`: the flows' webhook endpoints on the real stack (embedded Temporal on
 * SQLite, embedded Postgres, worker, API and relay in this process), driven by autocannon with
 * payloads signed the way each platform signs them, every request a new delivery:
 * - `/webhooks/razorpay`: `payment.captured` for one of LIFECYCLES running payments, a fresh
 *   `X-Razorpay-Event-Id`, `X-Razorpay-Signature` over the body (test/fixtures/razorpay builders);
 * - `/webhooks/jira`: the `jira:issue_created` bodies the Jira emulator sent for ISSUES issues it
 *   holds, each re-sent with a fresh `X-Atlassian-Webhook-Identifier` and `X-Hub-Signature` (a
 *   redelivery: a new ledger row the relay hands off, which the thread then drops as seen);
 * - `/webhooks/alertmanager`: a one-alert group per request, one of ALERTS fingerprints, each
 *   request a new occurrence (a fresh `startsAt`), bearer token.
 * Per endpoint and run: the ack at RATE req/s (autocannon `overallRate`, p50/p99 of the answer),
 * the most it sustains (CONNECTIONS concurrent, closed loop, req/s), and for the outbox routes the
 * hand-off lag of the rate run's deliveries (recorded → handed off by the relay, p50/p99).
 * No Bolt baseline here: Bolt has no equivalent of these routes (bench/slack-ingress.bench.ts
 * compares the Slack endpoints with Bolt's HTTPReceiver). The load generator shares this process
 * and the machine's cores with the whole stack: the figures are lower bounds; load is printed.
 * `BENCH_SCALE=quick`: one 3 s run each at 50 req/s; otherwise 3 runs of 10 s at 200 req/s.
 */
const quick = benchScale() === 'quick';
const RATE = Number(process.env.BENCH_INGRESS_RATE ?? (quick ? 50 : 200));
const SECONDS = Number(process.env.BENCH_INGRESS_SECONDS ?? (quick ? 3 : 10));
const RUNS = quick ? 1 : 3;
const CONNECTIONS = 10;
const LIFECYCLES = 20;
const ISSUES = 10;
const ALERTS = 20;

type Endpoint = {
  path: string;
  /** The ledger source its deliveries are recorded under (for the hand-off lag). */
  source: string;
  /** Whether it acks on the outbox (its rows are handed off by the relay after the answer). */
  relayed: boolean;
  next: () => { body: string; headers: Record<string, string> };
};

export async function run(): Promise<BenchResult> {
  const bench = await startBenchStack('ingress', { ALERT_REOPEN_WINDOW: '1h' });
  const { stack, config } = bench;
  const pool = createPool(stack.urls.databaseUrl);
  const api = stack.urls.api;
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  try {
    const endpoints = await prepare(api, config, stack.urls.jiraEmulator, pool);
    const loadBefore = loadavg();
    for (const e of endpoints) {
      const at: { p50: number; p99: number; rps: number }[] = [];
      const max: number[] = [];
      const lag: { p50: number; p99: number }[] = [];
      let non2xx = 0;
      let errors = 0;
      // Warm-up (JIT, pools, workflow cache): not counted.
      await cannon(api, e, { connections: CONNECTIONS, amount: 200 });
      await drained(pool);
      for (let r = 0; r < RUNS; r++) {
        const since = new Date();
        const rate = await cannon(api, e, { connections: CONNECTIONS, overallRate: RATE, duration: SECONDS });
        at.push({ p50: rate.latency.p50, p99: rate.latency.p99, rps: rate.requests.average });
        non2xx += rate.non2xx;
        errors += rate.errors + rate.timeouts;
        if (e.relayed) lag.push(await handOffLag(pool, e.source, since));
        await drained(pool);
        const flat = await cannon(api, e, { connections: CONNECTIONS, duration: SECONDS });
        max.push(flat.requests.average);
        non2xx += flat.non2xx;
        errors += flat.errors + flat.timeouts;
        await drained(pool);
        console.log(
          `${e.path} run ${r + 1}/${RUNS}: ack p50 ${rate.latency.p50} ms p99 ${rate.latency.p99} ms at ${rate.requests.average} req/s; ` +
            `max ${flat.requests.average} req/s${e.relayed ? `; hand-off p50 ${lag.at(-1)!.p50.toFixed(1)} ms p99 ${lag.at(-1)!.p99.toFixed(1)} ms` : ''}`,
        );
      }
      const name = (what: string) => `ingress ${e.path}: ${what}`;
      figures.push(
        figure(
          name(`ack p50 @ ${RATE}/s`),
          'ms',
          at.map((x) => x.p50),
        ),
        figure(
          name(`ack p99 @ ${RATE}/s`),
          'ms',
          at.map((x) => x.p99),
        ),
        figure(
          name(`achieved req/s @ ${RATE}/s`),
          'req/s',
          at.map((x) => x.rps),
        ),
        figure(
          name(`max req/s (${CONNECTIONS} concurrent)`),
          'req/s',
          max,
          'load generator, API, relay, worker, Temporal and Postgres share the cores',
        ),
      );
      if (e.relayed) {
        figures.push(
          figure(
            name(`hand-off p50 @ ${RATE}/s`),
            'ms',
            lag.map((x) => x.p50),
          ),
          figure(
            name(`hand-off p99 @ ${RATE}/s`),
            'ms',
            lag.map((x) => x.p99),
          ),
        );
      }
      notes.push(`${e.path}: ${non2xx} answers not 2xx, ${errors} errors/timeouts over ${RUNS} runs`);
    }
    const loadAfter = loadavg();
    notes.push(
      `${RUNS} run(s) of ${SECONDS} s per figure; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
    );
    for (const n of notes) console.log(n);
    return { figures, notes };
  } finally {
    await pool.end();
    await bench.stop();
  }
}

/** The three endpoints, with the lifecycles, issues and alerts their requests aim at. */
async function prepare(
  api: string,
  config: Awaited<ReturnType<typeof startBenchStack>>['config'],
  jiraUrl: string | undefined,
  pool: Pool,
): Promise<Endpoint[]> {
  const endpoints: Endpoint[] = [];
  let seq = 0;

  // Razorpay: running payment lifecycles (each with its root posted), a captured event each time.
  const secret = flowConfigOf(config, paymentsFlow).razorpayWebhookSecret!;
  const orders = await Promise.all(
    Array.from({ length: LIFECYCLES }, async () => {
      const orderId = `order_bw${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const res = await fetch(`${api}/v1/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${config.apiKeys[0]!}` },
        body: JSON.stringify({ orderId, payerName: 'Bench', amount: 1000, currency: 'INR', paymentType: 'full' }),
      });
      if (res.status !== 202) throw new Error(`initiate → ${res.status}`);
      await until(async () =>
        (await slackMessagesRepo(pool).bySubject(`payment:${orderId}`)).some((r) => r.purpose === 'root'),
      );
      return orderId;
    }),
  );
  endpoints.push({
    path: '/webhooks/razorpay',
    source: 'razorpay',
    relayed: true,
    next: () => {
      const orderId = orders[seq++ % orders.length]!;
      const body = JSON.stringify(
        razorpayEvent('payment.captured', { orderId, paymentId: `pay_${orderId.slice(8)}`, amount: 1000 }),
      );
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'x-razorpay-event-id': `evt_${randomUUID().replace(/-/g, '').slice(0, 14)}`,
          'x-razorpay-signature': signRazorpay(secret, body),
        },
      };
    },
  });

  // Jira: issues created by a person in the emulator (their threads start from its own webhooks).
  if (config.jira && jiraUrl) {
    const jira = new JiraEmulatorAdmin(jiraUrl);
    const jiraSecret = config.jira.webhookSecret;
    const keys: string[] = [];
    for (let i = 0; i < ISSUES; i++) {
      const issue = await jira.createIssue({ as: 'alice@example.com', project: 'OPS', summary: `Bench ${i}` });
      keys.push(issue.key);
    }
    await until(async () => (await jira.deliveries()).every((d) => !d.pending));
    const bodies = (await jira.deliveries())
      .filter((d) => d.webhookEvent === 'jira:issue_created' && keys.includes((d.payload.issue as { key: string }).key))
      .map((d) => d.body);
    if (bodies.length !== ISSUES) throw new Error(`expected ${ISSUES} issue_created deliveries, saw ${bodies.length}`);
    endpoints.push({
      path: '/webhooks/jira',
      source: 'jira',
      relayed: true,
      next: () => {
        const body = bodies[seq++ % bodies.length]!;
        return {
          body,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'x-atlassian-webhook-identifier': randomUUID(),
            ...(jiraSecret ? { 'x-hub-signature': computeJiraSignature(jiraSecret, body) } : {}),
          },
        };
      },
    });
  }

  // Alertmanager: one-alert groups, ALERTS fingerprints, a new occurrence per request.
  const token = (config.flows.alerts as AlertsConfig | undefined)?.alertmanagerToken;
  if (token) {
    const tag = Date.now().toString(16);
    const started = Date.now();
    endpoints.push({
      path: '/webhooks/alertmanager',
      source: 'alertmanager',
      relayed: false,
      next: () => {
        const n = seq++;
        const fingerprint = `${tag}${(n % ALERTS).toString(16).padStart(4, '0')}`.slice(-16);
        const labels = { alertname: 'BenchIngress', severity: 'warning', instance: `host-${n % ALERTS}` };
        const body = JSON.stringify({
          version: '4',
          groupKey: `{}:{alertname="BenchIngress"}`,
          truncatedAlerts: 0,
          status: 'firing',
          receiver: 'threadline',
          groupLabels: { alertname: 'BenchIngress' },
          commonLabels: labels,
          commonAnnotations: { summary: 'bench' },
          externalURL: 'http://alertmanager.example.com:9093',
          alerts: [
            {
              status: 'firing',
              labels,
              annotations: { summary: 'bench' },
              startsAt: new Date(started + n).toISOString(),
              endsAt: '0001-01-01T00:00:00Z',
              generatorURL: 'http://prometheus.example.com:9090/graph',
              fingerprint,
            },
          ],
        });
        return { body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } };
      },
    });
  }
  return endpoints;
}

/** One autocannon run against an endpoint, every request built (and signed) as it is sent. */
function cannon(
  api: string,
  e: Endpoint,
  o: { connections: number; overallRate?: number; duration?: number; amount?: number },
): Promise<autocannon.Result> {
  return autocannon({
    url: `${api}${e.path}`,
    method: 'POST',
    connections: o.connections,
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    ...(o.amount ? { amount: o.amount } : { duration: o.duration ?? SECONDS }),
    timeout: 10,
    requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...e.next() }) }],
  });
}

/** Recorded → handed off, p50/p99 ms, of what `source` recorded since `since` (once the relay sent it all). */
async function handOffLag(pool: Pool, source: string, since: Date): Promise<{ p50: number; p99: number }> {
  await drained(pool);
  const { rows } = await pool.query<{ ms: number }>(
    `SELECT EXTRACT(EPOCH FROM handed_off_at - received_at)::float8 * 1000 AS ms
     FROM inbound_events WHERE source = $1 AND received_at >= $2 AND handed_off_at IS NOT NULL`,
    [source, since],
  );
  const ms = rows.map((r) => r.ms);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

/** Waits until the relay has no backlog (one run's hand-offs must not load the next run). */
async function drained(pool: Pool): Promise<void> {
  await until(async () => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbound_events WHERE status = 'queued'`,
    );
    return rows[0]!.n === 0;
  }, 300_000);
}

async function until(p: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await p())) {
    if (Date.now() > deadline) throw new Error(`bench: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
