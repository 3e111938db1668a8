import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Version3Client } from 'jira.js';
import { z } from 'zod';
import { createJiraClient } from '../../integrations/jira/client.js';
import { jiraCaller } from '../../integrations/jira/call.js';
import { createFlags, type Flags } from '../../platform/flags/repo.js';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Counter, Registry } from 'prom-client';
import { registeredCounter, type Metrics } from '../../platform/observability/metrics.js';
import { FailureType } from '../../platform/temporal/failure-types.js';
import type { TicketOwnerNotice } from '../tickets/contract.js';
import type { AssignmentConfig } from './config.js';
import {
  assignmentNoticeSignal,
  assignmentReconcileScheduleId,
  assignmentReconcileWorkflowId,
  assignmentWorkflowId,
  type AssignmentReconcileInput,
  type AssignmentPolicy,
  type AssignmentState,
  type AssignmentWorkflowInput,
  type JiraAssignmentFacts,
  type RouteAnswer,
  type RouteRequest,
} from './contract.js';
import { decideRouting } from './domain/routing.js';
import { firstMatchingRule, personBySlack, type AssignmentRules } from './domain/rules.js';
import { assignmentsRepo, type AssignmentsRepo } from './repo.js';
import { createRulesStore, type RulesStore } from './rules.js';
import type { assignmentReconcileWorkflow, assignmentWorkflow } from './workflow.js';

/** The feature flag that switches assignment routing per project, channel and workspace. */
export const ASSIGNMENT_FLAG = 'assignment';

/** Jira's side of owned issues: the enhanced search (`/rest/api/3/search/jql`, `nextPageToken`). */
export type JiraFactsReader = (input: {
  keys: string[];
  nextPageToken?: string;
  pageSize: number;
}) => Promise<{ issues: JiraAssignmentFacts[]; nextPageToken?: string }>;

export interface AssignmentActivityDeps {
  rules: RulesStore | undefined;
  flags: Pick<Flags, 'evaluate'>;
  repo: AssignmentsRepo;
  /** Sets (or clears, `null`) the Jira assignee. */
  assign: (input: { key: string; accountId: string | null }) => Promise<void>;
  /** Starts or signals `assignment:<KEY>` with the ticket thread's notice. */
  tell: (notice: TicketOwnerNotice) => Promise<void>;
  readJira?: JiraFactsReader;
  /** `threadline_assignment_drift_total` (`assignmentDriftCounter`); uncounted when absent. */
  drift?: Counter<'field' | 'repair'>;
  now?: () => number;
}

/** The rule's knobs the workflow keeps for the issue (its version stays in force for it). */
export function policyOf(rules: AssignmentRules, ruleId: string): AssignmentPolicy {
  const rule = rules.rules.find((r) => r.id === ruleId)!;
  const lead = rule.lead ? rules.people[rule.lead] : undefined;
  return {
    ruleId: rule.id,
    ruleVersion: rules.version,
    ackTimeoutMs: rule.ackTimeoutMs,
    maxReassigns: rule.maxReassigns,
    ...(lead ? { lead: { person: lead.id, name: lead.name, slack: lead.slack, jira: lead.jira } } : {}),
    ...(rule.leadChannel ? { leadChannel: rule.leadChannel } : {}),
    reclaim: rule.reclaim,
    statuses: rule.statuses,
    pools: Object.keys(rules.pools).sort(),
  };
}

/**
 * Assignment activities: the routing decision (rules in force, feature flag, loads and cursors
 * from our records; stored under its id, so a retried attempt answers the same), the Jira
 * assignee write, the saved state, and the hand-off from ticket threads.
 */
