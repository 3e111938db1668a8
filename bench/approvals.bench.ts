import { execFileSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SlackEmulatorAdmin } from '../emulators/slack/admin-client.js';
import { startBenchStack } from './harness.js';
import { fmtMiB, fmtMs, summarize } from './stats.js';

/**
 * Approvals on the real stack (embedded Temporal dev server on SQLite, embedded Postgres, worker,
 * API, Slack emulator; all but Temporal and Postgres in this process).
 *
 * 1. Click-to-locked latency on an idle system: from just before the emulator is asked to click
 *    Approve to the moment the emulator applied our chat.update (`history[].replacedAt`, the
 *    emulator's own clock in this process, so polling adds no error).
 * 2. N pending approvals waiting at once (BENCH_APPROVALS_PENDING, default 10,000; creation stops
 *    at BENCH_APPROVALS_CREATE_BUDGET_S, default 300 s, and reports how many it reached), created
 *    with bounded concurrency; then process RSS, Temporal's SQLite size, and the same click latency
 *    again with all of them waiting. Emulator rate limits are OFF.
 */
const PENDING = Number(process.env.BENCH_APPROVALS_PENDING ?? 10_000);
const CREATE_BUDGET_MS = Number(process.env.BENCH_APPROVALS_CREATE_BUDGET_S ?? 300) * 1000;
const CONCURRENCY = Number(process.env.BENCH_APPROVALS_CONCURRENCY ?? 32);
const CLICKS = 30;

async function dirSize(dir: string, prefix: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) if (f.startsWith(prefix)) total += (await stat(join(dir, f))).size;
  return total;
}

/** RSS of the Temporal dev server child (found by its db file), in bytes; 0 if ps is unavailable. */
function temporalRss(dbFile: string): number {
  try {
    const out = execFileSync('ps', ['-eo', 'rss=,args='], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.includes(dbFile) && l.includes('start-dev'));
    return line ? Number(line.trim().split(/\s+/)[0]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function run(): Promise<void> {
  // No SLA timer may fire during the run.
  const bench = await startBenchStack('approvals', {
    APPROVAL_REMIND_AFTER: '6h',
    APPROVAL_EXPIRE_AFTER: '1d',
    APPROVAL_DECIDED_GRACE: '1s',
  });
  const { stack, config } = bench;
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const api = stack.urls.api;
  const auth = { authorization: `Bearer ${config.apiKeys[0]!}`, 'content-type': 'application/json' };
  const approvers = ['U0BOB', 'U0CAROL', 'U0DAVE', 'U0ERIN'];

  /** One request, DM to one approver only (one post per request keeps the emulator out of the measurement). */
  async function create(i: number): Promise<{ id: string; approver: string }> {
    const approver = approvers[i % approvers.length]!;
    const res = await fetch(`${api}/v1/approvals`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ title: `Bench request ${i}`, requester: 'U0ALICE', approvers: [approver] }),
    });
    if (res.status !== 201) throw new Error(`create → ${res.status} ${await res.text()}`);
    return { id: ((await res.json()) as { approvalId: string }).approvalId, approver };
  }

  async function dmOf(id: string) {
    for (let i = 0; i < 400; i++) {
      const r = await fetch(`${api}/v1/approvals/${id}`, { headers: auth });
      const v = (await r.json()) as { slack: { channel: string; ts: string }[] };
      if (v.slack.length) return v.slack[0]!;
      await new Promise((r2) => setTimeout(r2, 25));
    }
    throw new Error(`no DM for ${id}`);
  }

  async function clickLatencies(n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const { id, approver } = await create(1_000_000 + i);
      const dm = await dmOf(id);
      const t0 = Date.now();
      await slack.clickButton({ user: approver, channel: dm.channel, ts: dm.ts, action_id: 'tl:approval.approve' });
      for (;;) {
        const m = await slack.message(dm.channel, dm.ts);
        const lock = m.history.length ? m : undefined;
        if (lock && JSON.stringify(m.blocks ?? []).includes('approval_outcome')) {
          out.push(Date.parse(m.history.at(-1)!.replacedAt) - t0);
          break;
        }
        if (Date.now() - t0 > 30_000) throw new Error(`no lock for ${id}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    return out;
  }

  const row = (label: string, v: number[]) => {
    const s = summarize(v);
    return `${label.padEnd(28)} | ${String(s.n).padStart(3)} | ${fmtMs(s.p50).padStart(8)} | ${fmtMs(s.p99).padStart(8)} | ${fmtMs(s.max).padStart(8)}`;
  };

  try {
    await clickLatencies(3); // warm-up
    const rssIdle = process.memoryUsage().rss;
    const dbFile = join(stack.urls.dataDir, 'temporal.db');
    const dbIdle = await dirSize(stack.urls.dataDir, 'temporal.db');
    const idle = await clickLatencies(CLICKS);
    console.log(`idle: ${CLICKS} clicks measured`);

    const started = Date.now();
    let next = 0;
    let createdCount = 0;
    const createLat: number[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < PENDING && Date.now() - started < CREATE_BUDGET_MS) {
          const i = next++;
          const t = Date.now();
          await create(i);
          createLat.push(Date.now() - t);
          createdCount++;
          if (createdCount % 1000 === 0)
            console.log(`  ${createdCount} pending (${((Date.now() - started) / 1000).toFixed(0)} s)`);
        }
      }),
    );
    const createSec = (Date.now() - started) / 1000;
    // Let the posts of the last requests land before measuring.
    await new Promise((r) => setTimeout(r, 3000));
    const rssLoaded = process.memoryUsage().rss;
    const heapLoaded = process.memoryUsage().heapUsed;
    const dbLoaded = await dirSize(stack.urls.dataDir, 'temporal.db');
    const tRss = temporalRss(dbFile);
    const loaded = await clickLatencies(CLICKS);

    const c = summarize(createLat);
    console.log(
      `\n${createdCount} approvals pending (target ${PENDING}) created in ${createSec.toFixed(1)} s at concurrency ${CONCURRENCY}: ` +
        `${(createdCount / createSec).toFixed(1)}/s; POST /v1/approvals p50 ${fmtMs(c.p50)}, p99 ${fmtMs(c.p99)}`,
    );
    console.log(
      `threadline process RSS (worker + API + emulator): idle ${fmtMiB(rssIdle)} → loaded ${fmtMiB(rssLoaded)} (heap ${fmtMiB(heapLoaded)})`,
    );
    console.log(
      `Temporal SQLite (temporal.db*): idle ${fmtMiB(dbIdle)} → loaded ${fmtMiB(dbLoaded)} (${((dbLoaded - dbIdle) / Math.max(1, createdCount) / 1024).toFixed(1)} KiB per pending request)`,
    );
    if (tRss) console.log(`Temporal dev server RSS (loaded): ${fmtMiB(tRss)}`);
    console.log('\nclick Approve → chat.update applied in the Slack emulator');
    console.log('system                       |   n |  p50     |  p99     |  max');
    console.log(row('idle', idle));
    console.log(row(`${createdCount} pending`, loaded));
  } finally {
    await bench.stop();
  }
}
