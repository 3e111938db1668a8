import { WebClient } from '@slack/web-api';
import { SlackEmulatorAdmin } from '../emulators/slack/admin-client.js';
import type { AlertsConfig } from '../src/flows/alerts/config.js';
import { startBenchStack } from './harness.js';
import { fmtMs, summarize } from './stats.js';

/**
 * Alerts on the real stack (embedded Temporal dev server on SQLite, embedded Postgres, worker,
 * API, Slack emulator).
 *
 * 1. Alertmanager webhook → card posted, on an idle system (emulator rate limits off): from just
 *    before the POST to the card's `ts` (the emulator's clock, in this process), BENCH_ALERTS_N
 *    (default 50) alerts one after another.
 * 2. A storm: BENCH_ALERTS_STORM (default 500) alerts in BENCH_ALERTS_STORM_S (default 10) seconds
 *    across 20 channels, with the emulator's Slack rate limits ON (about one post per second per
 *    channel, burst 3). Counts cards per alert (nothing dropped, nothing duplicated), the 429s
 *    Slack answered, how long until the last card, and webhook → card latency under the storm.
 */
const N = Number(process.env.BENCH_ALERTS_N ?? 50);
const STORM = Number(process.env.BENCH_ALERTS_STORM ?? 500);
const STORM_MS = Number(process.env.BENCH_ALERTS_STORM_S ?? 10) * 1000;
const CHANNELS = 20;
const DEADLINE_MS = 15 * 60_000;

export async function run(): Promise<void> {
  const bench = await startBenchStack('alerts', { ALERT_REOPEN_WINDOW: '1h' });
  const { stack, config } = bench;
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const web = new WebClient(config.slack.botToken, {
    slackApiUrl: `${stack.urls.slackEmulator!}/api/`,
    retryConfig: { retries: 0 },
  });
  const api = stack.urls.api;
  const runTag = Date.now().toString(16);

  try {
    // 20 channels, one team label each: the routing decision is the real one (team → channel).
    const channels: string[] = [];
    for (let i = 0; i < CHANNELS; i++) {
      const res = await web.conversations.create({ name: `bench-alerts-${runTag}-${i}` });
      channels.push(res.channel!.id!);
    }
    // The bench creates its channels after start-up; the API reads the routing settings per request.
    const settings = (config.flows.alerts as AlertsConfig).settings;
    settings.teams = Object.fromEntries(
      channels.map((c, i) => [`bench${i}`, { channel: c, entitle: { channelMembers: true, groups: [] } }]),
    );

    let seq = 0;
    const fire = async (team: string, summary: string) => {
      const fp = `${runTag}${(seq++).toString(16).padStart(6, '0')}`.slice(-16);
      const body = {
        version: '4',
        groupKey: `{}:{alertname="BenchAlert"}`,
        truncatedAlerts: 0,
        status: 'firing',
        receiver: 'threadline',
        groupLabels: { alertname: 'BenchAlert' },
        commonLabels: { alertname: 'BenchAlert', severity: 'warning', team },
        commonAnnotations: { summary },
        externalURL: 'http://alertmanager.example.com:9093',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'BenchAlert', severity: 'warning', team, instance: `host-${seq}` },
            annotations: { summary },
            startsAt: new Date().toISOString(),
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus.example.com:9090/graph',
            fingerprint: fp,
          },
        ],
      };
      const t0 = Date.now();
      const res = await fetch(`${api}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer tl_sandbox_alerts' },
        body: JSON.stringify(body),
      });
      await res.text();
      return { t0, status: res.status, fp };
    };
    const cardTs = async (channel: string, summary: string) =>
      (await slack.channelMessages(channel)).filter((m) => JSON.stringify(m.blocks ?? []).includes(summary));

    // ── 1. idle latency ──
    const idle: number[] = [];
    for (let i = 0; i < N + 3; i++) {
      const channel = channels[i % CHANNELS]!;
      const summary = `idle ${runTag} ${i}`;
      const { t0, status } = await fire(`bench${i % CHANNELS}`, summary);
      if (status !== 200) throw new Error(`webhook → ${status}`);
      const card = await slack.waitFor(async () => (await cardTs(channel, summary))[0], 30_000);
      if (i >= 3) idle.push(Number(card.ts) * 1000 - t0); // the first three warm up
    }
    const s = summarize(idle);
    console.log(`\nAlertmanager webhook → card posted (idle, rate limits off, ${s.n} alerts)`);
    console.log(`p50 ${fmtMs(s.p50)} | p95 ${fmtMs(s.p95)} | p99 ${fmtMs(s.p99)} | max ${fmtMs(s.max)}`);

    // ── 2. storm with Slack's rate limits on ──
    await slack.setRateLimits(true);
    const callsBefore = (await slack.calls()).length;
    const startedAt = Date.now();
    const sent: { t0: number; status: number; channel: string; summary: string }[] = [];
    await Promise.all(
      Array.from({ length: STORM }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i * STORM_MS) / STORM));
        const summary = `storm ${runTag} ${i}`;
        const r = await fire(`bench${i % CHANNELS}`, summary);
        sent.push({ t0: r.t0, status: r.status, channel: channels[i % CHANNELS]!, summary });
      }),
    );
    const sendSec = (Date.now() - startedAt) / 1000;
    const non200 = sent.filter((x) => x.status !== 200).length;
    console.log(
      `\nstorm: ${STORM} webhooks sent in ${sendSec.toFixed(1)} s across ${CHANNELS} channels (${non200} not 200)`,
    );

    // Wait until every card is in Slack (or the deadline), then count per alert.
    let counts = new Map<string, number>();
    let lastCardMs = 0;
    const latencies: number[] = [];
    for (;;) {
      counts = new Map();
      latencies.length = 0;
      lastCardMs = 0;
      for (const c of channels) {
        for (const m of await slack.channelMessages(c)) {
          const hit = /storm [0-9a-f]+ (\d+)/.exec(JSON.stringify(m.blocks ?? []));
          if (!hit || !JSON.stringify(m.blocks).includes(`storm ${runTag} `)) continue;
          const key = hit[1]!;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          const s0 = sent.find((x) => x.summary === `storm ${runTag} ${key}`);
          if (s0) latencies.push(Number(m.ts) * 1000 - s0.t0);
          lastCardMs = Math.max(lastCardMs, Number(m.ts) * 1000);
        }
      }
      if (counts.size >= STORM || Date.now() - startedAt > DEADLINE_MS) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Settle: let retries that were still in flight land before counting duplicates.
    await new Promise((r) => setTimeout(r, 5000));
    const calls = (await slack.calls()).slice(callsBefore);
    const posts = calls.filter((c) => c.method === 'chat.postMessage');
    const limited = posts.filter((c) => c.status === 429).length;
    const dup = [...counts.values()].filter((n) => n > 1).length;
    const st = summarize(latencies);
    console.log(`cards: ${counts.size}/${STORM} posted, ${STORM - counts.size} missing, ${dup} duplicated`);
    console.log(`last card ${((lastCardMs - startedAt) / 1000).toFixed(1)} s after the first webhook`);
    console.log(`chat.postMessage calls during the storm: ${posts.length}, of which 429 (Retry-After): ${limited}`);
    console.log(
      `webhook → card under the storm: p50 ${fmtMs(st.p50)} | p95 ${fmtMs(st.p95)} | p99 ${fmtMs(st.p99)} | max ${fmtMs(st.max)}`,
    );
  } finally {
    await bench.stop();
  }
}
