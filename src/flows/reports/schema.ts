import { z } from 'zod';
import { parseDuration } from '../../platform/time/duration.js';

/**
 * The reports flow's trust boundary: report definitions (API), dataset records (pushed through the
 * API or pulled from a customer's endpoint). Types are derived from these schemas; workflows and
 * domain code import them by type only.
 */

const channelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'a Slack channel id like C0123ABCD');
/** A field of a record's `data`, dotted for nested objects (`session.title`). */
export const fieldPath = z
  .string()
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a field name like rating or session.title');
const label = z.string().trim().min(1).max(80);
export const datasetName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a dataset name like session_feedback');

/** `90s`, `30m`, `2h`, `7d` (or milliseconds, as a stored definition holds it) → milliseconds. */
const durationMs = z.union([
  z.number().int().min(1),
  z.string().transform((v, ctx) => {
    const d = parseDuration(v);
    if (!d.ok) {
      ctx.addIssue({ code: 'custom', message: d.message });
      return z.NEVER;
    }
    return d.ms;
  }),
]);

/** Known to ICU (which also knows the IANA aliases, e.g. Asia/Kolkata and Asia/Calcutta). */
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const timezone = z
  .string()
  .max(64)
  .refine(
    (tz) => /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz) && isTimeZone(tz),
    'an IANA time zone like Asia/Kolkata or America/New_York',
  );

const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] as const;
const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
] as const;
const values = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1).max(60), z.literal('*')]);

/**
 * One calendar spec, as Temporal Schedules take it (minute resolution: report windows are whole
 * minutes, see docs/operations.md). Unset fields: minute 0, hour 0, every day/month.
 */
const calendar = z.strictObject({
  minute: values(z.number().int().min(0).max(59)).optional(),
  hour: values(z.number().int().min(0).max(23)).optional(),
  dayOfMonth: values(z.number().int().min(1).max(31)).optional(),
  month: values(z.enum(MONTHS)).optional(),
  dayOfWeek: values(z.enum(DAYS)).optional(),
  comment: z.string().max(200).optional(),
});

/** Cron with 5 fields (minute hour day-of-month month day-of-week) or a shorthand like @weekly. */
const cron = z
  .string()
  .trim()
  .max(200)
  .refine(
    (c) => /^@(yearly|monthly|weekly|daily|hourly)$/.test(c) || c.split(/\s+/).length === 5,
    'a 5-field cron expression like "0 9 * * MON,FRI" (minute resolution) or @daily/@weekly/@monthly',
  );

export const scheduleSchema = z
  .strictObject({
    timezone: timezone.default('UTC'),
    cron: z.array(cron).min(1).max(10).optional(),
    calendars: z.array(calendar).min(1).max(10).optional(),
    /** After downtime, fire missed runs that are at most this late (else they are skipped: backfill them). */
    catchupWindow: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.cron && !s.calendars)
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give cron expressions or calendars' });
    if (s.catchupWindow !== undefined) {
      const d = parseDuration(s.catchupWindow);
      if (!d.ok) ctx.addIssue({ code: 'custom', path: ['catchupWindow'], message: d.message });
      else if (d.ms < 60_000) ctx.addIssue({ code: 'custom', path: ['catchupWindow'], message: 'at least 1m' });
    }
  });
export type ReportSchedule = z.output<typeof scheduleSchema>;

const sourceSchema = z.discriminatedUnion('kind', [
  /** Records pushed to `POST /v1/datasets/:name/records`. */
  z.strictObject({ kind: z.literal('dataset'), dataset: datasetName }),
  /** A signed POST to the customer's endpoint for the window (see docs/operations.md, "Pull sources"). */
  z.strictObject({ kind: z.literal('pull'), url: z.url({ protocol: /^https?$/ }).max(2000) }),
]);
export type ReportSource = z.output<typeof sourceSchema>;

const comparison = z.enum(['lt', 'lte', 'gt', 'gte', 'eq', 'neq']);

export const aggregationSchema = z.strictObject({
  /** One digest per value of this field (e.g. `course`), posted to `channels.byGroup[value]` or the default. */
  groupBy: fieldPath.optional(),
  /** Distinct values counted (e.g. students). */
  distinct: z
    .array(z.strictObject({ field: fieldPath, label }))
    .max(5)
    .default([]),
  /** Numeric fields averaged (records without a number there are left out of that average). */
  averages: z
    .array(z.strictObject({ field: fieldPath, label, decimals: z.number().int().min(0).max(4).default(1) }))
    .max(8)
    .default([]),
  /** Items (e.g. sessions) ranked by the average of a numeric field: the top and bottom `limit`. */
  rank: z
    .strictObject({
      item: fieldPath,
      by: fieldPath,
      label,
      limit: z.number().int().min(1).max(10).default(3),
    })
    .optional(),
  /** Records worth a look (e.g. rating ≤ 2), listed in a thread reply under the digest. */
  highlight: z
    .strictObject({
      title: label,
      where: z.strictObject({
        field: fieldPath,
        op: comparison,
        value: z.union([z.number(), z.string().max(200), z.boolean()]),
      }),
      show: z.array(fieldPath).min(1).max(6),
      limit: z.number().int().min(1).max(1000).default(200),
    })
    .optional(),
});
export type ReportAggregation = z.output<typeof aggregationSchema>;

/** A report definition as `POST /v1/reports` takes it (and `PATCH` merges into). */
export const reportDefinitionSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(120),
    schedule: scheduleSchema,
    /** The window each run covers, ending at the run's scheduled time. */
    window: durationMs.prefault('7d'),
    source: sourceSchema,
    aggregation: aggregationSchema.default({ distinct: [], averages: [] }),
    channels: z.strictObject({
      default: channelId,
      byGroup: z
        .record(z.string().min(1).max(200), channelId)
        .refine((r) => Object.keys(r).length <= 100, 'at most 100 groups')
        .default({}),
    }),
    /** Posted when the window holds no records (to each mapped channel and the default). */
    emptyMessage: z.string().trim().min(1).max(500).default('Nothing this week.'),
  })
  .superRefine((d, ctx) => {
    if (d.window < 60_000 || d.window > 365 * 86_400_000)
      ctx.addIssue({ code: 'custom', path: ['window'], message: 'between 1m and 365d' });
    if (Object.keys(d.channels.byGroup).length && !d.aggregation.groupBy)
      ctx.addIssue({ code: 'custom', path: ['channels', 'byGroup'], message: 'needs aggregation.groupBy' });
  });
/** What the API accepted (defaults filled): stored as the report's definition. */
export type ReportDefinition = z.output<typeof reportDefinitionSchema>;
export type ReportDefinitionInput = z.input<typeof reportDefinitionSchema>;

const recordData = z
  .record(z.string().max(64), z.unknown())
  .refine((d) => JSON.stringify(d).length <= 16_384, 'at most 16 KiB of JSON');

/** One dataset record: its id makes pushes idempotent; its timestamp places it in a window. */
export const recordSchema = z.strictObject({
  id: z.string().min(1).max(128),
  timestamp: z.iso.datetime({ offset: true }),
  data: recordData,
});
export type DatasetRecord = z.output<typeof recordSchema>;

export const pushRecordsSchema = z.strictObject({
  records: z.array(recordSchema).min(1, 'at least one record').max(1000, 'at most 1000 records a request'),
});

/** What a pull endpoint answers for one page of the window. */
export const pullPageSchema = z.object({
  records: z.array(recordSchema.extend({ data: recordData }).loose()).max(5000),
  nextCursor: z.string().max(1000).nullish(),
});
