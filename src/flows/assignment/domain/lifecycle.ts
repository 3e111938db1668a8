import type { SubjectStatus } from '../../../platform/slack/contract.js';
import { appendBounded } from '../../../platform/temporal/workflow/bounded.js';
import type { TicketSnapshot } from '../../tickets/contract.js';
import type {
  AssignmentOwner,
  AssignmentState,
  AssignmentStatus,
  AssignmentWorkflowInput,
  CurrentRouting,
  JiraAssignmentFacts,
} from '../contract.js';
import type { StatusMap } from './rules.js';

/**
 * The assignment's state machine and its pure rules: which transitions are allowed, what a Jira
 * status means for the assignment, and what counts as drift between our state and Jira's.
 *
 * unassigned → routed → claimed → in_progress ⇄ blocked → closed, with reassigned between a
 * decline (or an ack timeout) and the next routing. A person's manual choice can put any open
 * assignment into claimed (a handoff) or back to unassigned.
 */

export const TRANSITIONS: Readonly<Record<AssignmentStatus, readonly AssignmentStatus[]>> = {
  unassigned: ['routed', 'claimed', 'closed'],
  routed: ['claimed', 'reassigned', 'unassigned', 'closed'],
  reassigned: ['routed', 'claimed', 'unassigned', 'closed'],
  claimed: ['in_progress', 'blocked', 'unassigned', 'closed'],
  in_progress: ['blocked', 'claimed', 'unassigned', 'closed'],
  blocked: ['in_progress', 'claimed', 'unassigned', 'closed'],
  closed: [],
};

export const canTransition = (from: AssignmentStatus, to: AssignmentStatus): boolean => TRANSITIONS[from].includes(to);

export type Transition = { ok: true; state: AssignmentState } | { ok: false; reason: string };

/** Moves to `to` when the machine allows it; otherwise says why (the caller audits the rejection). */
export function transition(s: AssignmentState, to: AssignmentStatus): Transition {
  if (s.status === to) return { ok: true, state: s };
  if (!canTransition(s.status, to))
    return {
      ok: false,
      reason: `${s.status} → ${to} is not allowed (from ${s.status}: ${TRANSITIONS[s.status].join(', ') || 'nothing'})`,
    };
  return { ok: true, state: { ...s, status: to, version: s.version + 1 } };
}

/** The person Threadline's routing asked, now the owner (they accepted in Slack or took it in Jira). */
export const ownerFromRouting = (
  cur: CurrentRouting,
  sinceMs: number,
  actor: AssignmentOwner['actor'],
): AssignmentOwner => ({
  person: cur.person,
  name: cur.name,
  slack: cur.slack,
  jira: cur.jira,
  by: 'threadline',
  sinceMs,
  ...(actor ? { actor } : {}),
});

/** Open: anything but closed. Owned (counts as someone's load): a person has it or is asked to take it. */
export const isOpen = (s: Pick<AssignmentState, 'status'>) => s.status !== 'closed';
export const LOAD_STATUSES: readonly AssignmentStatus[] = ['routed', 'claimed', 'in_progress', 'blocked'];

/** Routing runs when nobody has or is asked to take the issue, and no person or lead took it over. */
export const needsRouting = (s: AssignmentState): boolean =>
  (s.status === 'unassigned' || s.status === 'reassigned') && !s.overridden && !s.escalated;

export const SEEN_LIMIT = 500;
export const EXCLUDED_LIMIT = 100;

export const hasSeen = (s: AssignmentState, id: string) => s.seenIds.includes(id);
export const markSeen = (s: AssignmentState, ids: readonly string[]): AssignmentState => {
  const fresh = ids.filter((id) => !s.seenIds.includes(id));
  return fresh.length ? { ...s, seenIds: appendBounded(s.seenIds, fresh, SEEN_LIMIT).list } : s;
};

export function initialAssignmentState(input: AssignmentWorkflowInput, nowMs: number): AssignmentState {
  return {
    key: input.key,
    site: input.site,
    status: 'unassigned',
    issue: { key: input.key, id: '', project: input.key.split('-')[0] ?? input.key },
    issueAtMs: 0,
    attempt: 0,
    decisions: 0,
    excluded: [],
    timeouts: 0,
    escalated: false,
    overridden: false,
    seenIds: [],
    createdAtMs: nowMs,
    version: 0,
  };
}

/** Refreshes the issue snapshot unless the one we have is newer (late events never overwrite). */
export function applyIssue(s: AssignmentState, issue: TicketSnapshot, atMs: number): AssignmentState {
  if (atMs < s.issueAtMs) return s;
  const merged = { ...s.issue };
  for (const [k, v] of Object.entries(issue) as [keyof TicketSnapshot, unknown][])
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  return { ...s, issue: merged, issueAtMs: atMs };
}

