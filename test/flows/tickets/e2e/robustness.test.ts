import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { computeJiraSignature } from '../../../../src/integrations/jira/signature.js';
import { waitForIdle } from '../../../helpers/effects.js';
import { outageRig } from '../../../helpers/relay-outage.js';
import type { TestStack } from '../../../helpers/stack.js';
import { testDataConverter } from '../../../helpers/temporal.js';
import { counted } from '../../../platform/e2e/ingress-helpers.js';
import { BOT_ACCOUNT, CHANNEL, seen, shuffled, startTicketsStack, ticketsHarness, type Projects } from './helpers.js';

describe('ticket threads under duplicated, reordered and failing deliveries', () => {
  let stack: TestStack;
  let h: ReturnType<typeof ticketsHarness>;
  let connection: Connection;
  let temporal: Client;

  beforeAll(async () => {
    let p: Projects;
    // Sync SUP only for bugs, so an issue can leave the scope.
    ({ stack, projects: p } = await startTicketsStack({ TICKET_MERGE_WINDOW: '1s' }, (x) => [
      { id: 'ops', project: x.ops, channel: CHANNEL },
      { id: 'sup-bugs', project: x.sup, channel: CHANNEL, issueTypes: ['Bug'] },
    ]));
    h = ticketsHarness(stack, p);
    connection = await Connection.connect({ address: stack.urls.temporal });
    temporal = new Client({ connection, dataConverter: testDataConverter(stack.config.temporal) });
  });
  afterEach(async () => {
    await h.jira.clearFaults();
    await h.jira.config({ webhookUrls: [`${h.api}/webhooks/jira`] });
  });
  afterAll(async () => {
    await connection?.close();
    await h?.close();
    await stack?.stop();
  });

  const botReplies = async (key: string) => (await h.replies(key)).filter((m) => m.bot && !h.isMarker(m));

  it('nothing ping-pongs when every delivery (people’s changes and our own echoes) comes three times, shuffled', async () => {
    const key = await h.createIssue({ summary: 'Shuffled' });
    const root = await h.root(key);
    await h.settle(key);
    const captured = await h.captured(8, async () => {
      await h.jira.transitionIssue(key, 'dave@example.com', 'In Progress');
      await h.jira.assignIssue(key, 'alice@example.com', 'carol@example.com');
      await h.jira.addComment(key, 'bob@example.com', 'On it, refund queued');
      await h.jira.editIssue(key, 'bob@example.com', { priority: 'Highest' });
      // Our own writes: a Slack reply becomes a comment, a ✅ a transition; their echoes are captured too.
      await h.slackReply(key, 'U0ALICE', 'Customer called back');
      await h.slack.addReaction({ user: 'U0CAROL', channel: root.channel, ts: root.ts, name: 'white_check_mark' });
      await h.jira.waitFor(async () => (await h.jira.issue(key)).fields.status.name === 'Done', 20_000);
    });
    expect(captured.map((c) => c.event).sort()).toEqual(
      [
        'comment_created/',
        'comment_created/',
        'jira:issue_updated/issue_assigned',
        'jira:issue_updated/issue_commented',
        'jira:issue_updated/issue_commented',
        'jira:issue_updated/issue_generic',
        'jira:issue_updated/issue_generic',
        'jira:issue_updated/issue_updated',
      ].sort(),
    );
    const storm = shuffled(
      captured.flatMap((c) => [c, c, c]),
      20240601,
    );
    const answers = await Promise.all(storm.map((c, i) => h.redeliverRaw(c, i % 3)));
    expect(answers.map((a) => a.status)).toEqual(storm.map(() => 200));
    await h.settle(key);

    const replies = await botReplies(key);
    expect(replies.map((m) => m.text)).toEqual([
      expect.stringContaining('<@U0CAROL> moved'),
      expect.stringContaining('*Dave Developer* changed status: To Do → *In Progress*'),
      expect.stringContaining('*Alice Admin* changed assignee: Dave Developer → *Carol Controller*'),
      expect.stringContaining('*Bob Banker* commented in Jira'),
      expect.stringContaining('*Bob Banker* changed priority: High → *Highest*'),
    ]);
    const now = seen(await h.slack.message(root.channel, root.ts));
    expect(now).toContain('Done');
    expect(now).toContain('Highest');
    const issue = await h.jira.issue(key);
    expect(issue.comments.filter((c) => c.author?.accountId === BOT_ACCOUNT)).toHaveLength(1);
    expect(issue.changelog.filter((c) => c.author?.accountId === BOT_ACCOUNT)).toHaveLength(1);
    const rows = await h.audit(key);
    expect(rows.filter((r) => r.action === 'ticket.reply_mirrored')).toHaveLength(1);
    expect(rows.filter((r) => r.action === 'ticket.transitioned')).toHaveLength(1);
    expect(rows.filter((r) => r.action === 'ticket.change_mirrored')).toHaveLength(3);
    expect(rows.filter((r) => r.action === 'ticket.comment_mirrored')).toHaveLength(3); // Bob's + two settle markers
  });

  it('an older event delivered after a newer one never overwrites the root; its reply says it is late', async () => {
    const key = await h.createIssue({ summary: 'Late' });
    const root = await h.root(key);
    await h.settle(key);
    const got = await h.captured(2, async () => {
      await h.jira.transitionIssue(key, 'dave@example.com', 'In Progress');
      await h.jira.transitionIssue(key, 'alice@example.com', 'Done');
    });
    // Jira delivers concurrently: tell them apart by their own event time.
    const at = (c: { body: string }) => (JSON.parse(c.body) as { timestamp: number }).timestamp;
    const [older, newer] = got.sort((a, b) => at(a) - at(b));
    expect((await h.redeliverRaw(newer!)).status).toBe(200);
    await h.replyMatching(key, (m) => m.text.includes('Alice Admin'));
    expect((await h.redeliverRaw(older!)).status).toBe(200);
    // A batch updates the root before it replies: once the late reply is visible, the root has
    // taken (or refused) that event's snapshot, and nothing newer has arrived since.
    await h.replyMatching(key, (m) => m.text.includes('Dave Developer'));
    const afterLate = seen(await h.slack.message(root.channel, root.ts));
    expect(afterLate).toContain('Done');
    expect(afterLate).not.toContain('In Progress');
    await h.settle(key);
    const replies = await botReplies(key);
    expect(replies.map((m) => m.text)).toEqual([
      expect.stringContaining('*Alice Admin* changed status: In Progress → *Done*'),
      expect.stringContaining('*Dave Developer* changed status: To Do → *In Progress*'),
    ]);
    expect(JSON.stringify(replies[1]!.blocks)).toContain('shown late');
    const now = seen(await h.slack.message(root.channel, root.ts));
    expect(now).toContain('Done');
    expect(now).not.toContain('In Progress');
  });

  it('Jira 429 on adding a comment: retried after Retry-After, one comment in the end', async () => {
    const key = await h.createIssue();
    const root = await h.root(key);
    await h.jira.injectFault({ method: `POST /rest/api/3/issue/${key}/comment`, kind: 'ratelimit', retryAfter: 2 });
    await h.slack.postMessage({ user: 'U0BOB', channel: root.channel, thread_ts: root.ts, text: 'rate limited reply' });
    await h.jira.waitFor(async () => (await h.jira.issue(key)).comments.length === 1, 30_000);
    const posts = (await h.jira.calls()).filter(
      (c) => c.method === 'POST' && c.path.startsWith(`/rest/api/3/issue/${key}/comment`),
    );
    expect(posts.map((c) => c.status)).toEqual([429, 201]);
    expect(Date.parse(posts[1]!.at) - Date.parse(posts[0]!.at)).toBeGreaterThanOrEqual(1900);
    await h.settle(key);
    expect((await h.jira.issue(key)).comments.filter((c) => c.author?.accountId === BOT_ACCOUNT)).toHaveLength(1);
  });

  it('Jira 403 on adding a comment is permanent and loud: not retried, audited, announced in #ops-alerts, told in the thread', async () => {
    const key = await h.createIssue();
    const root = await h.root(key);
    await h.jira.injectFault({
      method: `POST /rest/api/3/issue/${key}/comment`,
      kind: 'error',
      status: 403,
      error: 'You do not have the permission to comment on this issue.',
    });
    await h.slack.postMessage({
      user: 'U0ALICE',
      channel: root.channel,
      thread_ts: root.ts,
      text: 'this will not land',
    });
    const note = await h.replyMatching(key, (m) => m.text.includes('Could not add'));
    expect(note.find((m) => m.text.includes('Could not add'))!.text).toContain('not allowed to (HTTP 403)');
    const alert = await h.slack.waitFor(async () =>
      (await h.slack.channelMessages('C0OPSALERT')).find((m) => m.text.includes(key) && m.text.includes('AuthRevoked')),
    );
    expect(alert.text).toContain(`comment:`);
    const failed = (await h.audit(key)).filter((r) => r.action === 'ticket.tracker_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      outcome: 'failed',
      targetSystem: 'jira',
      details: expect.objectContaining({ kind: 'auth', status: 403 }),
    });
    await h.settle(key);
    const posts = (await h.jira.calls()).filter(
      (c) => c.method === 'POST' && c.path.startsWith(`/rest/api/3/issue/${key}/comment`),
    );
    expect(posts.map((c) => c.status)).toEqual([403]);
    expect((await h.jira.issue(key)).comments.filter((c) => c.author?.accountId === BOT_ACCOUNT)).toHaveLength(0);
  });

  it('Jira 401 on ✅ is loud too: the issue stays where it is, the operators are told', async () => {
    const key = await h.createIssue();
    const root = await h.root(key);
    await h.jira.injectFault({ method: `GET /rest/api/3/issue/${key}`, kind: 'status', status: 401 });
    await h.slack.addReaction({ user: 'U0DAVE', channel: root.channel, ts: root.ts, name: 'white_check_mark' });
    await h.replyMatching(key, (m) => m.text.includes(`Could not move ${key} to Done`));
    await h.slack.waitFor(async () =>
      (await h.slack.channelMessages('C0OPSALERT')).some((m) => m.text.includes(key) && m.text.includes('done:')),
    );
    expect((await h.jira.issue(key)).fields.status.name).toBe('To Do');
    const failed = (await h.audit(key)).filter((r) => r.action === 'ticket.tracker_failed');
    expect(failed[0]).toMatchObject({
      outcome: 'failed',
      details: expect.objectContaining({ kind: 'auth', status: 401 }),
    });
  });

  it('an edit whose Jira comment was deleted by a person gets 404: recorded, not retried, no alert', async () => {
    const key = await h.createIssue();
    const { root, posted, comment } = await h.slackReply(key, 'U0ALICE', 'first words');
    await h.jira.deleteComment(key, comment.id, 'bob@example.com');
    await h.replyMatching(key, (m) => /\*Bob Banker\* deleted a comment|was deleted in Jira/.test(m.text));
    await h.slack.editMessage({ user: 'U0ALICE', channel: root.channel, ts: posted.ts, text: 'second words' });
    const rows = await h.jira.waitFor(async () => {
      const r = (await h.audit(key)).filter((x) => x.action === 'ticket.tracker_failed');
      return r.length ? r : undefined;
    }, 20_000);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      outcome: 'skipped',
      details: expect.objectContaining({ kind: 'not_found', status: 404 }),
    });
    await h.settle(key);
    const puts = (await h.jira.calls()).filter(
      (c) => c.method === 'PUT' && c.path.includes(`/issue/${key}/comment/${comment.id}`),
    );
    expect(puts.map((c) => c.status)).toEqual([404]);
    expect((await h.slack.channelMessages('C0OPSALERT')).some((m) => m.text.includes(key))).toBe(false);
    expect((await botReplies(key)).some((m) => m.text.includes('Could not'))).toBe(false);
  });

  it('a comment whose answer is lost (committed, then the socket dies) is found by its origin property on retry: one comment', async () => {
    const key = await h.createIssue();
    const root = await h.root(key);
    await h.jira.injectFault({ method: `POST /rest/api/3/issue/${key}/comment`, kind: 'commit_then_timeout' });
    await h.slack.postMessage({ user: 'U0CAROL', channel: root.channel, thread_ts: root.ts, text: 'said once' });
    await h.jira.waitFor(async () => (await h.jira.issue(key)).comments.length === 1, 20_000);
    await h.settle(key);
    const ours = (await h.jira.issue(key)).comments.filter((c) => c.author?.accountId === BOT_ACCOUNT);
    expect(ours).toHaveLength(1);
    const calls = (await h.jira.calls()).filter((c) => c.path.startsWith(`/rest/api/3/issue/${key}/comment`));
    expect(calls.map((c) => `${c.method}`)).toEqual(['POST', 'GET']);
    const rows = await h.audit(key);
    expect(rows.filter((r) => r.action === 'ticket.reply_mirrored')).toHaveLength(1);
  });

  it('an issue deleted in Jira: the thread says so, the root shows it, the workflow ends; later deliveries change nothing', async () => {
    const key = await h.createIssue({ summary: 'To be deleted' });
    const root = await h.root(key);
    await h.settle(key);
    const last = (await h.jira.deliveries())
      .filter((d) => d.webhookEvent === 'jira:issue_updated' && (d.payload.issue as { key: string }).key === key)
      .at(-1)!;
    // The Jira emulator cannot delete issues yet: this is Jira's jira:issue_deleted body for the same issue.
    const body = JSON.stringify({
      ...last.payload,
      timestamp: Date.now(),
      webhookEvent: 'jira:issue_deleted',
      issue_event_type_name: 'issue_deleted',
      user: { accountId: '712020:alice', displayName: 'Alice Admin' },
      comment: undefined,
      changelog: undefined,
    });
    expect((await h.redeliverRaw({ identifier: randomUUID(), body })).status).toBe(200);
    await h.replyMatching(key, (m) => m.text.includes(`*Alice Admin* deleted ${key} in Jira`));
    const handle = temporal.workflow.getHandle(`ticket:${key}`);
    await h.jira.waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 20_000);
    expect(await handle.result()).toEqual({ key, sync: 'deleted' });
    expect(seen(await h.slack.message(root.channel, root.ts))).toContain('Deleted in Jira');
    const lateId = randomUUID();
    const late = await h.redeliverRaw({ identifier: lateId, body });
    expect(((await late.json()) as { status: string }).status).toBe('queued');
    await h.relayed(lateId);
    await h.jira.waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 20_000);
    expect((await botReplies(key)).filter((m) => m.text.includes('deleted'))).toHaveLength(1);
    expect((await h.audit(key)).filter((r) => r.action === 'ticket.deleted')).toHaveLength(1);
  });

  it('an issue that leaves the synced scope says so and stops; back in scope, the same thread syncs again', async () => {
    const key = await h.createIssue({ project: h.projects.sup, issuetype: 'Bug', summary: 'Scoped' });
    const root = await h.root(key);
    await h.jira.editIssue(key, 'carol@example.com', { issuetype: 'Task' });
    await h.replyMatching(key, (m) => m.text.includes('left the synced scope'));
    const handle = temporal.workflow.getHandle(`ticket:${key}`);
    await h.jira.waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 20_000);
    expect(seen(await h.slack.message(root.channel, root.ts))).toContain('Sync stopped');
    await h.jira.addComment(key, 'bob@example.com', 'nobody hears this');
    await h.deliveriesDone();
    await h.jira.editIssue(key, 'carol@example.com', { issuetype: 'Bug' });
    await h.replyMatching(key, (m) => m.text.includes('back in the synced scope'));
    await h.settle(key);
    const replies = await botReplies(key);
    expect(replies.map((m) => m.text)).toEqual([
      expect.stringContaining('left the synced scope'),
      expect.stringContaining('back in the synced scope'),
      expect.stringContaining('*Carol Controller* changed type: Task → *Bug*'),
    ]);
    expect(replies.some((m) => m.text.includes('nobody hears this'))).toBe(false);
    const tops = (await h.slack.channelMessages('C0TICKETS')).filter((m) => seen(m).includes(`|${key}>`));
    expect(tops).toHaveLength(1); // the same thread, not a second root
  });

  it('bad webhook input is a 4xx naming the problem, never a 500; unsigned when a secret is set is 401', async () => {
    const body = JSON.stringify({
      timestamp: Date.now(),
      webhookEvent: 'jira:issue_created',
      issue: { id: '1', key: 'HR-2', fields: { project: { key: 'HR' } } },
    });
    const post = (b: string, headers: Record<string, string>) =>
      fetch(`${h.api}/webhooks/jira`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: b,
      });
    const signed = (b: string, extra: Record<string, string> = {}) =>
      post(b, {
        'x-hub-signature': computeJiraSignature(h.secret, b),
        'x-atlassian-webhook-identifier': randomUUID(),
        ...extra,
      });
    const cases: [Promise<Response>, number, RegExp][] = [
      [post(body, { 'x-atlassian-webhook-identifier': randomUUID() }), 401, /X-Hub-Signature: missing signature/],
      [
        post(body, { 'x-hub-signature': 'sha256=abc', 'x-atlassian-webhook-identifier': randomUUID() }),
        401,
        /malformed signature/,
      ],
      [
        post(body, {
          'x-hub-signature': computeJiraSignature('wrong', body),
          'x-atlassian-webhook-identifier': randomUUID(),
        }),
        401,
        /bad signature/,
      ],
      [signed('{"timestamp":'), 400, /invalid_json|not valid JSON/],
      [post(body, { 'x-hub-signature': computeJiraSignature(h.secret, body) }), 400, /X-Atlassian-Webhook-Identifier/],
      [signed(JSON.stringify({ webhookEvent: 'jira:issue_created' })), 400, /timestamp/],
      [
        signed(
          JSON.stringify({
            timestamp: 1,
            webhookEvent: 'jira:issue_created',
            issue: { id: '1', key: 'hr 2', fields: { project: { key: 'HR' } } },
          }),
        ),
        400,
        /issue\.key: an issue key/,
      ],
      [
        signed(
          JSON.stringify({
            timestamp: 1,
            webhookEvent: 'comment_created',
            issue: { id: '1', key: 'HR-2', fields: { project: { key: 'HR' } } },
          }),
        ),
        400,
        /comment/,
      ],
      [
        signed(
          JSON.stringify({
            timestamp: 1,
            webhookEvent: 'jira:issue_updated',
            issue_event_type_name: 'issue_commented',
            issue: { id: '1', key: 'HR-2', fields: { project: { key: 'HR' } } },
          }),
        ),
        400,
        /comment: required/,
      ],
      [
        fetch(`${h.api}/webhooks/jira`, { method: 'POST', headers: { 'content-type': 'application/json' } }),
        400,
        /body/,
      ],
      [signed(body, { 'content-type': 'text/plain' }), 400, /content-type must be application\/json/],
    ];
    for (const [res, status, msg] of cases) {
      const r = await res;
      const text = await r.text();
      expect(r.status, text).toBe(status);
      expect(text).toMatch(msg);
    }
    const big = JSON.stringify({ timestamp: 1, webhookEvent: 'jira:issue_created', pad: 'x'.repeat(1024 * 1024 + 10) });
    expect((await signed(big)).status).toBe(413);
    const ignored = await signed(
      JSON.stringify({ timestamp: 1, webhookEvent: 'jira:version_released', version: { id: '1' } }),
    );
    expect(ignored.status).toBe(200);
    expect(await ignored.json()).toEqual({ status: 'ignored', reason: 'unhandled_event_type' });
    const notSyncedId = randomUUID();
    const notSynced = await signed(
      JSON.stringify({
        timestamp: 1,
        webhookEvent: 'jira:issue_created',
        issue: { id: '9', key: 'HR-1', fields: { summary: 'x', project: { key: 'HR' } } },
      }),
      { 'x-atlassian-webhook-identifier': notSyncedId },
    );
    // Out of scope, so only a running thread would hear it: there is none, and the relay marks it ignored.
    expect(await notSynced.json()).toEqual({ status: 'queued', key: 'HR-1', scope: 'out' });
    expect(await h.relayed(notSyncedId)).toBe('ignored');
  });

  it('the ack needs Postgres alone: Postgres down → 503, nothing recorded; Jira’s retry while Temporal is down → 200 queued, the next one a duplicate; Temporal back → the comment reaches the thread once', async () => {
    const key = await h.createIssue({ summary: 'Through an outage' });
    const root = await h.root(key);
    await h.settle(key);
    const rig = await outageRig(stack, 'jira-outage');
    try {
      // Jira delivers to the instance whose Postgres hangs; its retries are ours to send (below).
      await h.jira.config({ webhookUrls: [`${rig.app.url}/webhooks/jira`], webhookRetryDelaysMs: [] });
      rig.postgres.stall();
      const text = `said during the outage ${randomUUID().slice(0, 8)}`;
      await h.jira.addComment(key, 'bob@example.com', text);
      await h.deliveriesDone();
      // One comment is two deliveries (comment_created and jira:issue_updated/issue_commented): both refused.
      const refused = (await h.jira.deliveries()).filter((d) => JSON.stringify(d.payload).includes(text));
      expect(refused.map((d) => d.webhookEvent).sort()).toEqual(['comment_created', 'jira:issue_updated']);
      expect(refused.map((d) => d.attempts.map((x) => x.status))).toEqual([[503], [503]]);
      await h.jira.config({ webhookUrls: [`${h.api}/webhooks/jira`], webhookRetryDelaysMs: [50, 100, 200] });
      rig.postgres.reset(); // what the stall held never reaches Postgres
      rig.postgres.pass();
      for (const d of refused) expect(await rig.row('jira', d.identifier)).toBeUndefined();

      rig.temporal.stall(); // every Temporal call hangs until its deadline
      for (const d of refused) {
        const acked = await h.redeliverRaw(d, 1, rig.app.url);
        expect(acked.status).toBe(200);
        expect(await acked.json()).toEqual({ status: 'queued', key, scope: 'in' });
        await rig.sending(`ticket:${key}`); // the relay is mid-call: the repeat must not wait for it
        const again = await h.redeliverRaw(d, 2, rig.app.url);
        expect(await again.json()).toEqual({ status: 'duplicate', key, scope: 'in' });
      }
      // The relay keeps failing while Temporal is down: the events wait in the ledger, the thread hears nothing.
      expect(await rig.triedAndFailed('jira', refused[0]!.identifier)).toMatchObject({ claims: 1 });
      await waitForIdle(temporal, `ticket:${key}`);
      expect((await h.replies(key)).filter((m) => m.text.includes(text))).toHaveLength(0);

      rig.temporal.reset(); // drop what the stall held (it never reached Temporal)
      rig.temporal.pass();
      for (const d of refused) expect(await rig.relayed('jira', d.identifier)).toMatchObject({ status: 'handed_off' });
      await h.replyMatching(key, (m) => m.text.includes(text));
      await waitForIdle(temporal, `ticket:${key}`); // both handed off, then idle: the count is final
      expect((await h.slack.threadReplies(root.channel, root.ts)).filter((m) => m.text.includes(text))).toHaveLength(1);
      const count = (metric: 'inboundEvents' | 'relayHandOffs', outcome: string) =>
        counted(rig.app.metrics, metric, { source: 'jira', outcome });
      expect(await count('inboundEvents', 'failed')).toBe(2);
      expect(await count('inboundEvents', 'queued')).toBe(2);
      expect(await count('inboundEvents', 'duplicate')).toBe(2);
      expect(await count('relayHandOffs', 'handed_off')).toBe(2);
    } finally {
      await h.jira.config({ webhookRetryDelaysMs: [50, 100, 200] });
      await rig.close();
    }
  });
});
