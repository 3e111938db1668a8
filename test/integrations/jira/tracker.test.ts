import { createServer } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { Version3Client } from 'jira.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultJiraSeed } from '../../../emulators/jira/seed.js';
import { classifyJiraError, toJiraActivityFailure } from '../../../src/integrations/jira/errors.js';
import { createJiraClient } from '../../../src/integrations/jira/client.js';
import { ORIGIN_PROPERTY, REQUEST_PROPERTY, createJiraTracker } from '../../../src/integrations/jira/tracker.js';
import { createMetrics } from '../../../src/platform/observability/metrics.js';
import type { TrackerClient } from '../../../src/flows/tickets/tracker.js';
import { BOT, EMAIL, TOKEN, receiver, start, type Started } from '../../emulators/jira/helpers.js';

/** A third project whose workflow has no status in the done category (so ✅ has nowhere to go). */
const seed = {
  ...defaultJiraSeed,
  projects: [
    ...defaultJiraSeed.projects,
    {
      id: '10009',
      key: 'TRI',
      name: 'Triage',
      issueTypes: [{ id: '10001', name: 'Task' }],
      statuses: [
        { id: '10000', name: 'To Do', category: 'new' as const },
        { id: '10001', name: 'In Progress', category: 'indeterminate' as const },
      ],
      transitions: [{ id: '7', name: 'Start', from: ['To Do'], to: 'In Progress' }],
    },
  ],
};

const origin = (ts: string) => ({ system: 'slack' as const, team: 'T1', channel: 'C0TICKETS', ts, user: 'U0ALICE' });
const draft = (text: string) => ({ text, author: { name: 'Alice Admin', trackerAccountId: '712020:alice' } });

