import type { GroupDigest, HighlightItem, RankedItem } from '../contract.js';
import type { ReportAggregation, ReportDefinition } from '../schema.js';
import { MAX_REPORT_GROUPS } from '../contract.js';

/** The part of a record aggregation reads. */
export interface AggregatedRecord {
  id: string;
  data: Record<string, unknown>;
}

/** Longest text of one value shown in a digest (a comment can be long; the digest stays readable). */
export const MAX_VALUE_CHARS = 500;

/** `a.b.c` in a record's data; undefined when any step is missing. */
export function fieldValue(data: Record<string, unknown>, path: string): unknown {
  let v: unknown = data;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** A number from a value: numbers, and numeric strings ("4", "3.5"); anything else is not one. */
export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

/** A value as the text a digest shows (objects as JSON), bounded. */
export function text(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}

type Where = NonNullable<ReportAggregation['highlight']>['where'];

/** Whether a record matches a highlight rule (numbers compare as numbers, the rest as text). */
export function matches(data: Record<string, unknown>, where: Where): boolean {
  const raw = fieldValue(data, where.field);
  if (raw === undefined || raw === null) return false;
  const wantNumber = typeof where.value === 'number';
  const a = wantNumber ? numeric(raw) : typeof where.value === 'boolean' ? raw === true || raw === 'true' : text(raw);
  if (a === undefined) return false;
  const b = typeof where.value === 'boolean' ? where.value : where.value;
  switch (where.op) {
    case 'eq':
      return a === b;
    case 'neq':
      return a !== b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
  }
}

function rankItems(records: AggregatedRecord[], rank: NonNullable<ReportAggregation['rank']>) {
  const byItem = new Map<string, { sum: number; count: number }>();
  for (const r of records) {
    const item = text(fieldValue(r.data, rank.item));
    const score = numeric(fieldValue(r.data, rank.by));
    if (!item || score === undefined) continue;
    const acc = byItem.get(item) ?? { sum: 0, count: 0 };
    acc.sum += score;
    acc.count += 1;
    byItem.set(item, acc);
  }
  const ranked: RankedItem[] = [...byItem.entries()].map(([item, a]) => ({
    item,
    score: a.sum / a.count,
    count: a.count,
  }));
  // Ties: more records first, then by name, so the same data always gives the same digest.
  const desc = [...ranked].sort((x, y) => y.score - x.score || y.count - x.count || x.item.localeCompare(y.item));
  const asc = [...ranked].sort((x, y) => x.score - y.score || y.count - x.count || x.item.localeCompare(y.item));
  const top = desc.slice(0, rank.limit);
  // The bottom list never repeats an item already shown at the top (few items: top only).
  const bottom = asc.filter((b) => !top.some((t) => t.item === b.item)).slice(0, rank.limit);
  return { top, bottom };
}

/** The numbers of one group of records. */
export function digestGroup(
  records: AggregatedRecord[],
  agg: ReportAggregation,
  group: { group: string | null; key: string; channel: string },
): GroupDigest {
  const distinct = agg.distinct.map((d) => ({
    label: d.label,
    count: new Set(records.map((r) => text(fieldValue(r.data, d.field))).filter((v) => v !== '')).size,
  }));
  const averages = agg.averages.map((a) => {
    const nums = records.map((r) => numeric(fieldValue(r.data, a.field))).filter((n) => n !== undefined);
    return {
      label: a.label,
      value: nums.length ? nums.reduce((s, n) => s + n, 0) / nums.length : null,
      count: nums.length,
      decimals: a.decimals,
    };
  });
  const { top, bottom } = agg.rank ? rankItems(records, agg.rank) : { top: [], bottom: [] };
  let highlight: GroupDigest['highlight'];
  if (agg.highlight) {
    const h = agg.highlight;
    const hits = records.filter((r) => matches(r.data, h.where));
    const items: HighlightItem[] = hits.slice(0, h.limit).map((r) => ({
      values: h.show.map((f) => text(fieldValue(r.data, f))),
      matched: text(fieldValue(r.data, h.where.field)),
    }));
    highlight = { title: h.title, field: h.where.field, total: hits.length, items };
  }
  return { ...group, records: records.length, distinct, averages, top, bottom, ...(highlight ? { highlight } : {}) };
}

/**
 * Splits a window's records into digests, one per target: each group (by `groupBy`) goes to its
 * mapped channel or the default; mapped groups without records still get a digest (it shows the
 * empty notice), and so does the default channel when the whole window is empty. Records must
 * come in a stable order (by timestamp, then id) so highlights list the same items each time.
 * `keyOf` gives the stable key of a group value (a hash; computed outside the sandbox).
 */
export function digestWindow(
  records: AggregatedRecord[],
  def: ReportDefinition,
  keyOf: (group: string) => string,
): { groups: GroupDigest[]; omittedGroups: number } {
  const agg = def.aggregation;
  if (!agg.groupBy) {
    return {
      groups: [digestGroup(records, agg, { group: null, key: 'all', channel: def.channels.default })],
      omittedGroups: 0,
    };
  }
  const byGroup = new Map<string, AggregatedRecord[]>();
  for (const g of Object.keys(def.channels.byGroup)) byGroup.set(g, []);
  for (const r of records) {
    const g = text(fieldValue(r.data, agg.groupBy)) || '(none)';
    const list = byGroup.get(g);
    if (list) list.push(r);
    else byGroup.set(g, [r]);
  }
  const entries = [...byGroup.entries()].sort(([a], [b]) => a.localeCompare(b));
  const groups = entries
    .slice(0, MAX_REPORT_GROUPS)
    .map(([g, rs]) =>
      digestGroup(rs, agg, { group: g, key: keyOf(g), channel: def.channels.byGroup[g] ?? def.channels.default }),
    );
  if (records.length === 0 && !groups.some((g) => g.channel === def.channels.default)) {
    groups.push(digestGroup([], agg, { group: null, key: 'all', channel: def.channels.default }));
  }
  return { groups, omittedGroups: Math.max(0, entries.length - MAX_REPORT_GROUPS) };
}
