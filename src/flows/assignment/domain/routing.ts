import {
  firstMatchingRule,
  type AssignmentRule,
  type AssignmentRules,
  type RoutableIssue,
  type RulePerson,
  type Strategy,
  type Weekday,
  type WorkingHours,
} from './rules.js';

/**
 * The routing decision (pure and deterministic): the same issue, the same loads, the same
 * cursor and the same rules version give the same ranking, every time. Nothing here reads a
 * clock, a random source or the database: the activity passes in the loads counted from our
 * records, the round-robin cursors and the time (working hours).
 *
 * Ranking, within the matched rule's pool, minus the people excluded (they declined or let
 * the ack time out):
 * 1. availability tier: within working hours with room, within hours but at capacity, outside
 *    hours with room, outside hours at capacity (someone is always chosen while anyone is left);
 * 2. the strategy's key: `least_loaded` fewest open assignments; `skills` most wanted skills
 *    (then fewest open assignments); `round_robin` position after the persisted cursor;
 * 3. a stable hash of the issue key and the person (never random), so ties spread across
 *    people issue by issue but never change between runs.
 */

export interface RoutingInput {
  rules: AssignmentRules;
  issue: RoutableIssue;
  /** Open assignments per Jira account id (missing = 0). */
  loads: Readonly<Record<string, number>>;
  /** Round-robin cursors by `cursorKey(rule, pool)` (missing = 0). */
  cursors: Readonly<Record<string, number>>;
  /** People (rules-file ids) not to route to, with why. */
  excluded: readonly { person: string; why: string }[];
  /** A pool chosen by the person who reassigned (instead of the rule's). */
  poolOverride?: { pool: string; by: string };
  /** The decision's time, for working hours only. */
  nowMs: number;
}

export interface RankedCandidate {
  person: string;
  name: string;
  slack: string;
  jira: string;
  rank: number;
  load: number;
  capacity: number;
  withinHours: boolean;
  full: boolean;
  /** Skills strategy: the wanted skills this person has. */
  skillsMatched?: string[];
  /** Round robin: places after the cursor. */
  rotation?: number;
  /** The stable tie-break (FNV-1a of `<issue key>/<person id>`), hex. */
  tieBreak: string;
  /** Facts about this person, then why they rank where they do. */
  reasons: string[];
}

export interface RoutingDecision {
  ruleId: string;
  ruleVersion: string;
  strategy: Strategy;
  pool: string;
  poolChosenBy?: string;
  /** Why the rule matched, and why each earlier rule did not. */
  matched: string[];
  skipped: { ruleId: string; why: string[] }[];
  /** Skills strategy: the skills looked for. */
  wantedSkills?: string[];
  candidates: RankedCandidate[];
  excluded: { person: string; name: string; why: string }[];
  chosen?: RankedCandidate;
  /** Round robin: the cursor before and after this decision (persisted by the activity). */
  cursor?: { key: string; before: number; after: number };
  /** One sentence for people. */
  summary: string;
}

/** Round-robin cursor key: one rotation per rule and pool. */
export const cursorKey = (ruleId: string, pool: string): string => `${ruleId}/${pool}`;

/** 32-bit FNV-1a: tiny, stable across platforms and versions, good enough to spread ties. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

const WEEKDAYS: Record<string, Weekday> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `nowMs` falls in the working hours, and the local time in words. */
export function withinHours(hours: WorkingHours, nowMs: number): { within: boolean; local: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: hours.timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(nowMs);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = WEEKDAYS[get('weekday')] ?? 'mon';
  const hh = get('hour').padStart(2, '0');
  const mm = get('minute').padStart(2, '0');
  const t = Number(hh) * 60 + Number(mm);
  const from = minutesOf(hours.from);
  const to = minutesOf(hours.to);
  // A window that ends before it starts runs past midnight (22:00–06:00): it belongs to its start day.
  const inWindow = to > from ? t >= from && t < to : t >= from || t < to;
  const dayOk = hours.days.includes(day);
  return { within: dayOk && inWindow, local: `${get('weekday')} ${hh}:${mm} ${hours.timezone}` };
}

