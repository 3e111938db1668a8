import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOT, SECRET, adf, receiver, start, type Received, type Started } from './helpers.js';

type Rx = Awaited<ReturnType<typeof receiver>>;

/** Independent check of `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. */
function signatureValid(r: Received): boolean {
  const header = String(r.headers['x-hub-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', SECRET).update(r.raw, 'utf8').digest('hex')}`;
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}
const event = (r: Received) =>
  `${String(r.body.webhookEvent)}/${(r.body.issue_event_type_name as string | undefined) ?? ''}`;

let s: Started;
let rx: Rx;
let failFirst = false;
beforeAll(async () => {
  s = await start({ webhookSecret: SECRET, rateLimits: false, webhookRetryDelaysMs: [20, 20, 20] });
});
afterAll(() => s.emu.stop());
beforeEach(async () => {
  await s.admin.reset();
  failFirst = false;
  rx = await receiver((_r, n) => (failFirst && n === 1 ? 500 : 200));
  s.emu.setWebhookUrls([rx.url]);
});
afterEach(() => rx.close());

const createViaRest = () =>
  s.client.issues.createIssue({
    fields: {
      project: { key: 'OPS' },
      summary: 'Refund failed',
      issuetype: { name: 'Task' },
      description: adf('Customer was charged twice'),
    },
  });

describe('jira emulator webhooks', () => {
  it('signs deliveries and sends v2 (string) bodies; REST changes by the integration account echo back', async () => {
    await createViaRest();
    const [created] = await s.admin.waitFor(() => (rx.got.length >= 1 ? rx.got : undefined));
    expect(signatureValid(created!)).toBe(true);
    expect(created!.headers['content-type']).toMatch(/^application\/json/);
    expect(created!.headers['x-atlassian-webhook-identifier']).toBeTruthy();
    expect(created!.headers['x-atlassian-webhook-retry']).toBeUndefined();
    expect(created!.body).toMatchObject({
      webhookEvent: 'jira:issue_created',
      issue_event_type_name: 'issue_created',
      user: { accountId: BOT, displayName: 'Threadline Bot', accountType: 'atlassian' },
      issue: {
        id: '10001',
        key: 'OPS-1',
        fields: { summary: 'Refund failed', description: 'Customer was charged twice' },
      },
    });
    expect(typeof created!.body.timestamp).toBe('number');
    expect((created!.body.issue as { self: string }).self).toBe(`${s.emu.url}/rest/api/2/issue/10001`);

    // A tampered body must not verify against the same header.
    expect(signatureValid({ ...created!, raw: created!.raw.replace('Refund', 'Refunx') })).toBe(false);
  });

  it('a transition emits issue_generic with status changelog items', async () => {
    await createViaRest();
    await s.admin.transitionIssue('OPS-1', 'alice@example.com', 'In Progress');
    const upd = await s.admin.waitFor(() => rx.got.find((r) => r.body.webhookEvent === 'jira:issue_updated'));
    expect(upd.body.issue_event_type_name).toBe('issue_generic');
    expect((upd.body.user as { accountId: string }).accountId).toBe('712020:alice');
    const changelog = upd.body.changelog as { id: string; items: Record<string, unknown>[] };
    expect(changelog.id).toBeTruthy();
    expect(changelog.items).toContainEqual({
      field: 'status',
      fieldtype: 'jira',
      fieldId: 'status',
      from: '10000',
      fromString: 'To Do',
      to: '10001',
      toString: 'In Progress',
    });
    const issue = upd.body.issue as { fields: { status: { name: string; statusCategory: { key: string } } } };
    expect(issue.fields.status).toMatchObject({ name: 'In Progress', statusCategory: { key: 'indeterminate' } });
  });

  it('delivers a comment twice: comment_created and jira:issue_updated/issue_commented, bodies as strings', async () => {
    await createViaRest();
    await s.admin.addComment('OPS-1', 'bob@example.com', 'Looking into it', { origin: 'jira' });
    await s.admin.waitFor(() => rx.got.length >= 3);
    const names = rx.got.map(event).sort();
    expect(names).toEqual([
      'comment_created/',
      'jira:issue_created/issue_created',
      'jira:issue_updated/issue_commented',
    ]);
    const cc = rx.got.find((r) => r.body.webhookEvent === 'comment_created')!;
    const iu = rx.got.find((r) => r.body.issue_event_type_name === 'issue_commented')!;
    expect(cc.body.comment).toMatchObject({ body: 'Looking into it', author: { accountId: '712020:bob' } });
    expect((cc.body.issue as { key: string }).key).toBe('OPS-1');
    expect(iu.body.comment).toEqual(cc.body.comment);
    expect((iu.body.user as { accountId: string }).accountId).toBe('712020:bob');
    // Two distinct events, two identifiers.
    expect(cc.headers['x-atlassian-webhook-identifier']).not.toBe(iu.headers['x-atlassian-webhook-identifier']);
    expect(rx.got.every(signatureValid)).toBe(true);
  });

  it('REST comments, assignment and edits by the integration account emit webhooks with it as actor', async () => {
    await createViaRest();
    await s.client.issueComments.addComment({ issueIdOrKey: 'OPS-1', comment: adf('posted by the bot') });
    await s.client.issues.assignIssue({ issueIdOrKey: 'OPS-1', accountId: '712020:carol' });
    await s.client.issues.editIssue({ issueIdOrKey: 'OPS-1', fields: { summary: 'Refund failed twice' } });
    await s.admin.waitFor(() => rx.got.length >= 5);
    const updates = rx.got.filter((r) => r.body.webhookEvent === 'jira:issue_updated');
    expect(updates.map((r) => r.body.issue_event_type_name).sort()).toEqual([
      'issue_assigned',
      'issue_commented',
      'issue_updated',
    ]);
    for (const u of updates) expect((u.body.user as { accountId: string }).accountId).toBe(BOT);
    const cc = rx.got.find((r) => r.body.webhookEvent === 'comment_created')!;
    expect(cc.body.comment).toMatchObject({ body: 'posted by the bot', author: { accountId: BOT } });
    const assigned = updates.find((u) => u.body.issue_event_type_name === 'issue_assigned')!;
    expect((assigned.body.changelog as { items: unknown[] }).items).toEqual([
      expect.objectContaining({ field: 'assignee', from: null, to: '712020:carol', toString: 'Carol Controller' }),
    ]);
  });

  it('comment edit and delete produce comment_updated/deleted plus their issue_updated twins', async () => {
    await createViaRest();
    const c = await s.admin.addComment('OPS-1', 'dave@example.com', 'first');
    await s.admin.editComment('OPS-1', c.id, 'dave@example.com', 'second');
    await s.admin.deleteComment('OPS-1', c.id, 'dave@example.com');
    await s.admin.waitFor(() => rx.got.length >= 7);
    const names = rx.got.map(event);
    expect(names).toEqual(
      expect.arrayContaining([
        'comment_updated/',
        'jira:issue_updated/issue_comment_edited',
        'comment_deleted/',
        'jira:issue_updated/issue_comment_deleted',
      ]),
    );
    const upd = rx.got.find((r) => r.body.webhookEvent === 'comment_updated')!;
    expect(upd.body.comment).toMatchObject({ body: 'second', updateAuthor: { accountId: '712020:dave' } });
  });

  it('retries after a 500 with the same identifier and an X-Atlassian-Webhook-Retry count; redelivery keeps it', async () => {
    failFirst = true;
    await createViaRest();
    await s.admin.waitFor(() => rx.got.length >= 2);
    const [first, second] = rx.got;
    expect(first!.headers['x-atlassian-webhook-identifier']).toBe(second!.headers['x-atlassian-webhook-identifier']);
    expect(second!.headers['x-atlassian-webhook-retry']).toBe('1');
    expect(second!.raw).toBe(first!.raw);
    expect(signatureValid(second!)).toBe(true);

    const [delivery] = await s.admin.waitFor(async () => {
      const d = await s.admin.deliveries();
      return d.length === 1 && d[0]!.delivered ? d : undefined;
    });
    expect(delivery!.attempts.map((a) => a.status)).toEqual([500, 200]);

    await s.admin.redeliver(delivery!.id);
    await s.admin.waitFor(() => rx.got.length >= 3);
    expect(rx.got[2]!.headers['x-atlassian-webhook-identifier']).toBe(first!.headers['x-atlassian-webhook-identifier']);
    expect(rx.got[2]!.raw).toBe(first!.raw);
  });

  it('does not retry a 4xx other than 408/409/425/429', async () => {
    const rx400 = await receiver(() => 400);
    s.emu.setWebhookUrls([rx400.url]);
    try {
      await createViaRest();
      const [d] = await s.admin.waitFor(async () => {
        const list = await s.admin.deliveries();
        return list[0] && !list[0].pending ? list : undefined;
      });
      expect(d!.attempts.map((a) => a.status)).toEqual([400]);
      expect(d!.delivered).toBe(false);
    } finally {
      await rx400.close();
    }
  });
});
