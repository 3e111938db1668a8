import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOT, SECRET, adf, receiver, start, type Received, type Started } from './helpers.js';

type Rx = Awaited<ReturnType<typeof receiver>>;

/** jira.js 5.4 throws an HttpException whose cause is the axios error. */
async function failure(p: Promise<unknown>): Promise<{ status?: number; data?: unknown }> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e as { status?: number; cause?: { response?: { data?: unknown } } },
  );
  if (!outcome) throw new Error('expected the call to fail');
  return { status: outcome.status, data: outcome.cause?.response?.data };
}

const signed = (r: Received) => {
  const expected = `sha256=${createHmac('sha256', SECRET).update(r.raw, 'utf8').digest('hex')}`;
  const got = String(r.headers['x-hub-signature'] ?? '');
  return got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
};

/** jira.js 5.4 types `permissions` as `{}`; Jira answers a map keyed by permission key. */
const havePermission = (r: { permissions?: unknown }) =>
  (r.permissions as Record<string, { havePermission?: boolean }> | undefined)?.DELETE_ISSUES?.havePermission;

let s: Started;
let rx: Rx;
beforeAll(async () => {
  s = await start({ webhookSecret: SECRET, rateLimits: false, webhookRetryDelaysMs: [20] });
});
afterAll(() => s.emu.stop());
beforeEach(async () => {
  await s.admin.reset();
  rx = await receiver();
  s.emu.setWebhookUrls([rx.url]);
});
afterEach(() => rx.close());

const deletedEvents = () => rx.got.filter((r) => r.body.webhookEvent === 'jira:issue_deleted');
const createTask = (summary: string) =>
  s.client.issues.createIssue({
    fields: { project: { key: 'OPS' }, summary, issuetype: { name: 'Task' }, description: adf('d') },
  });
const createSubtask = (parent: string, summary: string) =>
  s.client.issues.createIssue({
    fields: { project: { key: 'OPS' }, summary, issuetype: { name: 'Sub-task' }, parent: { key: parent } },
  });
/** Waits until every delivery so far has been answered, so absence of an event can be asserted. */
const settled = () => s.admin.waitFor(async () => (await s.admin.deliveries()).every((d) => !d.pending));