interface Scored {
  p: RulePerson;
  tier: number;
  load: number;
  withinHours: boolean;
  full: boolean;
  skills: string[];
  rotation: number;
  hash: number;
  facts: string[];
}

const TIER_WORDS = ['', 'at capacity', 'outside working hours', 'outside working hours and at capacity'];

function compare(strategy: Strategy, a: Scored, b: Scored): number {
  if (a.tier !== b.tier) return a.tier - b.tier;
  if (strategy === 'skills' && a.skills.length !== b.skills.length) return b.skills.length - a.skills.length;
  if (strategy === 'round_robin') return a.rotation - b.rotation;
  if (a.load !== b.load) return a.load - b.load;
  return a.hash - b.hash || (a.p.id < b.p.id ? -1 : a.p.id > b.p.id ? 1 : 0);
}

/** Why `b` ranks right after `a`: the first sort key that tells them apart. */
function whyAfter(strategy: Strategy, key: string, a: Scored, b: Scored): string {
  if (a.tier !== b.tier) return `ranked after ${a.p.id}: ${TIER_WORDS[b.tier]}`;
  if (strategy === 'skills' && a.skills.length !== b.skills.length)
    return `ranked after ${a.p.id}: fewer wanted skills (${b.skills.length} vs ${a.skills.length})`;
  if (strategy === 'round_robin') return `ranked after ${a.p.id}: later in the rotation`;
  if (a.load !== b.load) return `ranked after ${a.p.id}: more open assignments (${b.load} vs ${a.load})`;
  return `ranked after ${a.p.id}: same open assignments (${b.load}); tie broken by the stable hash of ${key} (${hex(b.hash)} > ${hex(a.hash)})`;
}

function firstReason(strategy: Strategy, s: Scored, next: Scored | undefined): string {
  const base =
    strategy === 'round_robin'
      ? 'first: next in the rotation'
      : strategy === 'skills'
        ? `first: most wanted skills (${s.skills.length}), then fewest open assignments (${s.load})`
        : `first: fewest open assignments (${s.load})`;
  if (s.tier > 0) return `${base}; nobody better placed is left (${TIER_WORDS[s.tier]})`;
  const tied =
    next !== undefined &&
    strategy !== 'round_robin' &&
    next.tier === s.tier &&
    next.load === s.load &&
    next.skills.length === s.skills.length;
  if (tied)
    return `${base}; tied with ${next.p.id}, won the stable hash of the issue key (${hex(s.hash)} < ${hex(next.hash)})`;
  return base;
}

/** The skills the rule asks for, plus the issue's labels and components that name a pool member's skill. */
function wantedSkills(rule: AssignmentRule, issue: RoutableIssue, members: RulePerson[]): string[] {
  const known = new Set(members.flatMap((m) => m.skills.map((s) => s.toLowerCase())));
  const fromIssue = [...(issue.labels ?? []), ...(issue.components ?? [])].filter((x) => known.has(x.toLowerCase()));
  const all = [...rule.skills, ...fromIssue].map((s) => s.toLowerCase());
  return [...new Set(all)].sort();
}

/**
 * Decides who gets the issue: the first matching rule's pool (or the override), ranked. Never
 * throws for a valid rules set; `chosen` is absent when nobody is left (everyone excluded or an
 * empty pool), which the workflow escalates to the lead.
 */