/** What a tracker call throws, as the ApplicationFailure the activity retry policy sees. */
async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('Jira as the ticket tracker (jira.js against the emulator)', () => {
  let s: Started;
  let tracker: TrackerClient;
  let metrics: ReturnType<typeof createMetrics>;
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    s = await start({ rateLimits: false, seed });
    rx = await receiver();
    s.emu.setWebhookUrls([rx.url]);
  });
  afterAll(async () => {
    await s.emu.stop();
    await rx.close();
  });
  beforeEach(async () => {
    await s.admin.reset();
    rx.got.length = 0;
    metrics = createMetrics();
    tracker = createJiraTracker({ client: s.client, metrics });
  });
  const issue = (project = 'OPS') =>
    s.admin.createIssue({ as: 'alice@example.com', project, summary: 'Broken', issuetype: 'Task' });

  it('knows its own account and finds people by exact email only', async () => {
    expect(await tracker.self()).toEqual({ id: BOT, name: 'Threadline Bot' });
    expect(await tracker.findPersonByEmail('Carol@Example.com')).toEqual({
      id: '712020:carol',
      name: 'Carol Controller',
    });
    expect(await tracker.findPersonByEmail('car')).toBeUndefined(); // a prefix matches in search, never here
    expect(await tracker.findPersonByEmail('nobody@example.com')).toBeUndefined();
  });

  it('writes a comment as ADF with the author as a mention and the origin property; finds it by origin; edits and deletes it', async () => {
    const { key } = await issue();
    const written = await tracker.addComment({
      key,
      draft: draft('Refund issued\n\nSee ticket'),
      origin: origin('1.1'),
    });
    const stored = (await s.admin.issue(key)).comments[0]!;
    expect(stored.id).toBe(written.id);
    expect(stored.body).toEqual({
      type: 'doc',
      version: 1,
      content: [
        { type: 'paragraph', content: [{ type: 'text', text: 'Refund issued' }] },
        { type: 'paragraph', content: [{ type: 'text', text: 'See ticket' }] },
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: '— via Slack by ', marks: [{ type: 'em' }] },
            { type: 'mention', attrs: { id: '712020:alice', text: '@Alice Admin' } },
          ],
        },
      ],
    });
    expect(stored.properties).toEqual([{ key: ORIGIN_PROPERTY, value: origin('1.1') }]);
    expect(await tracker.findCommentByOrigin({ key, origin: origin('1.1') })).toEqual(written);
    expect(await tracker.findCommentByOrigin({ key, origin: origin('9.9') })).toBeUndefined();
    const edited = await tracker.updateComment({ key, commentId: written.id, draft: draft('Refund issued (EU)') });
    expect(edited.id).toBe(written.id);
    expect(edited.updated).not.toBe(written.updated);
    // The stamps our writes got are the ones their echoes carry (the write ledger compares them).
    const echoes = await s.admin.waitFor(() =>
      rx.got.some((r) => r.body.webhookEvent === 'comment_updated') ? rx.got : undefined,
    );
    const stamp = (event: string) =>
      echoes.filter((r) => r.body.webhookEvent === event).map((r) => (r.body.comment as { updated: string }).updated);
    expect(stamp('comment_created')).toEqual([written.updated]);
    expect(stamp('comment_updated')).toEqual([edited.updated]);
    await tracker.deleteComment({ key, commentId: written.id });
    expect((await s.admin.issue(key)).comments).toEqual([]);
    const f = await failure(tracker.updateComment({ key, commentId: written.id, draft: draft('again') }));
    expect(f).toMatchObject({ type: 'ThreadlinePermanent', nonRetryable: true });
    expect(f.details?.[0]).toMatchObject({ system: 'jira', kind: 'not_found', status: 404 });
  });

  it('moves an issue to done through its own transitions (OPS 31, SUP 5); already done; no done transition', async () => {
    const ops = await issue('OPS');
    expect(await tracker.transitionToDone({ key: ops.key })).toEqual({
      outcome: 'transitioned',
      from: { id: '10000', name: 'To Do', category: 'new' },
      to: { id: '10002', name: 'Done', category: 'done' },
      transitionId: '31',
    });
    const sup = await issue('SUP');
    expect(await tracker.transitionToDone({ key: sup.key })).toMatchObject({
      outcome: 'transitioned',
      transitionId: '5',
    });
    expect(await tracker.transitionToDone({ key: sup.key })).toEqual({
      outcome: 'already_done',
      status: { id: '10002', name: 'Done', category: 'done' },
    });
    const tri = await issue('TRI');
    expect(await tracker.transitionToDone({ key: tri.key })).toMatchObject({
      outcome: 'no_done_transition',
      status: { name: 'To Do' },
      available: ['Start'],
    });
  });

  it('files an issue stamped with its request id, and a retry finds it instead of filing twice', async () => {
    const filed = await tracker.createIssue({
      project: 'OPS',
      summary: 'Printer on fire',
      issueType: 'Bug',
      priority: 'High',
      labels: ['slack'],
      components: ['Platform'],
      description: 'Filed from Slack by Alice Admin.',
      requestId: 'req-1',
    });
    expect(filed).toMatchObject({
      key: 'OPS-1',
      summary: 'Printer on fire',
      type: 'Bug',
      priority: 'High',
      labels: ['slack'],
      components: ['Platform'],
    });
    expect((await s.admin.issue('OPS-1')).properties).toEqual({ [REQUEST_PROPERTY]: { requestId: 'req-1' } });
    expect(await tracker.findIssueByRequest({ project: 'OPS', requestId: 'req-1' })).toMatchObject({ key: 'OPS-1' });
    expect(await tracker.findIssueByRequest({ project: 'OPS', requestId: 'req-2' })).toBeUndefined();
    const bad = await failure(
      tracker.createIssue({ project: 'OPS', summary: 'x', issueType: 'Epic', description: '', requestId: 'r' }),
    );
    expect(bad.details?.[0]).toMatchObject({
      kind: 'permanent',
      status: 400,
      error: expect.stringContaining('issuetype'),
    });
  });

  it('counts every call in threadline_external_calls_total{system="jira"} by outcome', async () => {
    const { key } = await issue();
    await tracker.addComment({ key, draft: draft('hi'), origin: origin('2.2') });
    await failure(tracker.deleteComment({ key, commentId: '999999' }));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /threadline_external_calls_total\{system="jira",method="issueComments.addComment",outcome="ok"\} 1/,
    );
    expect(text).toMatch(
      /threadline_external_calls_total\{system="jira",method="issueComments.deleteComment",outcome="not_found"\} 1/,
    );
  });
});

