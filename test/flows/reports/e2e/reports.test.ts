import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { SANDBOX_REPORT_PULL_SECRET } from '../../../../src/flows/reports/config.js';
import { keyOf } from '../../../platform/e2e/helpers.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { eventsOf, scheduledActivities } from '../../../helpers/history.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { reportsHarness, seen } from './helpers.js';

/** A schedule that never fires on its own during the test: runs come from trigger-now and backfill. */
const QUIET = { timezone: 'UTC', cron: ['0 3 1 1 *'] };

const feedback = (id: string, at: string, data: Record<string, unknown>) => ({ id, timestamp: at, data });

describe('scheduled reports, end to end (HTTP → Temporal Schedules → Slack emulator)', () => {
  let stack: TestStack;
  let h: Awaited<ReturnType<typeof reportsHarness>>;
  let pool: Pool;

  beforeAll(async () => {
    stack = await startTestStack();
    h = await reportsHarness(stack);
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await h?.close();
    await pool?.end();
    await stack?.stop();
  });

  it('a Monday 09:00 America/New_York schedule fires at 14:00Z before the DST change and 13:00Z after it (backfill)', async () => {
    const ds = h.dataset();
    // One record in each week; the week of 2–9 March holds three.
    await h.push(ds, [
      feedback('a', '2026-02-25T12:00:00Z', { rating: 5 }),
      feedback('b', '2026-03-03T12:00:00Z', { rating: 4 }),
      feedback('c', '2026-03-05T12:00:00Z', { rating: 2 }),
      feedback('d', '2026-03-09T13:30:00Z', { rating: 3 }), // after the 9 March run (13:00Z)
      feedback('e', '2026-03-09T12:59:00Z', { rating: 1 }), // just before it
    ]);
    const id = await h.create({
      name: 'Weekly NY',
      schedule: { timezone: 'America/New_York', calendars: [{ dayOfWeek: 'MONDAY', hour: 9 }] },
      window: '7d',
      source: { kind: 'dataset', dataset: ds },
      aggregation: { averages: [{ field: 'rating', label: 'Average rating' }] },
      channels: { default: 'C0PAYMENTS' },
    });
    const report = await h.ok<{ schedule: { paused: boolean; nextRuns: string[] } }>(
      await h.call('GET', `/v1/reports/${id}`),
    );
    expect(report.schedule.paused).toBe(false);
    for (const t of report.schedule.nextRuns) expect(new Date(t).getUTCDay()).toBe(1);

    await h.ok(
      await h.call('POST', `/v1/reports/${id}/backfill`, { from: '2026-03-01T00:00:00Z', to: '2026-03-20T00:00:00Z' }),
      202,
    );
    const runs = await h.finishedRuns(id, 3);
    expect(runs.map((r) => [r.windowEnd, r.status, r.records]).sort()).toEqual([
      ['2026-03-02T14:00:00.000Z', 'posted', 1],
      ['2026-03-09T13:00:00.000Z', 'posted', 3],
      ['2026-03-16T13:00:00.000Z', 'posted', 1],
    ]);
    // Seven calendar days in New York: the window after the change still starts at 09:00 local (14:00Z).
    expect(runs.find((r) => r.windowEnd.startsWith('2026-03-09'))!.windowStart).toBe('2026-03-02T14:00:00.000Z');
    const posts = await h.digests('C0PAYMENTS', id);
    expect(posts).toHaveLength(3);
    // The window is shown in the report's time zone: 09:00 on both sides of the change.
    for (const p of posts)
      expect(seen(p)).toMatch(/Mon, \d+ \w+ 2026, 09:00 → Mon, \d+ Mar 2026, 09:00 \(America\/New_York\)/);
    expect(seen(posts.find((p) => seen(p).includes('9 Mar 2026, 09:00 ('))!)).toContain('Average rating');
  });

  it('a schedule left alone fires by itself at the scheduled minute, and its window ends there', async () => {
    const ds = h.dataset();
    await h.push(ds, [feedback('now', new Date(Date.now() - 30_000).toISOString(), { rating: 5 })]);
    const id = await h.create({
      name: 'Every minute',
      schedule: { timezone: 'Asia/Kolkata', cron: ['* * * * *'] },
      window: '1h',
      source: { kind: 'dataset', dataset: ds },
      channels: { default: 'C0PARTPAY' },
    });
    const handle = h.temporal.schedule.getHandle(`report:${id}`);
    // A describe that times out on a loaded server is asked again (the wait itself is bounded).
    const action = await h.slack.waitFor(
      async () => (await handle.describe().catch(() => undefined))?.info.recentActions[0],
      150_000,
    );
    // One firing is enough: pause before the next minute adds more.
    await h.ok(await h.call('POST', `/v1/reports/${id}/pause`, {}));
    const [run] = await h.finishedRuns(id, 1, 60_000);
    expect(action.scheduledAt.getUTCSeconds()).toBe(0);
    expect(run).toMatchObject({
      windowEnd: action.scheduledAt.toISOString(),
      windowStart: new Date(action.scheduledAt.getTime() - 3_600_000).toISOString(),
      status: 'posted',
    });
    expect(await h.digests('C0PARTPAY', id)).toHaveLength(1);
  });

  it('a retried post after Slack committed it posts once: one digest, one thread reply', async () => {
    const ds = h.dataset();
    const now = Date.now();
    await h.push(
      ds,
      Array.from({ length: 6 }, (_, i) =>
        feedback(`r${i}`, new Date(now - (i + 1) * 3_600_000).toISOString(), {
          session: `S${i % 3}`,
          rating: (i % 5) + 1,
          comment: `comment ${i}`,
        }),
      ),
    );
    const id = await h.create({
      name: 'Retried',
      schedule: QUIET,
      source: { kind: 'dataset', dataset: ds },
      aggregation: {
        rank: { item: 'session', by: 'rating', label: 'Sessions' },
        highlight: {
          title: 'Rated 2 or lower',
          where: { field: 'rating', op: 'lte', value: 2 },
          show: ['session', 'comment'],
        },
      },
      channels: { default: 'C0APPROVAL' },
    });
    // The digest's first post lands in Slack but its answer is lost: the activity's retry must find it.
    await h.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'commit_then_timeout',
      count: 1,
      channel: 'C0APPROVAL',
    });
    try {
      await h.ok(await h.call('POST', `/v1/reports/${id}/trigger`), 202);
      const [run] = await h.scheduleRuns(id, 1, 90_000);
      expect(run!.result.outcome).toBe('posted');
    } finally {
      await h.slack.clearFaults();
    }
    const posts = await h.digests('C0APPROVAL', id);
    expect(posts).toHaveLength(1);
    expect(seen(posts[0]!)).toContain('Top sessions');
    expect(posts[0]!.replies ?? []).toHaveLength(1);
    expect(seen(posts[0]!.replies![0]!)).toContain('Rated 2 or lower');
    // The retry really happened: the root's only postMessage call lost its answer (status 0), and the
    // retry found the message by its key instead of posting it again.
    const rootKey = String(keyOf(posts[0]!));
    const calls = await h.slack.calls();
    const rootPosts = calls.filter((c) => c.method === 'chat.postMessage' && JSON.stringify(c.args).includes(rootKey));
    expect(rootPosts.map((c) => c.status)).toEqual([0]);
    expect(calls.some((c) => c.method === 'conversations.history' && c.args.channel === 'C0APPROVAL')).toBe(true);
    // The run itself scheduled each post once (the retry was the activity's, not a second post).
    const [finished] = await h.runs(id);
    const events = await eventsOf(h.temporal.workflow.getHandle(finished!.workflowId));
    expect(scheduledActivities(events).filter((a) => a === 'postSlackMessage')).toHaveLength(2);
    await recordFixture('report-run-retried', events);
  });

  it('the same window asked for twice (a backfill repeated, trigger-now twice in a minute) posts once', async () => {
    const ds = h.dataset();
    await h.push(ds, [feedback('x', '2026-02-03T10:00:00Z', { rating: 4 })]);
    const id = await h.create({
      name: 'Twice',
      schedule: { timezone: 'UTC', calendars: [{ dayOfWeek: 'WEDNESDAY', hour: 9 }] },
      source: { kind: 'dataset', dataset: ds },
      channels: { default: 'C0TICKETS' },
    });
    const range = { from: '2026-02-03T00:00:00Z', to: '2026-02-05T00:00:00Z' };
    await h.ok(await h.call('POST', `/v1/reports/${id}/backfill`, range), 202);
    await h.scheduleRuns(id, 1);
    await h.ok(await h.call('POST', `/v1/reports/${id}/backfill`, range), 202);
    const backfilled = await h.scheduleRuns(id, 2);
    expect(backfilled.map((w) => w.result.outcome).sort()).toEqual(['already_posted', 'posted']);
    expect(await h.runs(id)).toMatchObject([
      { windowEnd: '2026-02-04T09:00:00.000Z', status: 'posted', claims: 2, records: 1 },
    ]);
    expect(await h.digests('C0TICKETS', id)).toHaveLength(1);

    // Trigger-now twice within one minute (started early in a minute so both presses land in it).
    await h.slack.waitFor(async () => (new Date().getSeconds() < 30 ? true : undefined), 60_000);
    await h.ok(await h.call('POST', `/v1/reports/${id}/trigger`), 202);
    await h.scheduleRuns(id, 3);
    await h.ok(await h.call('POST', `/v1/reports/${id}/trigger`), 202);
    const all = await h.scheduleRuns(id, 4);
    expect(all.map((w) => w.result.outcome).sort()).toEqual(['already_posted', 'already_posted', 'posted', 'posted']);
    expect(await h.digests('C0TICKETS', id)).toHaveLength(2);
    const audit = await auditLogRepo(pool).bySubject(`report:${id}`);
    expect(audit.filter((a) => a.action === 'report.posted')).toHaveLength(2);
    expect(audit.filter((a) => a.action === 'report.already_posted')).toHaveLength(2);
  });

  it('a large dataset splits into valid messages: per-course channels, thread replies within Block Kit limits', async () => {
    const ds = h.dataset();
    const now = Date.now();
    await h.push(
      ds,
      Array.from({ length: 1200 }, (_, i) =>
        feedback(`big${i}`, new Date(now - 60_000 - i * 1000).toISOString(), {
          course: i % 4 === 0 ? 'course-b' : 'course-a',
          student: `student${i % 300}`,
          session: `Session ${i % 40}`,
          rating: i % 3 === 0 ? 1 : 4,
          comment: `Long comment ${i} `.repeat(30),
        }),
      ),
    );
    const id = await h.create({
      name: 'Big',
      schedule: QUIET,
      source: { kind: 'dataset', dataset: ds },
      aggregation: {
        groupBy: 'course',
        distinct: [{ field: 'student', label: 'Students' }],
        averages: [{ field: 'rating', label: 'Average rating' }],
        rank: { item: 'session', by: 'rating', label: 'Sessions', limit: 5 },
        highlight: {
          title: 'Rated 1',
          where: { field: 'rating', op: 'lte', value: 1 },
          show: ['session', 'student', 'comment'],
          limit: 1000,
        },
      },
      channels: { default: 'C0TICKETS', byGroup: { 'course-a': 'C0ESCALATE' } },
    });
    await h.ok(await h.call('POST', `/v1/reports/${id}/trigger`), 202);
    const [run] = await h.finishedRuns(id, 1, 120_000);
    expect(run).toMatchObject({ status: 'posted', records: 1200, error: null });

    const a = await h.digests('C0ESCALATE', id);
    const b = await h.digests('C0TICKETS', id);
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect(seen(a[0]!)).toContain('course-a');
    expect(seen(b[0]!)).toContain('course-b');
    // course-a: 900 records, 300 rated 1 (i % 3 == 0 and i % 4 != 0); course-b: 300 records, 100 rated 1.
    expect(seen(a[0]!)).toMatch(/Records\*\\n900/);
    const replies = a[0]!.replies ?? [];
    expect(replies.length).toBeGreaterThan(1);
    const listed = replies.map((r) => JSON.stringify(r.blocks)).join('');
    expect((listed.match(/• \*Session/g) ?? []).length).toBe(300);
    expect(run!.messages).toBe(2 + replies.length + (b[0]!.replies ?? []).length);
  });

  it('pause, resume and an empty window: the schedule state follows the API, and an empty week says so', async () => {
    const id = await h.create({
      name: 'Empty',
      schedule: { timezone: 'Asia/Kolkata', calendars: [{ dayOfWeek: ['MONDAY', 'FRIDAY'], hour: 9 }] },
      source: { kind: 'dataset', dataset: h.dataset() },
      channels: { default: 'C0PARTPAY' },
      emptyMessage: 'No sessions this week.',
    });
    const paused = await h.ok<{ schedule: { paused: boolean; note: string } }>(
      await h.call('POST', `/v1/reports/${id}/pause`, { note: 'term break' }),
    );
    expect(paused.schedule).toMatchObject({ paused: true, note: 'term break' });
    // Trigger-now still runs a paused report (an operator asked for it).
    await h.ok(await h.call('POST', `/v1/reports/${id}/trigger`), 202);
    await h.finishedRuns(id, 1);
    const [empty] = await h.digests('C0PARTPAY', id);
    expect(seen(empty!)).toContain('No sessions this week.');
    const resumed = await h.ok<{ schedule: { paused: boolean; nextRuns: string[] } }>(
      await h.call('POST', `/v1/reports/${id}/resume`, {}),
    );
    expect(resumed.schedule.paused).toBe(false);
    // Monday and Friday 09:00 in Kolkata = 03:30Z.
    for (const t of resumed.schedule.nextRuns) {
      expect(t).toMatch(/T03:30:00\.000Z$/);
      expect([1, 5]).toContain(new Date(t).getUTCDay());
    }
    const audit = (await auditLogRepo(pool).bySubject(`report:${id}`)).map((a) => a.action);
    expect(audit).toEqual(
      expect.arrayContaining(['report.created', 'report.paused', 'report.triggered', 'report.resumed']),
    );
  });

  it('a pull source: signed, paged requests for the window; a refused page is reported and nothing partial is posted', async () => {
    const seenRequests: { body: Record<string, unknown>; valid: boolean }[] = [];
    let refuse = false;
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const ts = String(req.headers['x-threadline-timestamp']);
        const expected = `v1=${createHmac('sha256', SANDBOX_REPORT_PULL_SECRET).update(`v1:${ts}:${raw}`).digest('hex')}`;
        const got = String(req.headers['x-threadline-signature']);
        const valid = got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
        const body = JSON.parse(raw) as { cursor: string | null; window: { start: string; end: string } };
        seenRequests.push({ body, valid });
        if (!valid) return res.writeHead(401).end();
        if (refuse) return res.writeHead(403).end();
        const at = new Date(Date.parse(body.window.end) - 60_000).toISOString();
        const page = body.cursor === null ? 1 : 2;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            records: [feedback(`p${page}`, at, { rating: page === 1 ? 5 : 3 })],
            nextCursor: page === 1 ? 'page-2' : null,
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/threadline/records`;
    try {
      const id = await h.create({
        name: 'Pulled',
        schedule: QUIET,
        source: { kind: 'pull', url },
        aggregation: { averages: [{ field: 'rating', label: 'Average rating' }] },
        channels: { default: 'C0ESCALATE' },
      });
      await h.ok(await h.call('POST', `/v1/reports/${id}/trigger`), 202);
      const [run] = await h.finishedRuns(id, 1);
      expect(run).toMatchObject({ status: 'posted', records: 2 });
      expect(seenRequests.map((r) => [r.valid, r.body.cursor])).toEqual([
        [true, null],
        [true, 'page-2'],
      ]);
      expect(seenRequests[0]!.body).toMatchObject({ reportId: id, window: { end: run!.windowEnd } });
      expect(seen((await h.digests('C0ESCALATE', id))[0]!)).toMatch(/Average rating\*\\n4\.0/);

      // The endpoint now refuses: permanent, reported once in the ops channel, the window recorded as failed.
      refuse = true;
      const before = seenRequests.length;
      await h.ok(
        await h.call('POST', `/v1/reports/${id}/backfill`, {
          from: '2026-01-01T00:00:00Z',
          to: '2026-01-02T00:00:00Z',
        }),
        202,
      );
      const failed = await h.finishedRuns(id, 2);
      const f = failed.find((r) => r.windowEnd === '2026-01-01T03:00:00.000Z')!;
      expect(f).toMatchObject({ status: 'failed', error: 'collect_failed' });
      expect(seenRequests.length).toBe(before + 1);
      const alert = await h.slack.waitFor(async () =>
        (await h.slack.channelMessages('C0OPSALERT')).find((m) => m.text.includes(`report:${id}`)),
      );
      expect(alert.text).toContain('http_403');
      expect(await h.digests('C0ESCALATE', id)).toHaveLength(1);
      const events = await eventsOf(h.temporal.workflow.getHandle(f.workflowId));
      expect(scheduledActivities(events)).not.toContain('postSlackMessage');
      await recordFixture('report-run-collect-failed', events);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('bad input: 401 without a key, 400 naming the field (also for a cron Temporal refuses), 404 for unknown reports', async () => {
    expect((await fetch(`${stack.urls.api}/v1/reports`, { method: 'POST' })).status).toBe(401);
    const base = {
      name: 'x',
      schedule: QUIET,
      source: { kind: 'dataset', dataset: 'ds_x' },
      channels: { default: 'C0PAYMENTS' },
    };
    const noChannel = await h.call('POST', '/v1/reports', { ...base, channels: {} });
    expect(noChannel.status).toBe(400);
    expect(await noChannel.text()).toContain('channels.default');
    const badCron = await h.call('POST', '/v1/reports', { ...base, schedule: { cron: ['99 9 * * MON'] } });
    expect(badCron.status).toBe(400);
    expect(await badCron.text()).toContain('schedule');
    const badTz = await h.call('POST', '/v1/reports', {
      ...base,
      schedule: { timezone: 'Mars/Base', cron: ['0 9 * * *'] },
    });
    expect(await badTz.text()).toContain('schedule.timezone');
    expect((await h.call('GET', '/v1/reports/rpt_nope')).status).toBe(404);
    expect((await h.call('POST', '/v1/reports/rpt_nope/trigger')).status).toBe(404);
    const tooMany = await h.call('POST', `/v1/datasets/ds_x/records`, {
      records: Array.from({ length: 1001 }, (_, i) => feedback(String(i), '2026-01-01T00:00:00Z', {})),
    });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.text()).toContain('records');
    const badTs = await h.call('POST', `/v1/datasets/ds_x/records`, {
      records: [{ id: '1', timestamp: 'yesterday', data: {} }],
    });
    expect(await badTs.text()).toContain('records.0.timestamp');
    const huge = await h.call('POST', `/v1/datasets/ds_x/records`, {
      records: [{ id: '1', timestamp: '2026-01-01T00:00:00Z', data: { x: 'y'.repeat(2_000_000) } }],
    });
    expect(huge.status).toBe(413);
    // Nothing half-written: the refused cron left no report behind.
    const list = await h.ok<{ items: { name: string }[] }>(await h.call('GET', '/v1/reports?limit=100'));
    expect(list.items.filter((r) => r.name === 'x')).toEqual([]);
  });

  it('pushing is idempotent by record id: a replay changes nothing, a correction replaces', async () => {
    const ds = h.dataset();
    const rec = feedback('same', '2026-01-05T00:00:00Z', { rating: 3 });
    expect(await h.ok(await h.call('POST', `/v1/datasets/${ds}/records`, { records: [rec] }))).toMatchObject({
      inserted: 1,
      updated: 0,
      unchanged: 0,
    });
    expect(await h.ok(await h.call('POST', `/v1/datasets/${ds}/records`, { records: [rec, rec] }))).toMatchObject({
      received: 2,
      inserted: 0,
      updated: 0,
      unchanged: 1,
    });
    const corrected = { ...rec, data: { rating: 4 } };
    expect(await h.ok(await h.call('POST', `/v1/datasets/${ds}/records`, { records: [corrected] }))).toMatchObject({
      updated: 1,
    });
    const { rows } = await pool.query('SELECT data, revision FROM report_records WHERE dataset = $1', [ds]);
    expect(rows).toEqual([{ data: { rating: 4 }, revision: 2 }]);
  });
});