export function decideRouting(input: RoutingInput): RoutingDecision {
  const { rules, issue } = input;
  const { rule, matched, skipped } = firstMatchingRule(rules, issue);
  const poolId = input.poolOverride?.pool ?? rule.pool;
  const pool = rules.pools[poolId] ?? rules.pools[rule.pool]!;
  const members = pool.members.map((m) => rules.people[m]!).filter(Boolean);
  const excludedIds = new Map(input.excluded.map((e) => [e.person, e.why]));
  const ckey = cursorKey(rule.id, pool.id);
  const cursor =
    (((input.cursors[ckey] ?? 0) % Math.max(1, members.length)) + members.length) % Math.max(1, members.length);
  const wanted = rule.strategy === 'skills' ? wantedSkills(rule, issue, members) : [];

  const scored: Scored[] = [];
  members.forEach((p, index) => {
    if (excludedIds.has(p.id)) return;
    const load = Math.max(0, input.loads[p.jira] ?? 0);
    const full = load >= p.capacity;
    const hours = p.hours ? withinHours(p.hours, input.nowMs) : undefined;
    const within = hours?.within ?? true;
    const skills = wanted.filter((w) => p.skills.some((s) => s.toLowerCase() === w));
    const facts = [`${load} open assignment${load === 1 ? '' : 's'} (capacity ${p.capacity})`];
    if (full) facts.push('at capacity');
    if (hours) facts.push(`${within ? 'within' : 'outside'} working hours (${hours.local})`);
    if (rule.strategy === 'skills')
      facts.push(
        skills.length
          ? `has wanted skills: ${skills.join(', ')}`
          : `has none of: ${wanted.join(', ') || '(none wanted)'}`,
      );
    scored.push({
      p,
      tier: (within ? 0 : 2) + (full ? 1 : 0),
      load,
      withinHours: within,
      full,
      skills,
      rotation: (index - cursor + members.length) % members.length,
      hash: stableHash(`${issue.key}/${p.id}`),
      facts,
    });
  });
  scored.sort((a, b) => compare(rule.strategy, a, b));

  const candidates: RankedCandidate[] = scored.map((s, i) => ({
    person: s.p.id,
    name: s.p.name,
    slack: s.p.slack,
    jira: s.p.jira,
    rank: i + 1,
    load: s.load,
    capacity: s.p.capacity,
    withinHours: s.withinHours,
    full: s.full,
    ...(rule.strategy === 'skills' ? { skillsMatched: s.skills } : {}),
    ...(rule.strategy === 'round_robin' ? { rotation: s.rotation } : {}),
    tieBreak: hex(s.hash),
    reasons: [
      ...s.facts,
      i === 0 ? firstReason(rule.strategy, s, scored[1]) : whyAfter(rule.strategy, issue.key, scored[i - 1]!, s),
    ],
  }));
  const chosen = candidates[0];
  const excluded = members
    .filter((p) => excludedIds.has(p.id))
    .map((p) => ({ person: p.id, name: p.name, why: excludedIds.get(p.id)! }));
  const chosenIndex = chosen ? members.findIndex((m) => m.id === chosen.person) : -1;
  const strategyWords = { least_loaded: 'least loaded', round_robin: 'round robin', skills: 'skills match' }[
    rule.strategy
  ];
  return {
    ruleId: rule.id,
    ruleVersion: rules.version,
    strategy: rule.strategy,
    pool: pool.id,
    ...(input.poolOverride ? { poolChosenBy: input.poolOverride.by } : {}),
    matched,
    skipped,
    ...(rule.strategy === 'skills' ? { wantedSkills: wanted } : {}),
    candidates,
    excluded,
    ...(chosen ? { chosen } : {}),
    ...(rule.strategy === 'round_robin' && chosen
      ? { cursor: { key: ckey, before: cursor, after: (chosenIndex + 1) % members.length } }
      : {}),
    summary: chosen
      ? `${chosen.name} (${chosen.person}) by rule ${rule.id} ${rules.version}, ${strategyWords} over pool ${pool.id}: ${chosen.reasons.at(-1)}`
      : `nobody left in pool ${pool.id} (rule ${rule.id} ${rules.version}): ${excluded.length} excluded of ${members.length}`,
  };
}