describe('the Jira error table (errors jira.js really throws)', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ rateLimits: false });
  });
  afterAll(() => s.emu.stop());
  beforeEach(() => s.admin.reset());

  const thrown = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: unknown) => e,
    );

  it('429 → rate limited with Retry-After, retried after exactly that delay', async () => {
    await s.admin.injectFault({ method: 'GET /rest/api/3/myself', kind: 'ratelimit', retryAfter: 7 });
    const c = classifyJiraError(await thrown(s.client.myself.getCurrentUser()));
    expect(c).toEqual({ kind: 'rate_limited', status: 429, retryAfterSec: 7, error: 'http_429: Rate limit exceeded.' });
    const f = toJiraActivityFailure('myself.getCurrentUser', c);
    expect(f).toMatchObject({ type: 'ThreadlineRateLimited', nonRetryable: false, nextRetryDelay: '7s' });
  });

  it('401 (bad token) and 403 → auth, non-retryable; 404 → not found; 400 → permanent naming Jira’s reason', async () => {
    const wrong = new Version3Client({
      host: s.emu.url,
      authentication: { basic: { email: EMAIL, apiToken: `${TOKEN}x` } },
    });
    expect(classifyJiraError(await thrown(wrong.myself.getCurrentUser()))).toMatchObject({ kind: 'auth', status: 401 });
    await s.admin.injectFault({ method: 'GET /rest/api/3/myself', kind: 'error', status: 403, error: 'Forbidden' });
    const forbidden = classifyJiraError(await thrown(s.client.myself.getCurrentUser()));
    expect(forbidden).toEqual({ kind: 'auth', status: 403, error: 'http_403: Forbidden' });
    expect(toJiraActivityFailure('m', forbidden)).toMatchObject({ type: 'ThreadlineAuthRevoked', nonRetryable: true });
    expect(classifyJiraError(await thrown(s.client.issues.getIssue({ issueIdOrKey: 'OPS-404' })))).toMatchObject({
      kind: 'not_found',
      status: 404,
    });
    const { key } = await s.admin.createIssue({ as: 'alice@example.com', project: 'OPS', summary: 'x' });
    const bad = classifyJiraError(
      await thrown(s.client.issues.doTransition({ issueIdOrKey: key, transition: { id: '999' } })),
    );
    expect(bad).toEqual({
      kind: 'permanent',
      status: 400,
      error: "http_400: Transition id '999' is not valid for this issue.",
    });
    await s.admin.injectFault({ method: 'GET /rest/api/3/myself', kind: 'status', status: 503 });
    expect(classifyJiraError(await thrown(s.client.myself.getCurrentUser()))).toMatchObject({
      kind: 'transient',
      status: 503,
      ambiguous: true,
    });
  });

  it('no answer: a lost answer after commit is transient and ambiguous; a refused connection is transient, not ambiguous', async () => {
    const { key } = await s.admin.createIssue({ as: 'alice@example.com', project: 'OPS', summary: 'x' });
    await s.admin.injectFault({ method: 'POST /rest/api/3/issue/{issueIdOrKey}/comment', kind: 'commit_then_timeout' });
    const lost = classifyJiraError(
      await thrown(s.client.issueComments.addComment({ issueIdOrKey: key, comment: 'hi' })),
    );
    expect(lost).toMatchObject({ kind: 'transient', ambiguous: true });
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const nowhere = createJiraClient({
      host: `http://127.0.0.1:${port}`,
      email: EMAIL,
      apiToken: TOKEN,
      timeoutMs: 2000,
    });
    expect(classifyJiraError(await thrown(nowhere.myself.getCurrentUser()))).toEqual({
      kind: 'transient',
      error: 'ECONNREFUSED',
      ambiguous: false,
    });
  });

  it('Retry-After as an HTTP date, or missing, still waits', () => {
    const now = Date.parse('2024-05-01T10:00:00Z');
    const axios = (headers: Record<string, unknown>) => ({
      status: 429,
      cause: { isAxiosError: true, response: { status: 429, headers, data: {} } },
    });
    expect(classifyJiraError(axios({ 'retry-after': 'Wed, 01 May 2024 10:00:30 GMT' }), now)).toMatchObject({
      retryAfterSec: 30,
    });
    expect(classifyJiraError(axios({}), now)).toMatchObject({ retryAfterSec: 5 });
  });
});