export function createAssignmentActivities(deps: AssignmentActivityDeps) {
  const now = deps.now ?? Date.now;
  return {
    /** Implements the ticket flow's `TicketOwnerActivities`: a no-op while no rules are configured or the flag is off globally. */
    async tellTicketOwner(notice: TicketOwnerNotice): Promise<void> {
      if (!deps.rules) return;
      // Switched off everywhere: nothing is started. Off for a scope only: the assignment starts and pauses (audited).
      const flag = await deps.flags.evaluate(ASSIGNMENT_FLAG, {
        project: notice.issue.project,
        ...(notice.thread ? { channel: notice.thread.channel } : {}),
      });
      if (!flag.enabled && (flag.decidedBy === 'global' || flag.decidedBy === 'default')) return;
      await deps.tell(notice);
    },

    async routeAssignment(req: RouteRequest): Promise<RouteAnswer> {
      const stored = await deps.repo.decision(req.decisionId);
      if (stored) return { outcome: 'decided', ...stored };
      if (!deps.rules) return { outcome: 'disabled', scope: 'config', reason: 'no assignment rules are configured' };
      const flag = await deps.flags.evaluate(ASSIGNMENT_FLAG, req.scope);
      if (!flag.enabled) return { outcome: 'disabled', scope: flag.decidedBy, reason: flag.reason };
      const rules = await deps.rules.current();
      const issue = {
        key: req.key,
        project: req.issue.project,
        type: req.issue.type,
        priority: req.issue.priority,
        labels: req.issue.labels,
        components: req.issue.components,
      };
      const poolOverride = req.pool && rules.pools[req.pool.pool] ? req.pool : undefined;
      const [loads, cursors] = await Promise.all([deps.repo.loads(req.site, req.key), deps.repo.cursors(req.site)]);
      const decision = decideRouting({
        rules,
        issue,
        loads,
        cursors,
        excluded: req.excluded,
        ...(poolOverride ? { poolOverride } : {}),
        nowMs: now(),
      });
      const policy = policyOf(rules, firstMatchingRule(rules, issue).rule.id);
      const recorded = await deps.repo.recordDecision({
        id: req.decisionId,
        site: req.site,
        key: req.key,
        decision,
        policy,
      });
      return { outcome: 'decided', ...recorded };
    },

    async setJiraAssignee(input: { key: string; accountId: string | null }): Promise<void> {
      await deps.assign(input);
    },

    async saveAssignment(state: AssignmentState): Promise<void> {
      await deps.repo.save(state);
    },

    async loadAssignment(input: { site: string; key: string }): Promise<AssignmentState | undefined> {
      return deps.repo.get(input.site, input.key);
    },

    /** The open assignments of a site, as last saved (reconciliation compares them with Jira). */
    async listOpenAssignments(input: { site: string; limit: number }): Promise<AssignmentState[]> {
      return (await deps.repo.open(input.site)).slice(0, input.limit);
    },

    async readJiraAssignments(input: { keys: string[]; nextPageToken?: string; pageSize: number }) {
      if (!deps.readJira)
        throw ApplicationFailure.create({
          type: FailureType.Permanent,
          message: 'Jira is not configured',
          nonRetryable: true,
        });
      return deps.readJira(input);
    },

    /** `threadline_assignment_drift_total`, one per difference found. */
    async countAssignmentDrift(input: { drifts: { field: string; repair: string }[] }): Promise<void> {
      for (const d of input.drifts) deps.drift?.inc({ field: d.field, repair: d.repair });
    },

    /** The pools a person may pick in the reassign modal (the rules in force). */
    /**
     * The Jira account of a Slack user from the rules' roster (people carry both ids), so a handover
     * in Slack sets the Jira assignee; `null` for someone the roster does not know.
     */
    async jiraAccountOfSlackUser(input: { slack: string }): Promise<{ accountId: string | null; name?: string }> {
      const found = deps.rules ? personBySlack(await deps.rules.current(), input.slack) : undefined;
      return found ? { accountId: found.jira, name: found.name } : { accountId: null };
    },

    async assignmentPools(): Promise<string[]> {
      return deps.rules ? Object.keys((await deps.rules.current()).pools).sort() : [];
    },
  };
}
export type AssignmentActivities = ReturnType<typeof createAssignmentActivities>;

/** Differences reconciliation found between Jira and an assignment, on the process's registry. */
export function assignmentDriftCounter(registry: Registry): Counter<'field' | 'repair'> {
  return registeredCounter(registry, {
    name: 'threadline_assignment_drift_total',
    help: 'Differences reconciliation found between Jira and an assignment (field: status | assignee; repair: status | jira | override | claim)',
    labelNames: ['field', 'repair'],
  });
}

/** Jira's `PUT /rest/api/3/issue/{key}/assignee`, classified by the Jira error table. */
export function jiraAssigner(client: Version3Client, metrics?: Metrics) {
  const call = jiraCaller(metrics);
  return async (input: { key: string; accountId: string | null }): Promise<void> => {
    await call('issues.assignIssue', () =>
      client.issues.assignIssue({ issueIdOrKey: input.key, accountId: input.accountId }),
    );
  };
}

const factsSchema = z.object({
  issues: z.array(
    z.object({
      key: z.string(),
      fields: z.object({
        assignee: z.object({ accountId: z.string(), displayName: z.string().optional() }).nullish(),
        status: z.object({
          id: z.string().optional(),
          name: z.string(),
          statusCategory: z.object({ key: z.string() }).optional(),
        }),
      }),
    }),
  ),
  nextPageToken: z.string().optional(),
});
const CATEGORIES = new Set(['new', 'indeterminate', 'done']);
const literal = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;

/**
 * Reads owned issues' assignee and status with the enhanced search (`key in (…)`, one page of
 * `pageSize` at a time, `nextPageToken`); rate limits come back classified (Retry-After) by the
 * Jira error table, so the activity's retry policy respects them.
 */
export function jiraFactsReader(client: Version3Client, metrics?: Metrics): JiraFactsReader {
  const call = jiraCaller(metrics);
  return async (input) => {
    const res = await call(
      'issueSearch.searchForIssuesUsingJqlEnhancedSearch',
      () =>
        client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
          jql: `key in (${input.keys.map(literal).join(', ')}) ORDER BY key ASC`,
          fields: ['assignee', 'status'],
          maxResults: input.pageSize,
          ...(input.nextPageToken ? { nextPageToken: input.nextPageToken } : {}),
        }),
      factsSchema,
    );
    return {
      issues: res.issues.map((i) => {
        const category = i.fields.status.statusCategory?.key ?? 'unknown';
        return {
          key: i.key,
          assignee: i.fields.assignee
            ? { id: i.fields.assignee.accountId, name: i.fields.assignee.displayName ?? i.fields.assignee.accountId }
            : null,
          status: {
            ...(i.fields.status.id ? { id: i.fields.status.id } : {}),
            name: i.fields.status.name,
            category: (CATEGORIES.has(category) ? category : 'unknown') as JiraAssignmentFacts['status']['category'],
          },
        };
      }),
      ...(res.nextPageToken ? { nextPageToken: res.nextPageToken } : {}),
    };
  };
}

