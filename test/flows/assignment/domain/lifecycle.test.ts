import { describe, expect, it } from 'vitest';
import { ASSIGNMENT_STATUSES, type AssignmentState } from '../../../../src/flows/assignment/contract.js';
import {
  canTransition,
  DEFAULT_STATUS_MAP,
  driftOf,
  initialAssignmentState,
  jiraStatusTarget,
  needsRouting,
  transition,
} from '../../../../src/flows/assignment/domain/lifecycle.js';

const base = (): AssignmentState =>
  initialAssignmentState({ key: 'OPS-1', site: 'jira.example', opsChannel: 'C0OPS', flagRecheckMs: 60_000 }, 0);

describe('the assignment state machine', () => {
  it('follows unassigned → routed → claimed → in_progress → blocked → closed and rejects the rest', () => {
    let s = base();
    for (const to of ['routed', 'claimed', 'in_progress', 'blocked', 'in_progress', 'closed'] as const) {
      const t = transition(s, to);
      expect(t.ok).toBe(true);
      if (t.ok) s = t.state;
    }
    expect(s.status).toBe('closed');
    const after = transition(s, 'routed');
    expect(after).toEqual({ ok: false, reason: 'closed → routed is not allowed (from closed: nothing)' });
    expect(transition(base(), 'in_progress')).toMatchObject({ ok: false });
    expect(canTransition('routed', 'reassigned')).toBe(true);
    expect(canTransition('reassigned', 'routed')).toBe(true);
    expect(canTransition('unassigned', 'blocked')).toBe(false);
    for (const from of ASSIGNMENT_STATUSES) expect(canTransition(from, 'closed')).toBe(from !== 'closed');
  });

  it('routes only while nobody has it and no person or lead took it over', () => {
    expect(needsRouting(base())).toBe(true);
    expect(needsRouting({ ...base(), overridden: true })).toBe(false);
    expect(needsRouting({ ...base(), escalated: true })).toBe(false);
    expect(needsRouting({ ...base(), status: 'claimed' })).toBe(false);
  });

  it('maps Jira statuses: done closes, Blocked blocks, In Progress starts, back to To Do returns it to the owner', () => {
    expect(jiraStatusTarget(DEFAULT_STATUS_MAP, { name: 'Done', category: 'done' }, true)).toBe('closed');
    expect(jiraStatusTarget(DEFAULT_STATUS_MAP, { name: 'Blocked', category: 'indeterminate' }, true)).toBe('blocked');
    expect(jiraStatusTarget(DEFAULT_STATUS_MAP, { name: 'In Progress', category: 'indeterminate' }, true)).toBe(
      'in_progress',
    );
    expect(jiraStatusTarget(DEFAULT_STATUS_MAP, { name: 'To Do', category: 'new' }, true)).toBe('claimed');
    expect(jiraStatusTarget(DEFAULT_STATUS_MAP, { name: 'To Do', category: 'new' }, false)).toBeUndefined();
  });
});

describe('drift between our state and Jira', () => {
  const owned: AssignmentState = {
    ...base(),
    status: 'claimed',
    issue: { key: 'OPS-1', id: '1', project: 'OPS', status: { name: 'To Do', category: 'new' } },
    owner: { person: 'bob', name: 'Bob', jira: 'j:bob', slack: 'U0BOB', by: 'threadline', sinceMs: 1 },
    jiraWrite: { accountId: 'j:bob', outcome: 'ok', atMs: 1 },
  };
  const jira = (assignee: string | null, status = 'To Do') => ({
    key: 'OPS-1',
    assignee: assignee ? { id: assignee, name: assignee } : null,
    status: { name: status, category: status === 'To Do' ? ('new' as const) : ('indeterminate' as const) },
  });

  it('finds nothing when both agree', () => expect(driftOf(owned, jira('j:bob'))).toEqual([]));
  it('repairs our own assignee write that never landed', () =>
    expect(driftOf({ ...owned, jiraWrite: { accountId: 'j:bob', outcome: 'failed', atMs: 1 } }, jira(null))).toEqual([
      { field: 'assignee', repair: 'jira', ours: 'j:bob', jira: null },
    ]));
  it('records a person’s change it missed instead of fighting it', () =>
    expect(driftOf(owned, jira('j:carol', 'In Progress'))).toEqual([
      { field: 'status', ours: 'To Do', jira: 'In Progress' },
      { field: 'assignee', repair: 'override', ours: 'j:bob', jira: 'j:carol' },
    ]));
  it('notices the routed person took it in Jira themselves', () =>
    expect(
      driftOf(
        {
          ...owned,
          status: 'routed',
          owner: undefined,
          current: {
            attempt: 1,
            decisionId: 'd',
            person: 'bob',
            name: 'Bob',
            slack: 'U0BOB',
            jira: 'j:bob',
            routedAtMs: 1,
          },
        },
        jira('j:bob'),
      ),
    ).toEqual([{ field: 'assignee', repair: 'claim', ours: null, jira: 'j:bob' }]));
});
