import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { channelId, duration } from '../../platform/config/index.js';
import type { AssignmentRules } from './domain/rules.js';

/**
 * The routing rules file: YAML (or JSON, which is YAML too), validated by zod, versioned by the
 * hash of its normalised content (formatting and comments do not change the version), and
 * reloadable: `createRulesStore` re-reads the file when it changes and keeps the previous rules
 * when the new ones are invalid, with a message naming the rule and the field.
 */

const list = z
  .union([z.string().trim().min(1), z.array(z.string().trim().min(1))])
  .transform((v) => (typeof v === 'string' ? [v] : v))
  .default([]);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like 09:00');
const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'an IANA time zone like Asia/Kolkata' },
);
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

const personSchema = z
  .object({
    name: z.string().trim().min(1),
    slack: z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id like U0123ABCD'),
    jira: z.string().trim().min(1, 'a Jira account id'),
    skills: list,
    capacity: z.number().int().min(1).max(1000).default(10),
    hours: z
      .object({
        timezone,
        days: z.array(weekday).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
        from: hhmm,
        to: hhmm,
      })
      .strict()
      .optional(),
  })
  .strict();

const poolSchema = z.union([
  z.array(z.string().min(1)).min(1),
  z.object({ members: z.array(z.string().min(1)).min(1) }).strict(),
]);

const ruleSchema = z
  .object({
    id: z.string().regex(/^[\w.-]{1,64}$/, 'a rule name of letters, digits, _ . -'),
    default: z.boolean().default(false),
    match: z
      .object({ projects: list, issueTypes: list, priorities: list, labels: list, components: list })
      .strict()
      .default({ projects: [], issueTypes: [], priorities: [], labels: [], components: [] }),
    pool: z.string().min(1),
    strategy: z.enum(['least_loaded', 'round_robin', 'skills']).default('least_loaded'),
    skills: list,
    ackTimeout: duration('30m'),
    maxReassigns: z.number().int().min(0).max(20).default(2),
    lead: z.string().min(1).optional(),
    leadChannel: channelId.optional(),
    reclaim: z.boolean().default(false),
    statuses: z
      .object({ inProgress: list, blocked: list })
      .strict()
      .default({ inProgress: ['In Progress'], blocked: ['Blocked'] }),
  })
  .strict();

const fileSchema = z
  .object({
    people: z.record(z.string().regex(/^[\w.-]{1,64}$/, 'a person name of letters, digits, _ . -'), personSchema),
    pools: z.record(z.string().regex(/^[\w.-]{1,64}$/, 'a pool name of letters, digits, _ . -'), poolSchema),
    rules: z.array(ruleSchema).min(1, 'at least the default rule'),
  })
  .strict()
  .superRefine((f, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    for (const [id, pool] of Object.entries(f.pools)) {
      const members = Array.isArray(pool) ? pool : pool.members;
      members.forEach((m, i) => {
        if (!f.people[m]) issue(['pools', id, 'members', i], `unknown person "${m}"`);
      });
    }
    const seen = new Set<string>();
    f.rules.forEach((r, i) => {
      if (seen.has(r.id)) issue(['rules', i, 'id'], `rule id "${r.id}" is used twice`);
      seen.add(r.id);
      if (!f.pools[r.pool])
        issue(['rules', i, 'pool'], `unknown pool "${r.pool}" (pools: ${Object.keys(f.pools).join(', ')})`);
      if (r.lead && !f.people[r.lead]) issue(['rules', i, 'lead'], `unknown person "${r.lead}"`);
      const m = r.match;
      const conditions =
        m.projects.length + m.issueTypes.length + m.priorities.length + m.labels.length + m.components.length;
      if (r.default && conditions > 0)
        issue(['rules', i, 'match'], 'the default rule matches everything: no conditions');
      if (r.default && i !== f.rules.length - 1)
        issue(['rules', i, 'default'], 'the default rule must be the last rule');
    });
    if (!f.rules.some((r) => r.default)) issue(['rules'], 'a default rule is required (`default: true`, last)');
  });

export type RulesFile = z.input<typeof fileSchema>;

/** zod's path → `rules[1] (id "ops").pool`, naming the rule by its id. */
function pathWords(path: PropertyKey[], raw: unknown): string {
  if (path.length === 0) return '(file)';
  const [head, index, ...rest] = path;
  if (head === 'rules' && typeof index === 'number') {
    const id = (raw as { rules?: { id?: unknown }[] } | undefined)?.rules?.[index]?.id;
    const named = `rules[${index}]${typeof id === 'string' ? ` (id "${id}")` : ''}`;
    return rest.length ? `${named}.${rest.map(String).join('.')}` : named;
  }
  return path.map(String).join('.');
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** `r-` + the first 12 hex of sha256 over the normalised rules: the same rules always have the same version. */
export function rulesVersion(rules: Omit<AssignmentRules, 'version'>): string {
  return `r-${createHash('sha256')
    .update(JSON.stringify(canonical(rules)))
    .digest('hex')
    .slice(0, 12)}`;
}

export type ParsedRules = { ok: true; rules: AssignmentRules } | { ok: false; problems: string[] };

/** Parses and validates a rules file's text (YAML or JSON). Problems name the rule and the field. */
export function parseAssignmentRules(text: string): ParsedRules {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return `${at ? `line ${at.line}, column ${at.col}: ` : ''}${e.message.split('\n')[0]}`;
      }),
    };
  }
  const raw: unknown = doc.toJS();
  const r = fileSchema.safeParse(raw);
  if (!r.success) return { ok: false, problems: r.error.issues.map((i) => `${pathWords(i.path, raw)}: ${i.message}`) };
  const f = r.data;
  const body: Omit<AssignmentRules, 'version'> = {
    people: Object.fromEntries(
      Object.entries(f.people).map(([id, p]) => [id, { id, ...p, ...(p.hours ? { hours: { ...p.hours } } : {}) }]),
    ),
    pools: Object.fromEntries(
      Object.entries(f.pools).map(([id, p]) => [id, { id, members: Array.isArray(p) ? p : p.members }]),
    ),
    rules: f.rules.map((x) => ({
      id: x.id,
      default: x.default,
      match: x.match,
      pool: x.pool,
      strategy: x.strategy,
      skills: x.skills,
      ackTimeoutMs: x.ackTimeout,
      maxReassigns: x.maxReassigns,
      ...(x.lead ? { lead: x.lead } : {}),
      ...(x.leadChannel ? { leadChannel: x.leadChannel } : {}),
      reclaim: x.reclaim,
      statuses: x.statuses,
    })),
  };
  return { ok: true, rules: { version: rulesVersion(body), ...body } };
}