const named = (list: string[], name: string) => list.some((x) => x.toLowerCase() === name.toLowerCase());

/**
 * What a Jira status means for the assignment: the `done` category closes it; a blocked status
 * blocks it; an in-progress status (or the `indeterminate` category) starts it; back in the `new`
 * category returns it to its owner (claimed). Undefined: no change (e.g. To Do with no owner).
 */
export function jiraStatusTarget(
  statuses: StatusMap,
  status: { name: string; category: string },
  hasOwner: boolean,
): AssignmentStatus | undefined {
  if (status.category === 'done') return 'closed';
  if (named(statuses.blocked, status.name)) return 'blocked';
  if (named(statuses.inProgress, status.name) || status.category === 'indeterminate') return 'in_progress';
  if (status.category === 'new' && hasOwner) return 'claimed';
  return undefined;
}

/** Default status names when no rule routed the issue yet. */
export const DEFAULT_STATUS_MAP: StatusMap = { inProgress: ['In Progress'], blocked: ['Blocked'] };

export type Drift =
  | { field: 'status'; ours: string | null; jira: string }
  /**
   * `jira`: Threadline's own assignee write never landed: write it again. `override`: a person
   * changed the assignee and we missed the event: record their choice (never fight it).
   * `claim`: the routed person took it in Jira themselves.
   */
  | { field: 'assignee'; repair: 'jira' | 'override' | 'claim'; ours: string | null; jira: string | null };

/**
 * Where our state and Jira disagree for one owned issue. Threadline owns the assignment's state
 * (repaired from Jira's status and assignee) and, while its own choice stands, the Jira assignee
 * it set; it never owns Jira's status.
 */
export function driftOf(
  s: Pick<AssignmentState, 'status' | 'issue' | 'owner' | 'current' | 'jiraWrite'>,
  jira: JiraAssignmentFacts,
): Drift[] {
  const out: Drift[] = [];
  const oursStatus = s.issue.status?.name ?? null;
  if (oursStatus !== jira.status.name) out.push({ field: 'status', ours: oursStatus, jira: jira.status.name });
  const jiraId = jira.assignee?.id ?? null;
  if (s.owner && s.status !== 'routed') {
    const ours = s.owner.jira ?? null;
    if (ours !== jiraId) {
      const ourWriteLanded = s.owner.by !== 'threadline' || s.jiraWrite?.outcome === 'ok';
      out.push({ field: 'assignee', repair: ourWriteLanded ? 'override' : 'jira', ours, jira: jiraId });
    }
  } else if (s.status === 'routed' && s.current && jiraId) {
    out.push({
      field: 'assignee',
      repair: jiraId === s.current.jira ? 'claim' : 'override',
      ours: null,
      jira: jiraId,
    });
  } else if ((s.status === 'unassigned' || s.status === 'reassigned') && jiraId) {
    out.push({ field: 'assignee', repair: 'override', ours: null, jira: jiraId });
  }
  return out;
}

const STATUS_WORDS: Record<AssignmentStatus, string> = {
  unassigned: 'needs an owner',
  routed: 'waiting for',
  claimed: 'owned by',
  in_progress: 'in progress with',
  blocked: 'blocked, owned by',
  reassigned: 'being reassigned',
  closed: 'closed',
};

/** One line for people: `OPS-12 · waiting for Bob Banker (attempt 2)`. */
export function assignmentLine(s: AssignmentState): string {
  const who =
    s.status === 'routed'
      ? `${s.current?.name ?? '?'} (attempt ${s.attempt})`
      : s.owner && s.status !== 'unassigned' && s.status !== 'reassigned' && s.status !== 'closed'
        ? s.owner.name
        : '';
  const notes = [
    s.overridden ? 'manual owner' : '',
    s.escalated ? 'escalated to the lead' : '',
    s.paused ? 'routing paused' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${s.key} · ${STATUS_WORDS[s.status]}${who ? ` ${who}` : ''}${notes ? ` (${notes})` : ''}`;
}

/** The generic answer to `/threadline status assignment:OPS-12`. */
export function assignmentStatusSummary(subject: string, s: AssignmentState, nowIso: string): SubjectStatus {
  return {
    subject,
    kind: 'assignment',
    status: s.status,
    summary: assignmentLine(s),
    updatedAt: s.issueAtMs ? new Date(s.issueAtMs).toISOString() : nowIso,
    link: s.issue.url,
    participants: [s.current?.slack, s.owner?.slack, s.policy?.lead?.slack].filter((x): x is string => !!x),
  };
}
