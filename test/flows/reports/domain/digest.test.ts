import { describe, expect, it } from 'vitest';
import type { ReportDigest } from '../../../../src/flows/reports/contract.js';
import { digestWindow, matches } from '../../../../src/flows/reports/domain/aggregate.js';
import { buildDigestMessages, highlightReplies } from '../../../../src/flows/reports/domain/blocks.js';
import { reportWindow, windowKey } from '../../../../src/flows/reports/domain/window.js';
import { reportDefinitionSchema } from '../../../../src/flows/reports/schema.js';
import { BLOCK_KIT_LIMITS, chunkText } from '../../../../src/platform/slack/domain/block-kit.js';
import type { SlackBlock } from '../../../../src/platform/slack/contract.js';

const def = (over: Record<string, unknown> = {}) =>
  reportDefinitionSchema.parse({
    name: 'Weekly session report',
    schedule: { timezone: 'Asia/Kolkata', calendars: [{ dayOfWeek: ['MONDAY', 'FRIDAY'], hour: 9 }] },
    source: { kind: 'dataset', dataset: 'session_feedback' },
    aggregation: {
      groupBy: 'course',
      distinct: [{ field: 'student', label: 'Students' }],
      averages: [{ field: 'rating', label: 'Average rating' }],
      rank: { item: 'session', by: 'rating', label: 'Sessions', limit: 2 },
      highlight: {
        title: 'Feedback rated 2 or lower',
        where: { field: 'rating', op: 'lte', value: 2 },
        show: ['session', 'student', 'comment'],
      },
    },
    channels: { default: 'C0DEFAULT', byGroup: { 'course-a': 'C0COURSEA', 'course-c': 'C0COURSEC' } },
    ...over,
  });

const rec = (id: string, data: Record<string, unknown>) => ({ id, data });

/** Every limit a message must meet for Slack to take it. */
function expectValidMessage(m: { text: string; blocks: SlackBlock[] }) {
  expect(m.blocks.length).toBeGreaterThan(0);
  expect(m.blocks.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.blocksPerMessage);
  expect(m.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.fallbackText);
  for (const b of m.blocks) {
    const t = (b.text as { text?: string } | undefined)?.text ?? '';
    if (b.type === 'section') expect(t.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.sectionText);
    if (b.type === 'header') expect(t.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.headerText);
    const fields = (b.fields as { text: string }[] | undefined) ?? [];
    expect(fields.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.fieldsPerSection);
    for (const f of fields) expect(f.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.fieldText);
  }
}

const digestOf = (d: ReturnType<typeof def>, groups: ReturnType<typeof digestWindow>['groups']): ReportDigest => ({
  reportId: 'rpt_1',
  name: d.name,
  window: { start: '2026-03-02T03:30:00.000Z', end: '2026-03-09T03:30:00.000Z' },
  windowLabel: 'Mon 2 Mar 2026, 09:00 → Mon 9 Mar 2026, 09:00 (Asia/Kolkata)',
  totalRecords: groups.reduce((n, g) => n + g.records, 0),
  groups,
  omittedGroups: 0,
  emptyMessage: d.emptyMessage,
  rankLabel: 'Sessions',
});

describe('report windows', () => {
  it('end at the scheduled minute and reach back the lookback; a trigger a few seconds later is the same window', () => {
    const at = Date.parse('2026-03-09T03:30:00Z');
    expect(reportWindow(at, 7 * 86_400_000)).toEqual({
      start: '2026-03-02T03:30:00.000Z',
      end: '2026-03-09T03:30:00.000Z',
    });
    expect(reportWindow(at + 42_000, 7 * 86_400_000)).toEqual(reportWindow(at, 7 * 86_400_000));
    expect(windowKey('2026-03-09T03:30:00.000Z')).toBe('2026-03-09T03:30Z');
  });
});

