import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Version3Client } from 'jira.js';
import { BOT, EMAIL, adf, start, type Started } from './helpers.js';

/** Pulls status/headers/body out of what jira.js 5.4 throws (HttpException wrapping the axios error). */
function httpErr(e: unknown) {
  const err = e as {
    status?: number;
    response?: { data?: unknown };
    cause?: { response?: { status: number; headers: Record<string, string>; data: unknown } };
  };
  return { status: err.status, headers: err.cause?.response?.headers ?? {}, data: err.cause?.response?.data };
}
async function caught(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return httpErr(e);
  }
  throw new Error('expected the call to fail');
}

/** Jira Cloud's /search/jql answers carry `isLast`; jira.js 5.4's type omits it. */
const isLast = (r: object) => (r as { isLast?: boolean }).isLast;

let s: Started;
beforeAll(async () => {
  s = await start({ rateLimits: false });
});
afterAll(() => s.emu.stop());
beforeEach(async () => {
  await s.admin.reset();
  await s.admin.setRateLimits({ enabled: false });
});

const create = (summary = 'Payment stuck', project = 'OPS') =>
  s.client.issues.createIssue({
    fields: { project: { key: project }, summary, issuetype: { name: 'Task' }, description: adf('details here') },
  });

describe('jira emulator REST via jira.js', () => {
  it('GET /myself returns the integration account', async () => {
    const me = await s.client.myself.getCurrentUser();
    expect(me.accountId).toBe(BOT);
    expect(me.emailAddress).toBe(EMAIL);
    expect(me.accountType).toBe('atlassian');
  });

  it('finds users by email and accountId', async () => {
    const found = await s.client.userSearch.findUsers({ query: 'bob@example.com' });
    expect(found.map((u) => u.accountId)).toEqual(['712020:bob']);
    const u = await s.client.users.getUser({ accountId: '712020:carol' });
    expect(u.displayName).toBe('Carol Controller');
  });

  it('creates and reads an issue with Jira shapes', async () => {
    const created = await create();
    expect(created).toEqual({ id: '10001', key: 'OPS-1', self: `${s.emu.url}/rest/api/3/issue/10001` });
    const second = await create('second', 'SUP');
    expect(second.key).toBe('SUP-1');
    expect(second.id).toBe('10002');

    const issue = await s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' });
    expect(issue.fields.summary).toBe('Payment stuck');
    expect(issue.fields.description).toEqual(adf('details here'));
    expect(issue.fields.status).toMatchObject({
      id: '10000',
      name: 'To Do',
      statusCategory: { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' },
    });
    expect(issue.fields.reporter?.accountId).toBe(BOT);
    expect(issue.fields.priority?.name).toBe('Medium');
    expect(issue.fields.issuetype?.name).toBe('Task');
    expect(issue.fields.project.key).toBe('OPS');
    expect(issue.fields.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(issue.fields.comment).toMatchObject({ comments: [], total: 0, startAt: 0 });
  });

  it('rejects a create without summary with a field error, and unknown issues with 404', async () => {
    const e = await caught(
      s.client.issues.createIssue({ fields: { project: { key: 'OPS' }, issuetype: { name: 'Task' } } as never }),
    );
    expect(e.status).toBe(400);
    expect(e.data).toEqual({ errorMessages: [], errors: { summary: 'You must specify a summary of the issue.' } });

    const bad = await caught(
      s.client.issues.createIssue({
        fields: {
          project: { key: 'OPS' },
          issuetype: { name: 'Task' },
          summary: 'x',
          description: { type: 'paragraph', content: [] } as never,
        },
      }),
    );
    expect(bad.status).toBe(400);
    expect(Object.keys((bad.data as { errors: object }).errors)).toEqual(['description']);

    const nf = await caught(s.client.issues.getIssue({ issueIdOrKey: 'OPS-999' }));
    expect(nf.status).toBe(404);
    expect(nf.data).toEqual({
      errorMessages: ['Issue does not exist or you do not have permission to see it.'],
      errors: {},
    });
  });

  it('edits fields and label ops, recording changelog items', async () => {
    await create();
    await s.client.issues.editIssue({
      issueIdOrKey: 'OPS-1',
      fields: { summary: 'Renamed', labels: ['a', 'b'], priority: { name: 'High' } },
      historyMetadata: { type: 'threadline', description: 'sync' },
    });
    await s.client.issues.editIssue({ issueIdOrKey: 'OPS-1', update: { labels: [{ add: 'c' }, { remove: 'a' }] } });
    const issue = await s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' });
    expect(issue.fields.summary).toBe('Renamed');
    expect(issue.fields.labels).toEqual(['b', 'c']);
    expect(issue.fields.priority?.name).toBe('High');

    const log = await s.client.issues.getChangeLogs({ issueIdOrKey: 'OPS-1' });
    expect(log.total).toBe(2);
    const first = log.values?.[0];
    expect(first?.author?.accountId).toBe(BOT);
    expect(first?.items).toContainEqual(
      expect.objectContaining({ field: 'summary', fromString: 'Payment stuck', toString: 'Renamed' }),
    );
    expect(log.values?.[1]?.items).toEqual([
      expect.objectContaining({ field: 'labels', fieldId: 'labels', fromString: 'a b', toString: 'b c' }),
    ]);

    const unknown = await caught(s.client.issues.editIssue({ issueIdOrKey: 'OPS-1', fields: { nope: 1 } }));
    expect(unknown.status).toBe(400);
    expect((unknown.data as { errors: Record<string, string> }).errors.nope).toMatch(/cannot be set/);
  });

  it('assigns and unassigns', async () => {
    await create();
    await s.client.issues.assignIssue({ issueIdOrKey: 'OPS-1', accountId: '712020:dave' });
    expect((await s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' })).fields.assignee?.displayName).toBe(
      'Dave Developer',
    );
    await s.client.issues.assignIssue({ issueIdOrKey: 'OPS-1', accountId: null });
    expect((await s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' })).fields.assignee).toBeNull();
  });

  it('lists transitions per project and finds Done by status category, not id', async () => {
    await create('ops');
    await create('sup', 'SUP');
    const ops = await s.client.issues.getTransitions({ issueIdOrKey: 'OPS-1' });
    const sup = await s.client.issues.getTransitions({ issueIdOrKey: 'SUP-1' });
    const doneOps = ops.transitions?.find((t) => t.to?.statusCategory?.key === 'done');
    const doneSup = sup.transitions?.find((t) => t.to?.statusCategory?.key === 'done');
    expect(doneOps?.id).toBe('31');
    expect(doneSup?.id).toBe('5');
    // Reopen is not offered from To Do.
    expect(ops.transitions?.map((t) => t.id).sort()).toEqual(['21', '31']);

    await s.client.issues.doTransition({ issueIdOrKey: 'SUP-1', transition: { id: doneSup!.id! } });
    const issue = await s.client.issues.getIssue({ issueIdOrKey: 'SUP-1' });
    expect(issue.fields.status.statusCategory?.key).toBe('done');
    expect(issue.fields.resolution?.name).toBe('Done');

    // The OPS id does not exist in SUP, and Done is not valid from Done.
    const wrong = await caught(s.client.issues.doTransition({ issueIdOrKey: 'SUP-1', transition: { id: '31' } }));
    expect(wrong.status).toBe(400);
    expect(wrong.data).toEqual({ errorMessages: ["Transition id '31' is not valid for this issue."], errors: {} });
  });

  it('supports comment CRUD with ADF bodies and properties', async () => {
    await create();
    const c = await s.client.issueComments.addComment({
      issueIdOrKey: 'OPS-1',
      comment: adf('hello from slack'),
      properties: [{ key: 'threadline', value: { origin: 'slack', ts: '1.2' } }],
    });
    expect(c.id).toBeTruthy();
    expect(c.author?.accountId).toBe(BOT);
    expect(c.body).toEqual(adf('hello from slack'));
    expect(c.created).toMatch(/\+0000$/);

    const prop = await s.client.issueCommentProperties.getCommentProperty({
      commentId: c.id!,
      propertyKey: 'threadline',
    });
    expect(prop.value).toEqual({ origin: 'slack', ts: '1.2' });
    await s.client.issueCommentProperties.setCommentProperty({
      commentId: c.id!,
      propertyKey: 'second',
      property: { n: 2 },
    });

    const updated = await s.client.issueComments.updateComment({
      issueIdOrKey: 'OPS-1',
      id: c.id!,
      body: adf('edited'),
    });
    expect(updated.body).toEqual(adf('edited'));

    const list = await s.client.issueComments.getComments({ issueIdOrKey: 'OPS-1', expand: 'properties' });
    expect(list.total).toBe(1);
    expect(list.comments?.[0]?.properties).toEqual([
      { key: 'threadline', value: { origin: 'slack', ts: '1.2' } },
      { key: 'second', value: { n: 2 } },
    ]);

    await s.client.issueComments.deleteComment({ issueIdOrKey: 'OPS-1', id: c.id! });
    const gone = await caught(s.client.issueComments.getComment({ issueIdOrKey: 'OPS-1', id: c.id! }));
    expect(gone.status).toBe(404);
  });

  it('stores issue properties and enforces the 32768-char limit', async () => {
    await create();
    await s.client.issueProperties.setIssueProperty({
      issueIdOrKey: 'OPS-1',
      propertyKey: 'threadline.link',
      propertyValue: { thread: 'C1/1.2' },
    });
    const p = await s.client.issueProperties.getIssueProperty({
      issueIdOrKey: 'OPS-1',
      propertyKey: 'threadline.link',
    });
    expect(p).toEqual({ key: 'threadline.link', value: { thread: 'C1/1.2' } });

    const big = await caught(
      s.client.issueProperties.setIssueProperty({
        issueIdOrKey: 'OPS-1',
        propertyKey: 'big',
        propertyValue: { s: 'x'.repeat(32768) },
      }),
    );
    expect(big.status).toBe(400);
    expect((big.data as { errorMessages: string[] }).errorMessages[0]).toMatch(/32768/);

    await s.client.issueProperties.deleteIssueProperty({ issueIdOrKey: 'OPS-1', propertyKey: 'threadline.link' });
    const gone = await caught(
      s.client.issueProperties.getIssueProperty({ issueIdOrKey: 'OPS-1', propertyKey: 'threadline.link' }),
    );
    expect(gone.status).toBe(404);
  });

  it('searches with the enhanced JQL endpoint (key in, project, AND, ORDER BY, paging)', async () => {
    await create('one');
    await create('two');
    await create('three', 'SUP');
    await s.client.issues.assignIssue({ issueIdOrKey: 'OPS-2', accountId: '712020:erin' });

    const byKey = await s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
      jql: 'key in (OPS-1, SUP-1) ORDER BY created DESC',
      fields: ['summary', 'status'],
    });
    expect(byKey.issues?.map((i) => i.key)).toEqual(['SUP-1', 'OPS-1']);
    expect(byKey.issues?.[0]?.fields?.summary).toBe('three');
    expect(isLast(byKey)).toBe(true);

    const ops = await s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearchPost({
      jql: 'project = OPS AND status = "To Do" AND assignee = 712020:erin',
      fields: ['summary'],
    });
    expect(ops.issues?.map((i) => i.key)).toEqual(['OPS-2']);

    const page1 = await s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
      jql: 'project = OPS ORDER BY created ASC',
      maxResults: 1,
    });
    expect(page1.issues?.map((i) => i.key)).toEqual(['OPS-1']);
    expect(isLast(page1)).toBe(false);
    const page2 = await s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
      jql: 'project = OPS ORDER BY created ASC',
      maxResults: 1,
      nextPageToken: page1.nextPageToken!,
    });
    expect(page2.issues?.map((i) => i.key)).toEqual(['OPS-2']);
    expect(isLast(page2)).toBe(true);

    const bad = await caught(s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql: 'project = = OPS' }));
    expect(bad.status).toBe(400);
    expect((bad.data as { errorMessages: string[] }).errorMessages.length).toBe(1);
    const nope = await caught(s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql: 'project = NOPE' }));
    expect(nope.status).toBe(400);
  });

  it('answers the legacy /search with 410 like Jira Cloud, unless enabled', async () => {
    await create();
    const gone = await caught(s.client.issueSearch.searchForIssuesUsingJql({ jql: 'project = OPS' }));
    expect(gone.status).toBe(410);
    await s.admin.config({ legacySearch: true });
    const res = await s.client.issueSearch.searchForIssuesUsingJql({ jql: 'key in (OPS-1)' });
    expect(res.total).toBe(1);
    expect(res.issues?.[0]?.fields.summary).toBe('Payment stuck');
    await s.admin.config({ legacySearch: false });
  });

  it('rejects bad credentials with 401', async () => {
    const bad = new Version3Client({ host: s.emu.url, authentication: { basic: { email: EMAIL, apiToken: 'wrong' } } });
    const e = await caught(bad.myself.getCurrentUser());
    expect(e.status).toBe(401);
    expect(e.data).toBe('Client must be authenticated to access this resource.');
  });

  it('rate limits per-issue writes: jira.js sees 429 with Retry-After', async () => {
    await create();
    await s.admin.setRateLimits({ enabled: true, issueWritePerSec: 0.2, issueWriteBurst: 2 });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((n) => s.client.issueComments.addComment({ issueIdOrKey: 'OPS-1', comment: adf(`c${n}`) })),
    );
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(rejected).toHaveLength(2);
    const e = httpErr(rejected[0]!.reason);
    expect(e.status).toBe(429);
    expect(Number(e.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(e.headers['ratelimit-reason']).toBe('jira-per-issue-on-write');
    // Reads of the same issue are not write-limited.
    await expect(s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' })).resolves.toBeTruthy();
  });

  it('injects faults by route key, including commit_then_timeout', async () => {
    await create();
    await s.admin.injectFault({ method: 'GET /rest/api/3/issue/{key}', kind: 'error', status: 503, error: 'boom' });
    const e = await caught(s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' }));
    expect(e.status).toBe(503);
    expect(e.data).toEqual({ errorMessages: ['boom'], errors: {} });
    await expect(s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' })).resolves.toBeTruthy();

    await s.admin.injectFault({ method: '*', kind: 'ratelimit', retryAfter: 7 });
    const rl = await caught(s.client.myself.getCurrentUser());
    expect(rl.status).toBe(429);
    expect(rl.headers['retry-after']).toBe('7');

    await s.admin.injectFault({ method: 'POST /rest/api/3/issue/{issueIdOrKey}/comment', kind: 'commit_then_timeout' });
    await expect(s.client.issueComments.addComment({ issueIdOrKey: 'OPS-1', comment: adf('once') })).rejects.toThrow();
    const view = await s.admin.issue('OPS-1');
    expect(view.comments).toHaveLength(1);
    const calls = await s.admin.calls();
    expect(calls.at(-1)).toMatchObject({ routeKey: 'POST /rest/api/3/issue/{issueIdOrKey}/comment', status: null });
  });
});
