/**
 * The routing rules as the decision function sees them: validated and normalised (rules.ts
 * parses and checks the file; this module only reads the result). Pure.
 */

export type Strategy = 'least_loaded' | 'round_robin' | 'skills';
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** When a person takes new work, in their own time zone (`from` inclusive, `to` exclusive, HH:MM). */
export interface WorkingHours {
  timezone: string;
  days: Weekday[];
  from: string;
  to: string;
}

/** Someone work can be routed to. `id` is the rules file's own name for them. */
export interface RulePerson {
  id: string;
  name: string;
  /** Slack user id (the DM with the buttons). */
  slack: string;
  /** Jira account id (the assignee Threadline sets). */
  jira: string;
  skills: string[];
  /** Open assignments at which the person counts as full (ranked after everyone with room). */
  capacity: number;
  hours?: WorkingHours;
}

export interface RulePool {
  id: string;
  members: string[];
}

/** What a rule matches on; an empty list matches anything. Case-insensitive. */
export interface RuleMatch {
  projects: string[];
  issueTypes: string[];
  priorities: string[];
  /** The issue has at least one of these labels. */
  labels: string[];
  /** The issue has at least one of these components. */
  components: string[];
}

/** Jira status names that move the assignment (the `done` category always closes it). */
export interface StatusMap {
  inProgress: string[];
  blocked: string[];
}

export interface AssignmentRule {
  id: string;
  /** The required catch-all: last, matches everything. */
  default: boolean;
  match: RuleMatch;
  pool: string;
  strategy: Strategy;
  /** Skills strategy: the skills every candidate should have (issue labels and components count too). */
  skills: string[];
  /** Not accepted within this → reassigned to the next candidate and the lead channel told. */
  ackTimeoutMs: number;
  /** Timeouts that reassign; the next one escalates to the lead instead. */
  maxReassigns: number;
  /** Rules-file person id of the team lead (escalations are DMed to them). */
  lead?: string;
  /** Slack channel where reassignments and escalations are announced. */
  leadChannel?: string;
  /** After a person unassigns the issue in Jira, route it again (default: a person's choice stands). */
  reclaim: boolean;
  statuses: StatusMap;
}

export interface AssignmentRules {
  /** Content hash of the normalised rules (`r-` + 12 hex): audit rows name it. */
  version: string;
  people: Record<string, RulePerson>;
  pools: Record<string, RulePool>;
  rules: AssignmentRule[];
}

/** The issue fields rules match on. */
export interface RoutableIssue {
  key: string;
  project: string;
  type?: string;
  priority?: string | null;
  labels?: string[];
  components?: string[];
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const oneOf = (filter: string[], value: string | null | undefined) =>
  filter.length === 0 || (value != null && filter.some((f) => eq(f, value)));
const anyOf = (filter: string[], values: readonly string[] | undefined) =>
  filter.length === 0 || (values ?? []).some((v) => filter.some((f) => eq(f, v)));

/** Why a rule does or does not match, field by field (the audit trail shows it). */
export function matchReasons(rule: AssignmentRule, issue: RoutableIssue): { matches: boolean; reasons: string[] } {
  if (rule.default) return { matches: true, reasons: ['default rule (matches every issue)'] };
  const m = rule.match;
  const checks: [string, boolean, string[], string | undefined][] = [
    ['project', oneOf(m.projects, issue.project), m.projects, issue.project],
    ['issue type', oneOf(m.issueTypes, issue.type), m.issueTypes, issue.type],
    ['priority', oneOf(m.priorities, issue.priority), m.priorities, issue.priority ?? undefined],
    ['labels', anyOf(m.labels, issue.labels), m.labels, (issue.labels ?? []).join(', ')],
    ['components', anyOf(m.components, issue.components), m.components, (issue.components ?? []).join(', ')],
  ];
  const reasons: string[] = [];
  let matches = true;
  for (const [what, ok, filter, value] of checks) {
    if (filter.length === 0) continue;
    const shown = value === undefined || value === '' ? 'none' : value;
    reasons.push(`${what} ${shown} ${ok ? 'is' : 'is not'} in [${filter.join(', ')}]`);
    if (!ok) matches = false;
  }
  if (reasons.length === 0) reasons.push('no conditions (matches every issue)');
  return { matches, reasons };
}

/** The first matching rule (the default rule always matches), and why each earlier one did not. */
export function firstMatchingRule(
  rules: AssignmentRules,
  issue: RoutableIssue,
): { rule: AssignmentRule; matched: string[]; skipped: { ruleId: string; why: string[] }[] } {
  const skipped: { ruleId: string; why: string[] }[] = [];
  for (const rule of rules.rules) {
    const r = matchReasons(rule, issue);
    if (r.matches) return { rule, matched: r.reasons, skipped };
    skipped.push({ ruleId: rule.id, why: r.reasons.filter((x) => x.includes(' is not in ')) });
  }
  // Validation guarantees a default rule; this is the type system's fallback.
  throw new Error('the rules have no default rule');
}

/** The rules-file person with this Jira account or Slack id. */
export function personByJira(rules: AssignmentRules, jira: string | undefined | null): RulePerson | undefined {
  return jira ? Object.values(rules.people).find((p) => p.jira === jira) : undefined;
}
export function personBySlack(rules: AssignmentRules, slack: string | undefined): RulePerson | undefined {
  return slack ? Object.values(rules.people).find((p) => p.slack === slack) : undefined;
}