/** signalWithStart `assignment:<KEY>`: one Temporal call; the workflow dedups the notice by its event ids. */
export function assignmentTeller(
  temporal: Client,
  opts: { taskQueue: string; site: string; opsChannel: string; flagRecheckMs: number; workspace?: string },
) {
  return async (notice: TicketOwnerNotice): Promise<void> => {
    const input: AssignmentWorkflowInput = {
      key: notice.key,
      site: opts.site,
      opsChannel: opts.opsChannel,
      flagRecheckMs: opts.flagRecheckMs,
      ...(opts.workspace ? { workspace: opts.workspace } : {}),
    };
    try {
      await temporal.workflow.signalWithStart<typeof assignmentWorkflow, [TicketOwnerNotice]>('assignmentWorkflow', {
        workflowId: assignmentWorkflowId(notice.key),
        taskQueue: opts.taskQueue,
        args: [input],
        signal: assignmentNoticeSignal,
        signalArgs: [notice],
      });
    } catch (err) {
      throw ApplicationFailure.create({
        type: FailureType.Transient,
        message: `could not tell ${notice.key}'s assignment: ${err instanceof Error ? err.message.slice(0, 200) : 'error'}`,
      });
    }
  };
}

/** The rules store, reporting reloads in the log (a failed reload names the rule and field; the previous rules stay). */
export function rulesStoreFor(cfg: AssignmentConfig, logger: Logger): RulesStore | undefined {
  if (!cfg.rules) return undefined;
  return createRulesStore({
    initial: cfg.rules,
    source: cfg.rulesSource,
    onEvent: (e) =>
      e.kind === 'loaded'
        ? logger.info({ version: e.version, previous: e.previous }, 'assignment rules reloaded')
        : logger.error(
            { problems: e.problems, kept: e.keptVersion },
            'assignment rules reload failed; the previous rules stay',
          ),
  });
}

/** The worker's factory (flow.ts). Without Jira settings the flow registers no activities. */
export function assignmentActivities(ctx: FlowWorkerContext<AssignmentConfig>) {
  const jira = ctx.config.jira;
  if (!jira) return {};
  const client = createJiraClient({
    ...jira,
    pacing: { pool: ctx.pool, metrics: ctx.metrics, issueWriteIntervalMs: jira.issueWriteIntervalMs },
  });
  return createAssignmentActivities({
    rules: rulesStoreFor(ctx.flowConfig, ctx.logger),
    flags: createFlags({ pool: ctx.pool, config: ctx.config.flags }),
    repo: assignmentsRepo(ctx.pool),
    assign: jiraAssigner(client, ctx.metrics),
    readJira: jiraFactsReader(client, ctx.metrics),
    drift: ctx.metrics ? assignmentDriftCounter(ctx.metrics.registry) : undefined,
    tell: assignmentTeller(ctx.temporal, {
      taskQueue: ctx.config.temporal.taskQueue,
      site: siteOf(jira.host),
      opsChannel: ctx.config.slack.opsChannel,
      flagRecheckMs: ctx.flowConfig.flagRecheckMs,
      ...(ctx.config.flags.workspace ? { workspace: ctx.config.flags.workspace } : {}),
    }),
  });
}

/** The Jira site's host name (loads, cursors and reconciliation are per site). */
export const siteOf = (host: string): string => new URL(host).host;

/** Open assignments compared per reconciliation pass. */
const RECONCILE_MAX_ISSUES = 5_000;

/**
 * Creates the reconciliation Schedule when the worker starts (idempotent: an existing Schedule
 * gets the configured interval). One per task queue; overlapping passes are skipped.
 */
export async function assignmentOnStart(ctx: FlowWorkerContext<AssignmentConfig>): Promise<void> {
  const jira = ctx.config.jira;
  if (!jira || !ctx.flowConfig.rules) return;
  const taskQueue = ctx.config.temporal.taskQueue;
  const scheduleId = assignmentReconcileScheduleId(taskQueue);
  const args: [AssignmentReconcileInput] = [
    { site: siteOf(jira.host), pageSize: ctx.flowConfig.reconcilePageSize, maxIssues: RECONCILE_MAX_ISSUES },
  ];
  const spec = { intervals: [{ every: ctx.flowConfig.reconcileEveryMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'assignmentReconcileWorkflow',
    workflowId: assignmentReconcileWorkflowId(taskQueue),
    taskQueue,
    args,
  };
  try {
    await ctx.temporal.schedule.create<typeof assignmentReconcileWorkflow>({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await ctx.temporal.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
  }
}
