import type { Version3Client } from 'jira.js';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { TicketPerson, TicketSnapshot } from '../../flows/tickets/contract.js';
import type {
  CommentOrigin,
  DoneTransition,
  TrackerClient,
  TrackerStatus,
  WrittenComment,
} from '../../flows/tickets/tracker.js';
import { FailureType } from '../../platform/temporal/failure-types.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { commentToAdf, textToAdfParagraphs } from './adf.js';
import { classifyJiraError, toJiraActivityFailure } from './errors.js';
import { issueSnapshot, jiraIssueSchema } from './webhook.js';

/** Comment property marking a comment Threadline wrote from Slack (team, channel, ts, user). */
export const ORIGIN_PROPERTY = 'threadline.origin';
/** Issue property marking an issue filed from Slack (the request id, so a retry finds it). */
export const REQUEST_PROPERTY = 'threadline.request';

/** Fields the thread root shows; asked for explicitly (GET issue defaults to every field). */
const SNAPSHOT_FIELDS = ['summary', 'issuetype', 'priority', 'status', 'assignee', 'project', 'labels', 'components'];
/** How far back a retried comment looks for the one an ambiguous attempt may have written. */
const ORIGIN_LOOKBACK = 50;

const writtenComment = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  updated: z.string(),
});
const account = z.object({
  accountId: z.string().min(1),
  displayName: z.string().optional(),
  emailAddress: z.string().optional(),
});
const statusJson = z.object({
  id: z.string().optional(),
  name: z.string(),
  statusCategory: z.object({ key: z.string() }).loose().optional(),
});
const transitionsJson = z.object({
  transitions: z.array(z.object({ id: z.string(), name: z.string(), to: statusJson.loose() }).loose()),
});
const commentsPage = z.object({
  comments: z.array(
    writtenComment.extend({ properties: z.array(z.object({ key: z.string(), value: z.unknown() })).optional() }),
  ),
});
const searchPage = z.object({
  issues: z.array(jiraIssueSchema.extend({ properties: z.record(z.string(), z.unknown()).optional() })),
});

function statusOf(s: z.infer<typeof statusJson>): TrackerStatus {
  const key = s.statusCategory?.key;
  return {
    id: s.id,
    name: s.name,
    category: key === 'new' || key === 'indeterminate' || key === 'done' ? key : 'unknown',
  };
}

/**
 * Jira Cloud as the ticket flow's tracker (REST v3 through jira.js). Every call is classified
 * (errors.ts) into the ApplicationFailure the activity retry policy understands and counted in
 * `threadline_external_calls_total{system="jira"}`; responses we depend on are validated.
 */
