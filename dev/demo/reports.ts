import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../emulators/slack/admin-client.js';
import type { DemoContext } from '../demo.js';
import { demoApi } from './lib/api.js';

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const shown = (m: InspectedMessage) =>
  oneLine(
    (m.blocks ?? [])
      .map((b) => {
        const block = b as { text?: { text?: string }; fields?: { text: string }[] };
        return [block.text?.text ?? '', ...(block.fields ?? []).map((f) => f.text)].join(' ');
      })
      .join(' | ') || m.text,
  );

/**
 * Weekly session feedback against the running sandbox (the seed's case): a week of ratings for
 * two courses is pushed to a dataset; a report "Monday and Friday 09:00 Asia/Kolkata" digests it
 * per course (course-a → #approvals, the rest → #payments); trigger-now runs it for the window
 * ending this minute; each course channel gets its digest, with the feedback rated 2 or lower as
 * a thread reply. Pressing trigger again in the same minute posts nothing new.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const call = demoApi(ctx);

  const dataset = `session_feedback_${randomUUID().slice(0, 6)}`;
  const now = Date.now();
  const records = Array.from({ length: 24 }, (_, i) => ({
    id: `fb_${i}`,
    timestamp: new Date(now - (i + 1) * 5 * 3_600_000).toISOString(),
    data: {
      course: i % 3 === 0 ? 'course-b' : 'course-a',
      session: `Session ${(i % 4) + 1}`,
      student: `student_${i % 9}`,
      rating: [5, 4, 3, 2, 5, 1, 4, 4][i % 8],
      comment: ['Great pace', 'Useful examples', 'OK', 'Too fast', 'Loved it', 'Audio kept dropping', 'Clear', 'Good'][
        i % 8
      ],
    },
  }));
  const pushed = await call<{ inserted: number }>('POST', `/v1/datasets/${dataset}/records`, { records });
  ctx.log(`API: ${pushed.inserted} feedback records pushed to dataset ${dataset} (two courses, one week)`);

  const report = await call<{ reportId: string; schedule: { nextRuns: string[] } }>('POST', '/v1/reports', {
    name: 'Weekly session feedback',
    schedule: { timezone: 'Asia/Kolkata', calendars: [{ dayOfWeek: ['MONDAY', 'FRIDAY'], hour: 9 }] },
    window: '7d',
    source: { kind: 'dataset', dataset },
    aggregation: {
      groupBy: 'course',
      distinct: [{ field: 'student', label: 'Students' }],
      averages: [{ field: 'rating', label: 'Average rating' }],
      rank: { item: 'session', by: 'rating', label: 'Sessions', limit: 2 },
      highlight: {
        title: 'Rated 2 or lower',
        where: { field: 'rating', op: 'lte', value: 2 },
        show: ['session', 'comment'],
      },
    },
    channels: { default: 'C0PAYMENTS', byGroup: { 'course-a': 'C0APPROVAL' } },
  });
  ctx.log(
    `API: report ${report.reportId} on a Temporal Schedule; next runs ${report.schedule.nextRuns.slice(0, 2).join(', ')}`,
  );

  await call('POST', `/v1/reports/${report.reportId}/trigger`, {});
  ctx.log('API: trigger-now (the window ending this minute)');
  const [posted] = await slack.waitFor(async () => {
    const runs = await call<{ items: { status: string; records: number; messages: number }[] }>(
      'GET',
      `/v1/reports/${report.reportId}/runs`,
    );
    return runs.items.some((r) => r.status !== 'running') ? runs.items : undefined;
  }, 60_000);
  ctx.log(`Temporal: the run ${posted!.status}: ${posted!.records} records, ${posted!.messages} messages`);

  for (const [channel, name] of [
    ['C0APPROVAL', '#approvals (course-a)'],
    ['C0PAYMENTS', '#payments (course-b)'],
  ] as const) {
    const digest = (await slack.channelMessages(channel)).findLast(
      (m) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === `report:${report.reportId}`,
    );
    if (!digest) continue;
    ctx.log(`Slack ${name}:`);
    ctx.log(`  ┌ ${shown(digest).slice(0, 300)}`);
    for (const r of digest.replies ?? []) ctx.log(`  └ ${shown(r).slice(0, 300)}`);
  }

  // A trigger while a run is still going is skipped (overlap SKIP): wait for the first to close.
  await slack.waitFor(async () => {
    const r = await call<{ schedule: { running: number } }>('GET', `/v1/reports/${report.reportId}`);
    return r.schedule.running === 0 ? true : undefined;
  }, 60_000);
  // A Schedule names the run it starts `<id>-<start time in whole seconds>`: a trigger within the
  // second of the previous run reuses its id and may be dropped (temporalio/temporal#3614): no second claim.
  await nextSecond();
  await call('POST', `/v1/reports/${report.reportId}/trigger`, {});
  const runs = await slack.waitFor(async () => {
    const page = await call<{ items: { claims: number; status: string }[] }>(
      'GET',
      `/v1/reports/${report.reportId}/runs`,
    );
    const claims = page.items.reduce((n, r) => n + r.claims, 0);
    return claims >= 2 && page.items.every((r) => r.status !== 'running') ? page.items : undefined;
  }, 60_000);
  ctx.log(
    runs.length === 1
      ? `API: trigger-now again in the same minute → the window was claimed ${runs[0]!.claims} times and posted once`
      : 'API: trigger-now again → the next minute is a new window (posted once more)',
  );
}

/** Waits until the wall clock is in the next whole second (and a little past it). */
function nextSecond(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
}