describe('digests', () => {
  const records = [
    rec('1', { course: 'course-a', session: 'S1', student: 'ana', rating: 5, comment: 'great' }),
    rec('2', { course: 'course-a', session: 'S1', student: 'ben', rating: '4', comment: 'good' }),
    rec('3', { course: 'course-a', session: 'S2', student: 'ana', rating: 2, comment: 'audio <kept> cutting' }),
    rec('4', { course: 'course-a', session: 'S3', student: 'cem', rating: 1, comment: 'lost' }),
    rec('5', { course: 'course-b', session: 'S9', student: 'dia', rating: 3 }),
    rec('6', { course: 'course-a', session: 'S3', student: 'ben', rating: 'n/a' }),
  ];

  it('counts, distinct counts, averages, top and bottom items and highlights per group, routed by the channel map', () => {
    const { groups } = digestWindow(records, def(), (g) => `k-${g}`);
    expect(groups.map((g) => [g.group, g.channel, g.records])).toEqual([
      ['course-a', 'C0COURSEA', 5],
      ['course-b', 'C0DEFAULT', 1],
      ['course-c', 'C0COURSEC', 0],
    ]);
    const a = groups[0]!;
    expect(a.distinct).toEqual([{ label: 'Students', count: 3 }]);
    // "n/a" is not a number: left out of the average, not counted as zero.
    expect(a.averages[0]).toMatchObject({ value: 3, count: 4 });
    expect(a.top.map((t) => t.item)).toEqual(['S1', 'S2']);
    expect(a.bottom.map((t) => t.item)).toEqual(['S3']);
    expect(a.highlight).toMatchObject({ total: 2, items: [{ values: ['S2', 'ana', 'audio <kept> cutting'] }, {}] });
  });

  it('an empty window still posts: every mapped channel and the default get the empty notice', () => {
    const { groups } = digestWindow([], def(), (g) => g);
    expect(groups.map((g) => g.channel).sort()).toEqual(['C0COURSEA', 'C0COURSEC', 'C0DEFAULT']);
    const msg = buildDigestMessages(digestOf(def(), groups), groups[0]!);
    expect(msg.replies).toEqual([]);
    expect(JSON.stringify(msg.root.blocks)).toContain('Nothing this week.');
    expectValidMessage(msg.root);
  });

  it('highlight rules compare numbers as numbers and text as text', () => {
    expect(matches({ rating: '2' }, { field: 'rating', op: 'lte', value: 2 })).toBe(true);
    expect(matches({ rating: 'bad' }, { field: 'rating', op: 'lte', value: 2 })).toBe(false);
    expect(matches({ status: 'late' }, { field: 'status', op: 'eq', value: 'late' })).toBe(true);
    expect(matches({ flag: true }, { field: 'flag', op: 'eq', value: true })).toBe(true);
    expect(matches({}, { field: 'rating', op: 'neq', value: 2 })).toBe(false);
  });

  it('the root escapes mrkdwn, stays within every limit and points at the thread', () => {
    const { groups } = digestWindow(records, def(), (g) => g);
    const msg = buildDigestMessages(digestOf(def(), groups), groups[0]!);
    expectValidMessage(msg.root);
    expect(msg.root.text).toContain('5 records');
    expect(JSON.stringify(msg.replies)).toContain('audio &lt;kept&gt; cutting');
    expect(JSON.stringify(msg.root.blocks)).toContain('2 highlighted in the thread');
  });

  it('a large window splits into valid messages (50 blocks, 3,000 characters), never fails, and says what it left out', () => {
    const many = Array.from({ length: 1500 }, (_, i) =>
      rec(String(i), { course: 'course-a', session: `S${i}`, student: `s${i}`, rating: 1, comment: 'x'.repeat(900) }),
    );
    const d = def({
      aggregation: {
        groupBy: 'course',
        highlight: {
          title: 'Low',
          where: { field: 'rating', op: 'lte', value: 2 },
          show: ['session', 'comment'],
          limit: 1000,
        },
      },
    });
    const { groups } = digestWindow(many, d, (g) => g);
    const msg = buildDigestMessages(digestOf(d, groups), groups[0]!);
    expectValidMessage(msg.root);
    expect(msg.replies.length).toBeGreaterThan(1);
    for (const r of msg.replies) expectValidMessage(r);
    const shown = msg.replies.map((r) => JSON.stringify(r.blocks)).join('\n');
    expect((shown.match(/• \*S\d+\*/g) ?? []).length).toBe(1000);
    expect(shown).toContain('…and 500 more not shown');
    expect(msg.replies[0]!.text).toBe(`Low (1500), part 1 of ${msg.replies.length}`);
  });

  it('past ten thread replies the highlight stops and counts the rest', () => {
    const wide = Array.from({ length: 1000 }, (_, i) =>
      rec(String(i), {
        course: 'course-a',
        a: `A${i}`,
        b: 'b'.repeat(600),
        c: 'c'.repeat(600),
        d: 'd'.repeat(600),
        e: 'e'.repeat(600),
        f: 'f'.repeat(600),
        rating: 0,
      }),
    );
    const d = def({
      aggregation: {
        groupBy: 'course',
        highlight: {
          title: 'Zero',
          where: { field: 'rating', op: 'eq', value: 0 },
          show: ['a', 'b', 'c', 'd', 'e', 'f'],
          limit: 1000,
        },
      },
    });
    const { groups } = digestWindow(wide, d, (g) => g);
    const replies = highlightReplies(groups[0]!);
    expect(replies).toHaveLength(10);
    for (const r of replies) expectValidMessage(r);
    const shown = (
      replies
        .map((r) => JSON.stringify(r.blocks))
        .join('\n')
        .match(/• \*A\d+\*/g) ?? []
    ).length;
    expect(shown).toBeLessThan(1000);
    expect(JSON.stringify(replies[9]!.blocks)).toContain(`…and ${1000 - shown} more not shown`);
  });

  it('a single enormous value is clipped to fit a section', () => {
    const d = def();
    const { groups } = digestWindow(
      [
        rec('1', {
          course: 'course-a',
          session: 'S'.repeat(10_000),
          student: 'x',
          rating: 1,
          comment: 'y'.repeat(10_000),
        }),
      ],
      d,
      (g) => g,
    );
    const replies = highlightReplies(groups[0]!);
    expect(replies).toHaveLength(1);
    expectValidMessage(replies[0]!);
  });

  it('chunkText keeps lines whole where it can and cuts only lines longer than the limit', () => {
    expect(chunkText('a\nb\nc', 3)).toEqual(['a\nb', 'c']);
    expect(chunkText('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
    expect(chunkText('', 10)).toEqual(['']);
  });
});

describe('report definitions', () => {
  it('fill defaults, take durations as text or milliseconds, and name the field that is wrong', () => {
    const d = def({ aggregation: undefined, channels: { default: 'C0DEFAULT' } });
    expect(d).toMatchObject({ window: 7 * 86_400_000, emptyMessage: 'Nothing this week.' });
    expect(reportDefinitionSchema.parse({ ...d, window: d.window }).window).toBe(d.window);
    const bad = reportDefinitionSchema.safeParse({ ...d, schedule: { timezone: 'Mars/Olympus', cron: ['0 9 * *'] } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['schedule.timezone', 'schedule.cron.0']));
    const unmapped = reportDefinitionSchema.safeParse({ ...d, channels: { default: 'C0X1', byGroup: { a: 'C0X2' } } });
    expect(unmapped.error?.issues[0]?.path).toEqual(['channels', 'byGroup']);
  });
});