export function createJiraTracker(deps: { client: Version3Client; metrics?: Metrics }): TrackerClient {
  const { client } = deps;
  const count = (method: string, outcome: string) =>
    deps.metrics?.externalCalls.inc({ system: 'jira', method, outcome });

  async function call<T>(method: string, fn: () => Promise<unknown>, schema?: z.ZodType<T>): Promise<T> {
    let res: unknown;
    const timer = deps.metrics?.externalCallDuration.startTimer({ system: 'jira', method });
    try {
      res = await fn();
      timer?.({ outcome: 'ok' });
    } catch (err) {
      const c = classifyJiraError(err);
      count(method, c.kind);
      timer?.({ outcome: c.kind });
      deps.metrics?.externalCallErrors.inc({ system: 'jira', method, code: c.error });
      throw toJiraActivityFailure(method, c);
    }
    if (!schema) {
      count(method, 'ok');
      return res as T;
    }
    const parsed = schema.safeParse(res);
    if (!parsed.success) {
      count(method, 'invalid_response');
      // Jira answered something we cannot read: retrying will not change its shape.
      throw ApplicationFailure.create({
        type: FailureType.Permanent,
        message: `Jira ${method}: unexpected response (${parsed.error.issues[0]?.path.join('.') ?? '?'})`,
        nonRetryable: true,
        details: [{ system: 'jira', method, kind: 'permanent', error: 'invalid_response' }],
      });
    }
    count(method, 'ok');
    return parsed.data;
  }

  const originMatches = (value: unknown, origin: CommentOrigin) => {
    const v = value as Partial<CommentOrigin> | null;
    return v?.system === origin.system && v.channel === origin.channel && v.ts === origin.ts;
  };

  async function currentStatus(key: string): Promise<TrackerStatus> {
    const issue = await call(
      'issues.getIssue',
      () => client.issues.getIssue({ issueIdOrKey: key, fields: ['status'] }),
      z.object({ fields: z.object({ status: statusJson.loose() }).loose() }),
    );
    return statusOf(issue.fields.status);
  }

  return {
    name: 'jira',

    async self(): Promise<TicketPerson> {
      const me = await call('myself.getCurrentUser', () => client.myself.getCurrentUser(), account.loose());
      return { id: me.accountId, name: me.displayName ?? me.accountId };
    },

    async findPersonByEmail(email) {
      const found = await call(
        'userSearch.findUsers',
        () => client.userSearch.findUsers({ query: email, maxResults: 10 }),
        z.array(account.loose()),
      );
      // Only an exact, visible email counts: a fuzzy match would attribute words to the wrong person.
      const hit = found.find((u) => u.emailAddress?.toLowerCase() === email.toLowerCase());
      return hit ? { id: hit.accountId, name: hit.displayName ?? hit.accountId } : undefined;
    },

    async addComment({ key, draft, origin }): Promise<WrittenComment> {
      return call(
        'issueComments.addComment',
        () =>
          client.issueComments.addComment({
            issueIdOrKey: key,
            comment: commentToAdf(draft),
            properties: [{ key: ORIGIN_PROPERTY, value: origin }],
          }),
        // Only the id and stamp: the rest (author with email) never reaches workflow history.
        writtenComment,
      );
    },

    async findCommentByOrigin({ key, origin }) {
      const page = await call(
        'issueComments.getComments',
        () =>
          client.issueComments.getComments({
            issueIdOrKey: key,
            orderBy: '-created',
            maxResults: ORIGIN_LOOKBACK,
            expand: 'properties',
          }),
        commentsPage.loose(),
      );
      const hit = page.comments.find((c) =>
        c.properties?.some((p) => p.key === ORIGIN_PROPERTY && originMatches(p.value, origin)),
      );
      return hit ? { id: hit.id, updated: hit.updated } : undefined;
    },

    async updateComment({ key, commentId, draft }) {
      return call(
        'issueComments.updateComment',
        () => client.issueComments.updateComment({ issueIdOrKey: key, id: commentId, body: commentToAdf(draft) }),
        // Only the id and stamp: the rest (author with email) never reaches workflow history.
        writtenComment,
      );
    },

    async deleteComment({ key, commentId }) {
      await call('issueComments.deleteComment', () =>
        client.issueComments.deleteComment({ issueIdOrKey: key, id: commentId }),
      );
    },

    async transitionToDone({ key }): Promise<DoneTransition> {
      const from = await currentStatus(key);
      if (from.category === 'done') return { outcome: 'already_done', status: from };
      const { transitions } = await call(
        'issues.getTransitions',
        () => client.issues.getTransitions({ issueIdOrKey: key }),
        transitionsJson.loose(),
      );
      // Transition ids differ per project and workflow: pick by the target's category, never by id.
      const done = transitions.find((t) => t.to.statusCategory?.key === 'done');
      if (!done) return { outcome: 'no_done_transition', status: from, available: transitions.map((t) => t.name) };
      await call('issues.doTransition', () =>
        client.issues.doTransition({ issueIdOrKey: key, transition: { id: done.id } }),
      );
      return { outcome: 'transitioned', from, to: statusOf(done.to), transitionId: done.id };
    },

    async createIssue(input): Promise<TicketSnapshot> {
      const created = await call(
        'issues.createIssue',
        () =>
          client.issues.createIssue({
            fields: {
              project: { key: input.project },
              summary: input.summary,
              issuetype: { name: input.issueType },
              ...(input.priority ? { priority: { name: input.priority } } : {}),
              ...(input.labels?.length ? { labels: input.labels } : {}),
              ...(input.components?.length ? { components: input.components.map((name) => ({ name })) } : {}),
              description: { type: 'doc', version: 1, content: textToAdfParagraphs(input.description) },
            },
            properties: [{ key: REQUEST_PROPERTY, value: { requestId: input.requestId } }],
          }),
        z.object({ key: z.string() }).loose(),
      );
      const issue = await call(
        'issues.getIssue',
        () => client.issues.getIssue({ issueIdOrKey: created.key, fields: SNAPSHOT_FIELDS }),
        jiraIssueSchema,
      );
      return issueSnapshot(issue);
    },

    async findIssueByRequest({ project, requestId }) {
      const page = await call(
        'issueSearch.searchForIssuesUsingJqlEnhancedSearchPost',
        () =>
          client.issueSearch.searchForIssuesUsingJqlEnhancedSearchPost({
            jql: `project = "${project.replace(/["\\]/g, '')}" AND reporter = currentUser() ORDER BY created DESC`,
            fields: SNAPSHOT_FIELDS,
            properties: [REQUEST_PROPERTY],
            maxResults: 20,
          }),
        searchPage.loose(),
      );
      const hit = page.issues.find(
        (i) => (i.properties?.[REQUEST_PROPERTY] as { requestId?: string } | undefined)?.requestId === requestId,
      );
      return hit ? issueSnapshot(hit) : undefined;
    },
  };
}
