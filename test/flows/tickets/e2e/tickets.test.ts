import { Client, Connection } from '@temporalio/client';
import { decodedHistory, testDataConverter } from '../../../helpers/temporal.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { ticketRequestWorkflowId } from '../../../../src/flows/tickets/contract.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestStack } from '../../../helpers/stack.js';
import { BOT_ACCOUNT, CHANNEL, seen, startTicketsStack, ticketsHarness, type Projects } from './helpers.js';

type Adf = { type: string; text?: string; attrs?: Record<string, unknown>; content?: Adf[] };
/** A closed workflow's raw history (what a replay fixture is recorded from). */
async function rawEvents(stack: TestStack, workflowId: string) {
  const connection = await Connection.connect({ address: stack.urls.temporal });
  try {
    const client = new Client({ connection, dataConverter: testDataConverter(stack.config.temporal) });
    const handle = client.workflow.getHandle(workflowId);
    await handle.result();
    return (await handle.fetchHistory()).events ?? [];
  } finally {
    await connection.close();
  }
}

const adfText = (n: Adf): string =>
  n.type === 'text'
    ? (n.text ?? '')
    : n.type === 'mention'
      ? String(n.attrs?.text)
      : (n.content ?? []).map(adfText).join(' ');

describe('Jira ⇄ Slack ticket threads, end to end (both emulators acting as people)', () => {
  let stack: TestStack;
  let p: Projects;
  let h: ReturnType<typeof ticketsHarness>;

  beforeAll(async () => {
    ({ stack, projects: p } = await startTicketsStack({ TICKET_MERGE_WINDOW: '300ms', TICKET_SLACK_DELETE: 'delete' }));
    h = ticketsHarness(stack, p);
  });
  afterAll(async () => {
    await h?.close();
    await stack?.stop();
  });

  it('an issue created by a person gets one Block Kit root in #tickets: key as a link, summary, type, priority, status, assignee', async () => {
    const key = await h.createIssue({ summary: 'Refund stuck for order 42' });
    const root = await h.root(key);
    expect(root.channel).toBe(CHANNEL);
    const text = seen(root);
    expect(text).toContain(`/browse/${key}|${key}>`);
    expect(text).toContain('Refund stuck for order 42');
    expect(text).toContain('Bug');
    expect(text).toContain('High');
    expect(text).toContain('To Do');
    expect(text).toContain('Dave Developer');
    const s = await h.state(key);
    expect(s?.slack).toEqual({ channel: CHANNEL, ts: root.ts });
    await h.settle(key);
    const tops = (await h.slack.channelMessages(CHANNEL)).filter((m) => seen(m).includes(`|${key}>`));
    expect(tops).toHaveLength(1);
    expect((await h.replies(key)).filter((m) => !h.isMarker(m))).toHaveLength(0); // creation is the root, not a reply
    const started = (await h.audit(key)).filter((r) => r.action === 'ticket.thread_started');
    expect(started).toHaveLength(1);
    expect(started[0]!.after).toMatchObject({ channel: CHANNEL, ts: root.ts });
  });

  it('a person changing status, assignee, priority and summary in Jira gets exactly one reply per change, and the root follows', async () => {
    const key = await h.createIssue();
    const root = await h.root(key);
    await h.settle(key);
    await h.jira.transitionIssue(key, 'dave@example.com', 'In Progress');
    await h.replyMatching(key, (m) => m.text.includes('In Progress'));
    await h.jira.assignIssue(key, 'alice@example.com', 'carol@example.com');
    await h.replyMatching(key, (m) => m.text.includes('Carol Controller'));
    await h.jira.editIssue(key, 'bob@example.com', { priority: 'Highest', summary: 'Refund stuck (EU)' });
    await h.settle(key);
    const replies = (await h.replies(key)).filter((m) => !h.isMarker(m));
    expect(replies.map((m) => m.text)).toEqual([
      expect.stringMatching(/\*Dave Developer\* changed status: To Do → \*In Progress\*/),
      expect.stringMatching(/\*Alice Admin\* changed assignee: Dave Developer → \*Carol Controller\*/),
      expect.stringMatching(/\*Bob Banker\* updated /),
    ]);
    expect(replies[2]!.text).toContain('• priority: High → *Highest*');
    expect(replies[2]!.text).toMatch(/• summary: “Refund stuck \w+” → \*“Refund stuck \(EU\)”\*/);
    const now = seen(await h.slack.message(root.channel, root.ts));
    expect(now).toContain('In Progress');
    expect(now).toContain('Carol Controller');
    expect(now).toContain('Highest');
    expect(now).toContain('Refund stuck (EU)');
    const mirrored = (await h.audit(key)).filter((r) => r.action === 'ticket.change_mirrored');
    expect(mirrored).toHaveLength(3);
    expect(mirrored[0]).toMatchObject({
      actor: { kind: 'jira_user', id: '712020:dave' },
      sourceSystem: 'jira',
      targetSystem: 'slack',
      before: { status: 'To Do' },
      after: { status: 'In Progress' },
    });
  });

  it('a Jira comment arrives twice (comment_created and issue_updated/issue_commented) and yields one reply', async () => {
    const key = await h.createIssue();
    await h.root(key);
    await h.jira.addComment(key, 'bob@example.com', 'Looking into it now');
    await h.settle(key);
    const deliveries = (await h.jira.deliveries()).filter(
      (d) =>
        (d.payload.issue as { key?: string } | undefined)?.key === key &&
        JSON.stringify(d.payload).includes('Looking into it now'),
    );
    expect(deliveries.map((d) => `${d.webhookEvent}/${d.issueEventTypeName ?? ''}`).sort()).toEqual([
      'comment_created/',
      'jira:issue_updated/issue_commented',
    ]);
    const replies = (await h.replies(key)).filter((m) => m.text.includes('Looking into it now'));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('*Bob Banker* commented in Jira');
  });

  it('a Slack reply becomes exactly one Jira comment (ADF, attributed, origin property) and no echo reply; edit updates it, delete deletes it', async () => {
    const key = await h.createIssue();
    const { root, posted, comment } = await h.slackReply(
      key,
      'U0ALICE',
      'Customer confirmed <@U0BOB> can refund &amp; close',
    );
    const text = adfText(comment.body as Adf);
    expect(JSON.stringify(comment.body)).toContain('"type":"doc"');
    expect(text).toContain('Customer confirmed @Bob Banker can refund & close');
    expect(text).toContain('via Slack by');
    expect(JSON.stringify(comment.body)).toContain('"type":"mention"');
    expect(JSON.stringify(comment.body)).toContain('712020:alice'); // matched by email
    expect(comment.author?.accountId).toBe(BOT_ACCOUNT);
    expect(comment.properties).toEqual([
      {
        key: 'threadline.origin',
        value: { system: 'slack', team: 'T0THREADLN', channel: root.channel, ts: posted.ts, user: 'U0ALICE' },
      },
    ]);
    await h.settle(key);
    expect(
      (await h.jira.issue(key)).comments.filter((c) => JSON.stringify(c.body).includes('Customer confirmed')),
    ).toHaveLength(1);
    expect((await h.replies(key)).filter((m) => !h.isMarker(m) && m.user !== 'U0ALICE')).toHaveLength(0);

    await h.slack.editMessage({
      user: 'U0ALICE',
      channel: root.channel,
      ts: posted.ts,
      text: 'Customer confirmed: refund issued',
    });
    await h.jira.waitFor(
      async () =>
        JSON.stringify((await h.jira.issue(key)).comments.find((c) => c.id === comment.id)?.body).includes(
          'refund issued',
        ),
      20_000,
    );
    await h.slack.deleteMessage({ user: 'U0ALICE', channel: root.channel, ts: posted.ts });
    await h.jira.waitFor(async () => !(await h.jira.issue(key)).comments.some((c) => c.id === comment.id), 20_000);
    await h.settle(key);
    expect((await h.replies(key)).filter((m) => !h.isMarker(m) && m.user !== 'U0ALICE')).toHaveLength(0);
    const rows = await h.audit(key);
    expect(rows.filter((r) => r.action === 'ticket.reply_mirrored')).toHaveLength(1);
    expect(rows.filter((r) => r.action === 'ticket.reply_edit_mirrored')).toHaveLength(1);
    expect(rows.filter((r) => r.action === 'ticket.reply_delete_mirrored')).toHaveLength(1);
    expect(rows.find((r) => r.action === 'ticket.reply_mirrored')).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0ALICE' },
      sourceSystem: 'slack',
      targetSystem: 'jira',
      after: { commentId: comment.id },
    });
    expect(rows.filter((r) => r.action === 'ticket.echo_dropped').length).toBeGreaterThanOrEqual(3);
  });

  it('✅ on the root moves the issue to Done through its own transition list (SUP: id 5, not OPS 31): one transition, one note; un-reacting does not reopen', async () => {
    const key = await h.createIssue({ project: p.sup, issuetype: 'Task' });
    const root = await h.root(key);
    await h.slack.addReaction({ user: 'U0CAROL', channel: root.channel, ts: root.ts, name: 'white_check_mark' });
    await h.replyMatching(key, (m) => m.text.includes('moved'));
    await h.slack.addReaction({ user: 'U0BOB', channel: root.channel, ts: root.ts, name: 'white_check_mark' });
    await h.slack.removeReaction({ user: 'U0CAROL', channel: root.channel, ts: root.ts, name: 'white_check_mark' });
    await h.settle(key);
    const issue = await h.jira.issue(key);
    expect(issue.fields.status.name).toBe('Done');
    const statusChanges = issue.changelog.filter((c) => c.items.some((i) => i.field === 'status'));
    expect(statusChanges).toHaveLength(1);
    expect(statusChanges[0]!.author?.accountId).toBe(BOT_ACCOUNT);
    const transitions = (await h.jira.calls()).filter(
      (c) => c.routeKey === 'POST /rest/api/3/issue/{issueIdOrKey}/transitions',
    );
    expect(transitions.filter((c) => c.path.includes(key))).toHaveLength(1);
    const notes = (await h.replies(key)).filter((m) => !h.isMarker(m));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.text).toContain('<@U0CAROL> moved');
    expect(notes[0]!.text).toContain('To Do → Done');
    expect(seen(await h.slack.message(root.channel, root.ts))).toContain('Done');
    const rows = await h.audit(key);
    const t = rows.filter((r) => r.action === 'ticket.transitioned');
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0CAROL' },
      sourceSystem: 'slack',
      targetSystem: 'jira',
      before: { status: 'To Do' },
      after: { status: 'Done' },
      details: expect.objectContaining({ transitionId: '5' }),
    });
    expect(rows.filter((r) => r.action === 'ticket.done_skipped')).toHaveLength(1); // Bob's ✅: already done
  });

  it('/ticket <summary> in #tickets files one OPS issue and starts its thread there, filed-by shown; the creation echo adds no reply', async () => {
    const summary = `Printer on fire ${Date.now()}`;
    const cmd = await h.slack.runSlashCommand({ user: 'U0ALICE', channel: CHANNEL, command: '/ticket', text: summary });
    expect(cmd.delivery.status).toBe(200);
    expect(JSON.stringify(cmd.delivery.response)).toContain(`Filing a Task in *${p.ops}*: “${summary}”`);
    const issues = await h.issuesWithSummary(summary);
    const key = issues[0]!.key;
    expect(key).toMatch(new RegExp(`^${p.ops}-\\d+$`));
    const view = await h.jira.issue(key);
    expect(view.fields).toMatchObject({ issuetype: { name: 'Task' }, reporter: { accountId: BOT_ACCOUNT } });
    expect(JSON.stringify(view.fields.description)).toContain('Filed from Slack by Alice Admin.');
    const root = await h.root(key);
    expect(root.channel).toBe(CHANNEL);
    expect(seen(root)).toContain('Filed from Slack by <@U0ALICE>');
    await h.settle(key);
    expect((await h.jira.issues()).filter((i) => i.summary === summary)).toHaveLength(1);
    expect((await h.replies(key)).filter((m) => !h.isMarker(m))).toHaveLength(0);
    const rows = await h.audit(key);
    expect(
      rows.filter((r) => r.action === 'ticket.echo_dropped').map((r) => (r.details as { eventId: string }).eventId),
    ).toContain(`jira:issue:${view.id}:created`);
    // The request workflow that filed it is keyed by the command's trigger (its replay fixture).
    const requestId = cmd.trigger_id.replace(/[^\w.-]/g, '').slice(0, 80);
    await recordFixture('ticket-request', await rawEvents(stack, ticketRequestWorkflowId(requestId)));
  });

  it('/ticket alone opens the form; an empty summary is refused in the 3 s window; a SUP Bug is filed with its priority', async () => {
    await h.slack.runSlashCommand({ user: 'U0BOB', channel: CHANNEL, command: '/ticket', text: '' });
    const modal = await h.slack.waitFor(async () =>
      (await h.slack.views()).find((v) => v.user === 'U0BOB' && v.open && v.callback_id === 'tl:ticket.create'),
    );
    expect(modal.private_metadata).toMatch(/^ticket:new-[\w-]+\|C0TICKETS$/);
    const empty = await h.slack.submitView({
      user: 'U0BOB',
      view_id: modal.id,
      values: { summary: { summary: ' ' }, project: { project: p.sup }, type: { type: 'Bug' } },
    });
    expect(empty.outcome).toBe('errors');
    expect(empty.errors).toMatchObject({ summary: 'Say what the ticket is about.' });
    const summary = `Login loop ${Date.now()}`;
    const ok = await h.slack.submitView({
      user: 'U0BOB',
      view_id: modal.id,
      values: {
        summary: { summary },
        project: { project: p.sup },
        type: { type: 'Bug' },
        priority: { priority: 'Highest' },
      },
    });
    expect(ok.outcome).toBe('closed');
    const [issue] = await h.issuesWithSummary(summary);
    expect(issue!.key).toMatch(new RegExp(`^${p.sup}-\\d+$`));
    const view = await h.jira.issue(issue!.key);
    expect(view.fields).toMatchObject({ issuetype: { name: 'Bug' }, priority: { name: 'Highest' } });
    const root = await h.root(issue!.key);
    expect(seen(root)).toContain('Filed from Slack by <@U0BOB>');
  });

  it('/ticket in a channel that syncs with no project says so and files nothing', async () => {
    const before = (await h.jira.issues()).length;
    const cmd = await h.slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0PAYMENTS',
      command: '/ticket',
      text: 'nope',
    });
    expect(JSON.stringify(cmd.delivery.response)).toContain('does not sync with a Jira project');
    await h.deliveriesDone();
    expect((await h.jira.issues()).length).toBe(before);
  });

  it('no email reaches the ticket workflow’s history (people are names and account ids)', async () => {
    const key = await h.createIssue();
    await h.slackReply(key, 'U0CAROL', 'history check');
    await h.settle(key);
    // Decoded through the codec: what the payloads hold, not their ciphertext.
    const history = await decodedHistory(stack.urls.temporal, `ticket:${key}`, stack.config.temporal);
    const payloads = JSON.stringify(
      (history.events ?? []).flatMap((e) =>
        [
          e.workflowExecutionSignaledEventAttributes?.input,
          e.activityTaskCompletedEventAttributes?.result,
          e.activityTaskScheduledEventAttributes?.input,
        ].flatMap((p) => (p?.payloads ?? []).map((x) => Buffer.from(x.data ?? []).toString('utf8'))),
      ),
    );
    expect(payloads).toContain('Carol Controller');
    expect(payloads).not.toMatch(/@example\.com/);
  });
});