describe('jira emulator issue deletion', () => {
  it('DELETE issue answers 204, the issue is gone everywhere, and a signed jira:issue_deleted (v2) is sent', async () => {
    await createTask('Refund stuck');
    await s.client.issueComments.addComment({ issueIdOrKey: 'OPS-1', comment: adf('note') });
    await s.client.issues.deleteIssue({ issueIdOrKey: 'OPS-1' });

    const gone = await failure(s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' }));
    expect(gone.status).toBe(404);
    const found = await s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql: 'project = OPS' });
    expect(found.issues ?? []).toHaveLength(0);
    // Keys are not reused after a deletion.
    expect((await createTask('next')).key).toBe('OPS-2');

    const [del] = await s.admin.waitFor(() => (deletedEvents().length === 1 ? deletedEvents() : undefined));
    expect(signed(del!)).toBe(true);
    expect(del!.headers['x-atlassian-webhook-identifier']).toBeTruthy();
    expect(del!.body).toMatchObject({
      webhookEvent: 'jira:issue_deleted',
      issue_event_type_name: 'issue_deleted',
      user: { accountId: BOT },
      issue: { id: '10001', key: 'OPS-1', fields: { summary: 'Refund stuck', description: 'd' } },
    });
    expect(typeof del!.body.timestamp).toBe('number');
  });

  it('refuses (400) to delete an issue with sub-tasks unless deleteSubtasks=true, then deletes them first', async () => {
    await createTask('Parent');
    await createSubtask('OPS-1', 'Child A');
    await createSubtask('OPS-1', 'Child B');
    const parent = await s.client.issues.getIssue({ issueIdOrKey: 'OPS-1' });
    expect(parent.fields.subtasks?.map((t) => t.key)).toEqual(['OPS-2', 'OPS-3']);
    const child = await s.client.issues.getIssue({ issueIdOrKey: 'OPS-2' });
    expect(child.fields.parent?.key).toBe('OPS-1');
    expect(child.fields.issuetype?.subtask).toBe(true);
    const byParent = await s.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
      jql: 'parent = OPS-1 ORDER BY key',
    });
    expect(byParent.issues?.map((i) => i.key)).toEqual(['OPS-2', 'OPS-3']);

    const refused = await failure(s.client.issues.deleteIssue({ issueIdOrKey: 'OPS-1' }));
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.data)).toContain('deleteSubtasks');
    await settled();
    expect(deletedEvents()).toHaveLength(0);
    expect((await s.admin.issues()).map((i) => i.key)).toEqual(['OPS-1', 'OPS-2', 'OPS-3']);

    await s.client.issues.deleteIssue({ issueIdOrKey: 'OPS-1', deleteSubtasks: true });
    expect(await s.admin.issues()).toEqual([]);
    await s.admin.waitFor(() => deletedEvents().length >= 3);
    await settled();
    const keys = deletedEvents().map((r) => (r.body.issue as { key: string }).key);
    expect(keys.sort()).toEqual(['OPS-1', 'OPS-2', 'OPS-3']);
    const childEvent = deletedEvents().find((r) => (r.body.issue as { key: string }).key === 'OPS-2')!;
    expect(childEvent.body).toMatchObject({ issue: { fields: { parent: { key: 'OPS-1' } } } });
  });

  it('a sub-task needs a parent of the same project', async () => {
    await createTask('Parent');
    const missing = await failure(
      s.client.issues.createIssue({
        fields: { project: { key: 'OPS' }, summary: 'orphan', issuetype: { name: 'Sub-task' } },
      }),
    );
    expect(missing.status).toBe(400);
    expect(missing.data).toMatchObject({ errors: { parent: expect.stringContaining('parent') } });
    const wrongProject = await failure(
      s.client.issues.createIssue({
        fields: { project: { key: 'SUP' }, summary: 'x', issuetype: { name: 'Sub-task' }, parent: { key: 'OPS-1' } },
      }),
    );
    expect(wrongProject.status).toBe(400);
  });

  it('403 without the Delete Issues permission (reported by mypermissions); 404 for an unknown issue', async () => {
    await createTask('Keep me');
    await s.admin.setPermission({ project: 'OPS', permission: 'DELETE_ISSUES', granted: false });
    const perms = await s.client.permissions.getMyPermissions({ projectKey: 'OPS', permissions: 'DELETE_ISSUES' });
    expect(havePermission(perms)).toBe(false);
    const denied = await failure(s.client.issues.deleteIssue({ issueIdOrKey: 'OPS-1' }));
    expect(denied.status).toBe(403);
    expect((await s.admin.issues()).map((i) => i.key)).toEqual(['OPS-1']);

    await s.admin.setPermission({ project: 'OPS', permission: 'DELETE_ISSUES', granted: true });
    const allowed = await s.client.permissions.getMyPermissions({ projectKey: 'OPS', permissions: 'DELETE_ISSUES' });
    expect(havePermission(allowed)).toBe(true);
    const unknown = await failure(s.client.issues.deleteIssue({ issueIdOrKey: 'OPS-99' }));
    expect(unknown.status).toBe(404);
    await settled();
    expect(deletedEvents()).toHaveLength(0);
  });

  it('a person deletes an issue through the admin API: the webhook names them as the actor', async () => {
    await s.admin.createIssue({ as: 'alice@example.com', project: 'SUP', summary: 'Customer call' });
    const out = await s.admin.deleteIssue('SUP-1', 'carol@example.com');
    expect(out.deleted).toEqual(['SUP-1']);
    const [del] = await s.admin.waitFor(() => (deletedEvents().length === 1 ? deletedEvents() : undefined));
    expect(del!.body).toMatchObject({ user: { accountId: '712020:carol' }, issue: { key: 'SUP-1' } });
  });
});
