import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { inject } from 'vitest';
import type { InspectedMessage } from '../../../../emulators/slack/admin-client.js';
import {
  assignmentReconcileScheduleId,
  assignmentReconcileWorkflowId,
  assignmentStateQuery,
  assignmentWorkflowId,
  RECONCILE_SUBJECT,
  type AssignmentState,
} from '../../../../src/flows/assignment/contract.js';
import { SANDBOX_RULES_YAML } from '../../../../src/flows/assignment/rules.js';
import { auditLogRepo, slackMessagesRepo, type AuditRow } from '../../../../src/platform/db/repositories.js';
import { testDataConverter } from '../../../helpers/temporal.js';
import type { TestStack } from '../../../helpers/stack.js';
import { startTicketsStack, ticketsHarness, type Projects } from '../../tickets/e2e/helpers.js';

/**
 * The sandbox rules plus a `fast` rule (issues labelled `fast`: 2 s to answer, one reassignment,
 * then the lead), so the ack-timeout tests wait seconds, not half an hour. The OPS rule matches
 * any project here (the test file's projects have keys of their own).
 */
export const TEST_RULES = SANDBOX_RULES_YAML.replace(
  `rules:
  - id: ops
    match: { projects: [OPS] }`,
  `rules:
  - id: fast
    match: { labels: [fast] }
    pool: ops
    ackTimeout: 2s
    maxReassigns: 1
    lead: alice
    leadChannel: C0ESCALATE
  - id: ops
    match: { issueTypes: [Bug, Task] }`,
);

export const SLACK_OF: Record<string, string> = { bob: 'U0BOB', carol: 'U0CAROL', dave: 'U0DAVE', alice: 'U0ALICE' };
export const JIRA_OF: Record<string, string> = {
  bob: '712020:bob',
  carol: '712020:carol',
  dave: '712020:dave',
  alice: '712020:alice',
};

/** The ticket stack with assignment rules of this file, and what a test reads of an assignment. */
export async function startAssignmentStack(env: Record<string, string> = {}) {
  const { stack, projects } = await startTicketsStack({
    TICKET_MERGE_WINDOW: '200ms',
    ASSIGNMENT_RULES: TEST_RULES,
    ASSIGNMENT_FLAG_RECHECK: '1s',
    THREADLINE_FLAGS: '',
    ...env,
  });
  return { stack, projects, h: assignmentHarness(stack, projects) };
}

export function assignmentHarness(stack: TestStack, projects: Projects) {
  const t = ticketsHarness(stack, projects);
  let client: Promise<{ client: Client; connection: Connection }> | undefined;
  const temporal = () =>
    (client ??= Connection.connect({ address: inject('temporalAddress') }).then((connection) => ({
      connection,
      client: new Client({ connection, dataConverter: testDataConverter() }),
    })));

  const trail = (key: string): Promise<AuditRow[]> => auditLogRepo(t.pool).bySubject(`ticket:${key}`);
  const rows = async (key: string, action: string) => (await trail(key)).filter((r) => r.action === action);

  /** Waits for the `n`-th audit row with this action; returns all of them. */
  const waitRows = (key: string, action: string, n = 1, timeoutMs = 30_000) =>
    t.slack.waitFor(async () => {
      const found = await rows(key, action);
      return found.length >= n ? found : undefined;
    }, timeoutMs);

  /** The DMs asking someone to take the issue, in order. */
  const dms = async (key: string) =>
    (await slackMessagesRepo(t.pool).bySubject(assignmentWorkflowId(key))).filter((r) => r.purpose === 'assignment_dm');

  /** The `n`-th DM, as the person sees it now. */
  async function dm(key: string, n: number): Promise<InspectedMessage> {
    const row = await t.slack.waitFor(async () => (await dms(key))[n - 1], 30_000);
    return t.slack.message(row.channel, row.ts);
  }

  async function state(key: string): Promise<AssignmentState> {
    const { client: c } = await temporal();
    return c.workflow.getHandle(assignmentWorkflowId(key)).query(assignmentStateQuery);
  }

  /**
   * The assignment is idle: every Jira delivery answered, the ticket thread has handled every
   * earlier event (its marker reply), and the assignment workflow has no pending activity and
   * its history ends with a completed workflow task, twice in a row.
   */
  async function idle(key: string): Promise<void> {
    await t.settle(key);
    const { client: c } = await temporal();
    const handle = c.workflow.getHandle(assignmentWorkflowId(key));
    let quietReads = 0;
    await t.slack.waitFor(async () => {
      const d = await handle.describe();
      const history = await handle.fetchHistory();
      const last = history.events?.at(-1)?.eventType;
      const quiet =
        (d.raw.pendingActivities ?? []).length === 0 &&
        (d.status.name !== 'RUNNING' || last === proto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      quietReads = quiet ? quietReads + 1 : 0;
      return quietReads >= 2 ? true : undefined;
    }, 30_000);
  }

  /** The workflow's history as stored (encoded; `recordFixture` decodes it). */
  async function history(key: string) {
    const { client: c } = await temporal();
    return (await c.workflow.getHandle(assignmentWorkflowId(key)).fetchHistory()).events ?? [];
  }
  /** Any workflow run's history (e.g. a reconciliation pass). */
  async function runHistory(workflowId: string, runId: string) {
    const { client: c } = await temporal();
    return (await c.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  }
  async function result(key: string) {
    const { client: c } = await temporal();
    return c.workflow.getHandle(assignmentWorkflowId(key)).result();
  }

  /** Runs the reconciliation Schedule now (as its hourly tick would) and waits for the pass's summary row. */
  async function reconcileNow(): Promise<AuditRow> {
    const mine = async () =>
      (await auditLogRepo(t.pool).bySubject(RECONCILE_SUBJECT)).filter((r) =>
        (r.correlationId ?? '').startsWith(assignmentReconcileWorkflowId(stack.taskQueue)),
      );
    const before = (await mine()).length;
    const { client: c } = await temporal();
    await c.schedule.getHandle(assignmentReconcileScheduleId(stack.taskQueue)).trigger();
    return t.slack.waitFor(async () => (await mine())[before], 30_000);
  }

  return {
    ...t,
    reconcileNow,
    runHistory,
    history,
    result,
    trail,
    rows,
    waitRows,
    dms,
    dm,
    state,
    idle,
    async close() {
      await t.close();
      if (client) await (await client).connection.close();
    },
  };
}
