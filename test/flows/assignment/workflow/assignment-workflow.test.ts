import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignmentNoticeSignal,
  assignmentStateQuery,
  assignmentWorkflowId,
  type AssignmentState,
  type AssignmentWorkflowInput,
  type RouteRequest,
} from '../../../../src/flows/assignment/contract.js';
import { policyOf } from '../../../../src/flows/assignment/activities.js';
import { decideRouting, type RoutingDecision } from '../../../../src/flows/assignment/domain/routing.js';
import { parseAssignmentRules, SANDBOX_RULES_YAML } from '../../../../src/flows/assignment/rules.js';
import type { TicketOwnerNotice } from '../../../../src/flows/tickets/contract.js';
import { slackActionUpdate } from '../../../../src/platform/slack/contract.js';
import { CONTINUE_AS_NEW_IN_WAIT_PATCH } from '../../../../src/platform/temporal/workflow/continue-as-new.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { patchMarkers, runsOf, scheduledActivities } from '../../../helpers/history.js';
import { memoryPlatformActivities, startMemoryWorker } from '../../../helpers/memory-worker.js';

const parsed = parseAssignmentRules(SANDBOX_RULES_YAML);
if (!parsed.ok) throw new Error('sandbox rules must parse');
const rules = parsed.rules;

/**
 * The assignment workflow on the real Temporal dev server with in-memory activities: the
 * platform's (exactly-once posts, audit) and a routing activity that runs the real decision
 * function over the sandbox rules, storing each decision under its id like the database does.
 */
describe('assignmentWorkflow (real Temporal, in-memory activities)', () => {
  const platform = memoryPlatformActivities();
  const decisions = new Map<string, RoutingDecision>();
  const saved: AssignmentState[] = [];
  const assignee: { key: string; accountId: string | null }[] = [];
  let w: Awaited<ReturnType<typeof startMemoryWorker>>;

  beforeAll(async () => {
    w = await startMemoryWorker(
      {
        ...platform.activities,
        openSlackView: async () => ({ viewId: 'V1' }),
        reportPermanentFailure: async () => undefined,
        saveAssignment: async (s: AssignmentState) => {
          saved.push(s);
        },
        loadAssignment: async () => undefined,
        setJiraAssignee: async (i: { key: string; accountId: string | null }) => {
          assignee.push(i);
        },
        routeAssignment: async (req: RouteRequest) => {
          const decision =
            decisions.get(req.decisionId) ??
            decideRouting({
              rules,
              issue: { key: req.key, project: req.issue.project },
              loads: {},
              cursors: {},
              excluded: req.excluded,
              nowMs: 0,
            });
          decisions.set(req.decisionId, decision);
          return { outcome: 'decided' as const, decision, policy: policyOf(rules, decision.ruleId) };
        },
      },
      'assignment',
    );
  });
  afterAll(async () => {
    await w?.stop();
  });

  const notice = (key: string, n: number, over: Partial<TicketOwnerNotice> = {}): TicketOwnerNotice => ({
    key,
    tracker: 'jira',
    eventIds: [`e${n}`],
    issue: { key, id: '1', project: 'OPS', status: { name: 'To Do', category: 'new' }, assignee: null },
    issueAtMs: 1_000 + n,
    created: false,
    deleted: false,
    changes: [],
    ...over,
  });

  it('continues as new while it waits for an answer, routing once, then takes Accept and closes on Done', async () => {
    const key = `OPS-${randomUUID()
      .slice(0, 8)
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, 'A')}`;
    const workflowId = assignmentWorkflowId(key);
    const input: AssignmentWorkflowInput = {
      key,
      site: 'jira.test',
      opsChannel: 'C0OPSALERT',
      flagRecheckMs: 60_000,
      continueAsNewAfterEvents: 40,
    };
    const handle = await w.client.workflow.signalWithStart('assignmentWorkflow', {
      workflowId,
      taskQueue: w.taskQueue,
      args: [input],
      signal: assignmentNoticeSignal,
      signalArgs: [notice(key, 0, { created: true })],
    });
    const routed = async () => {
      for (;;) {
        const s = await handle.query(assignmentStateQuery);
        if (s.status === 'routed') return s;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await routed();
    // Chatter from the ticket thread (status notices that change nothing) grows history past the threshold.
    for (let n = 1; n <= 30; n++)
      await handle.signal(
        assignmentNoticeSignal,
        notice(key, n, {
          changes: [{ eventId: `e${n}`, field: 'status', from: 'To Do', to: 'To Do', byUs: false, atMs: n }],
        }),
      );
    let runs = await runsOf(w.client, workflowId);
    while (runs.length < 2) {
      await new Promise((r) => setTimeout(r, 100));
      runs = await runsOf(w.client, workflowId);
    }
    // Every notice applied (some were queued when a run handed over, and carried).
    let s = await routed();
    while (!s.seenIds.includes('e30')) {
      await new Promise((r) => setTimeout(r, 50));
      s = await routed();
    }
    expect(s.decisions).toBe(1);
    // A duplicate of an applied notice is dropped by the carried seen ids.
    await handle.signal(assignmentNoticeSignal, notice(key, 3));

    const result = await handle.executeUpdate(slackActionUpdate, {
      args: [
        {
          interactionId: 'T1',
          verb: 'assignment.accept',
          user: s.current!.slack,
          value: String(s.current!.attempt),
          triggerId: 'T1',
        },
      ],
    });
    expect(result).toMatchObject({ accepted: true });
    await expect(
      handle.executeUpdate(slackActionUpdate, {
        args: [{ interactionId: 'T2', verb: 'assignment.accept', user: s.current!.slack, value: '1', triggerId: 'T2' }],
      }),
    ).rejects.toThrow();
    await handle.signal(
      assignmentNoticeSignal,
      notice(key, 99, {
        issue: { key, id: '1', project: 'OPS', status: { name: 'Done', category: 'done' } },
        changes: [{ eventId: 'e99', field: 'status', from: 'To Do', to: 'Done', byUs: false, atMs: 99 }],
      }),
    );
    expect(await handle.result()).toMatchObject({ key, status: 'closed', owner: { jira: s.current!.jira } });

    runs = await runsOf(w.client, workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const run of runs.slice(0, -1)) {
      expect(run.events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      expect(patchMarkers(run.events)).toContain(CONTINUE_AS_NEW_IN_WAIT_PATCH);
    }
    // Exactly once across runs: one decision, one DM, one Jira write.
    const all = runs.flatMap((r) => scheduledActivities(r.events));
    expect(all.filter((a) => a === 'routeAssignment')).toHaveLength(1);
    expect(all.filter((a) => a === 'setJiraAssignee')).toHaveLength(1);
    expect(platform.posts.filter((p) => p.subject === workflowId && p.purpose === 'assignment_dm')).toHaveLength(1);
    expect(assignee.filter((a) => a.key === key)).toEqual([{ key, accountId: s.current!.jira }]);
    const actions = platform.audits.filter((a) => a.subject === `ticket:${key}`).map((a) => a.action);
    expect(actions).toEqual(['assignment.routed', 'assignment.accepted', 'assignment.closed']);
    expect(saved.filter((x) => x.key === key).at(-1)?.status).toBe('closed');

    await recordFixture('assignment-continue-as-new', runs[0]!.events);
    await recordFixture('assignment-carried', runs.at(-1)!.events);
  });
});