/** The sandbox rules: the emulator's OPS issues go to Bob, Carol and Dave (least loaded); anything else to Alice. */
export const SANDBOX_RULES_YAML = `# Sandbox routing rules (docs/assignment.md)
people:
  alice: { name: Alice Admin, slack: U0ALICE, jira: "712020:alice", skills: [triage] }
  bob: { name: Bob Banker, slack: U0BOB, jira: "712020:bob", skills: [payments, refunds] }
  carol: { name: Carol Controller, slack: U0CAROL, jira: "712020:carol", skills: [billing, refunds] }
  dave: { name: Dave Developer, slack: U0DAVE, jira: "712020:dave", skills: [platform] }
pools:
  ops: [bob, carol, dave]
  leads: [alice]
rules:
  - id: ops
    match: { projects: [OPS] }
    pool: ops
    strategy: least_loaded
    ackTimeout: 30m
    maxReassigns: 2
    lead: alice
    leadChannel: C0ESCALATE
  - id: default
    default: true
    pool: leads
    lead: alice
    leadChannel: C0ESCALATE
`;

export type RulesSource = { kind: 'file'; path: string } | { kind: 'env' | 'sandbox' };

export type RulesEvent =
  | { kind: 'loaded'; version: string; previous: string }
  | { kind: 'reload_failed'; problems: string[]; keptVersion: string; contentHash: string };

export interface RulesStatus {
  version: string;
  source: RulesSource['kind'];
  path?: string;
  loadedAt: string;
  /** The newest failed reload (the previous rules are still in force). */
  lastError?: { at: string; problems: string[] };
}

/**
 * The rules in force, reloaded when the file changes (checked on each use: a `stat`, cheap next
 * to a routing decision). A file that no longer parses or validates keeps the previous rules;
 * the failure is reported once per content (`onEvent`), naming the rule and the field.
 */
export function createRulesStore(opts: {
  initial: AssignmentRules;
  source: RulesSource;
  onEvent?: (e: RulesEvent) => void;
  now?: () => number;
}) {
  const now = opts.now ?? Date.now;
  let rules = opts.initial;
  let loadedAt = new Date(now()).toISOString();
  let seen: string | undefined;
  let lastFailed: string | undefined;
  let lastError: RulesStatus['lastError'];

  async function refresh(force: boolean): Promise<void> {
    if (opts.source.kind !== 'file') return;
    const path = opts.source.path;
    let stamp: string;
    try {
      const s = await stat(path);
      stamp = `${s.mtimeMs}:${s.size}`;
    } catch (err) {
      stamp = `missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
    if (!force && seen === undefined) seen = stamp; // the file config.ts read at start-up
    if (!force && stamp === seen) return;
    seen = stamp;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      fail([`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`], `unreadable:${stamp}`);
      return;
    }
    const contentHash = createHash('sha256').update(text).digest('hex').slice(0, 16);
    const parsed = parseAssignmentRules(text);
    if (!parsed.ok) {
      fail(parsed.problems, contentHash);
      return;
    }
    lastError = undefined;
    lastFailed = undefined;
    if (parsed.rules.version === rules.version) return;
    const previous = rules.version;
    rules = parsed.rules;
    loadedAt = new Date(now()).toISOString();
    opts.onEvent?.({ kind: 'loaded', version: rules.version, previous });
  }

  function fail(problems: string[], contentHash: string) {
    lastError = { at: new Date(now()).toISOString(), problems };
    if (lastFailed === contentHash) return;
    lastFailed = contentHash;
    opts.onEvent?.({ kind: 'reload_failed', problems, keptVersion: rules.version, contentHash });
  }

  return {
    /** The rules in force now (re-read first if the file changed). */
    async current(): Promise<AssignmentRules> {
      await refresh(false);
      return rules;
    },
    /** Re-reads the file even if it looks unchanged. */
    async reload(): Promise<RulesStatus> {
      await refresh(true);
      return this.status();
    },
    status(): RulesStatus {
      return {
        version: rules.version,
        source: opts.source.kind,
        ...(opts.source.kind === 'file' ? { path: opts.source.path } : {}),
        loadedAt,
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}
export type RulesStore = ReturnType<typeof createRulesStore>;
