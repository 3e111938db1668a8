import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo, slackMessagesRepo } from '../../../../src/platform/db/repositories.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { approvalsHarness, hasButtons, seen } from './helpers.js';

describe('approval flows, end to end (HTTP → Temporal → Slack emulator acting as people)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof approvalsHarness>;
  let pool: Pool;

  beforeAll(async () => {
    // Long SLAs: no timer may fire in these tests (approvals-sla.test.ts covers them).
    stack = await startTestStack({ APPROVAL_REMIND_AFTER: '1h', APPROVAL_EXPIRE_AFTER: '1d' });
    h = approvalsHarness(stack);
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
  });

  it('approve: posts to the channel and DMs, one click locks every copy, replies, notifies the requester; API, DB and audit agree', async () => {
    const id = await h.created(h.body());
    const msgs = await h.posted(id, 3);
    expect(msgs.map((m) => m.purpose).sort()).toEqual(['channel', 'dm', 'dm']);
    const channelMsg = msgs.find((m) => m.purpose === 'channel')!;
    const root = await h.slack.message(channelMsg.channel, channelMsg.ts);
    expect(hasButtons(root)).toBe(true);
    expect(seen(root)).toContain('checkout');
    expect(seen(root)).toContain('"confirm"');
    expect(seen(root)).toContain('<@U0ALICE>'); // requester resolved from the email

    const click = await h.click('U0CAROL', channelMsg, 'approve');
    expect(click.delivery.status).toBe(200);
    const lockedMsg = await h.locked(channelMsg);
    expect(hasButtons(lockedMsg)).toBe(false);
    expect(seen(lockedMsg)).toContain('Approved by <@U0CAROL>');
    for (const dm of msgs.filter((m) => m.purpose === 'dm')) expect(hasButtons(await h.locked(dm))).toBe(false);

    const replies = await h.slack.waitFor(async () => {
      const r = await h.slack.threadReplies(channelMsg.channel, channelMsg.ts);
      return r.length > 0 ? r : undefined;
    });
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('Approved by <@U0CAROL>');

    const decided = await h.waitStatus(id, 'approved');
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'U0CAROL', reason: null });
    expect(decided.timeline.map((t) => t.kind)).toEqual(expect.arrayContaining(['created', 'posted', 'decided']));

    const subject = `approval:${id}`;
    const posts = await h.slack.waitFor(async () => {
      const rows = await slackMessagesRepo(pool).bySubject(subject);
      return rows.some((r) => r.purpose === 'approval_requester_notice') ? rows : undefined;
    });
    const notice = posts.find((r) => r.purpose === 'approval_requester_notice')!;
    expect((await h.slack.message(notice.channel, notice.ts)).text).toContain('Approved by <@U0CAROL>');
    const audit = await h.slack.waitFor(async () => {
      const rows = await auditLogRepo(pool).bySubject(subject);
      return rows.some((r) => r.action === 'approval.decided') ? rows : undefined;
    });
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['approval.created', 'approval.decided']));
    expect(audit.find((r) => r.action === 'approval.decided')!.actor).toEqual({ kind: 'slack_user', id: 'U0CAROL' });
  });

  it('reject: the button opens a modal with a required reason; an empty reason is refused in the 3 s window; the reason ends up everywhere', async () => {
    const id = await h.created(h.body());
    const [channelMsg] = (await h.posted(id, 3)).filter((m) => m.purpose === 'channel');
    await h.click('U0BOB', channelMsg!, 'reject');
    const modal = await h.slack.waitFor(async () =>
      (await h.slack.views()).find((v) => v.user === 'U0BOB' && v.open && v.private_metadata === `approval:${id}`),
    );
    expect(modal.callback_id).toBe('tl:approval.reject_reason');
    expect((await h.get(id)).status).toBe('pending'); // opening the form decides nothing

    const empty = await h.slack.submitView({ user: 'U0BOB', view_id: modal.id, values: { reason: { reason: '  ' } } });
    expect(empty.outcome).toBe('errors');
    expect(empty.errors).toMatchObject({ reason: expect.stringContaining('reason') });

    const ok = await h.slack.submitView({
      user: 'U0BOB',
      view_id: modal.id,
      values: { reason: { reason: 'No change ticket attached' } },
    });
    expect(ok.outcome).toBe('closed');
    const decided = await h.waitStatus(id, 'rejected');
    expect(decided).toMatchObject({ decidedBy: 'U0BOB', reason: 'No change ticket attached' });
    const msg = await h.locked(channelMsg!);
    expect(seen(msg)).toContain('Rejected by <@U0BOB>');
    expect(seen(msg)).toContain('No change ticket attached');
  });

  it('unauthorized click and requester self-approval are refused with an ephemeral, and change nothing', async () => {
    const id = await h.created(h.body());
    const [channelMsg] = (await h.posted(id, 3)).filter((m) => m.purpose === 'channel');

    const stranger = await h.click('U0DAVE', channelMsg!, 'approve');
    expect(await h.responseTo(stranger.response_url)).toContain('You are not an approver for this request.');
    const self = await h.click('U0ALICE', channelMsg!, 'approve');
    expect(await h.responseTo(self.response_url)).toContain('You cannot approve or reject your own request.');
    const strangerReject = await h.click('U0ERIN', channelMsg!, 'reject');
    expect(await h.responseTo(strangerReject.response_url)).toContain('You are not an approver');
    expect((await h.slack.views()).some((v) => v.user === 'U0ERIN' && v.open)).toBe(false);

    const v = await h.get(id);
    expect(v).toMatchObject({ status: 'pending', votes: [] });
    expect(hasButtons(await h.slack.message(channelMsg!.channel, channelMsg!.ts))).toBe(true);
    // Refused in the Update validator: nothing about the clicks reached the workflow's history.
    const { Client, Connection } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      const history = await new Client({ connection }).workflow.getHandle(`approval:${id}`).fetchHistory();
      const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      expect(updates).toHaveLength(1); // only approvalReady from the creation
    } finally {
      await connection.close();
    }
  });

  it('a requester listed as approver, unknown people, empty approvers and bad durations are 400s naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [h.body({ approvers: [] }), /approvers: at least one approver/],
      [h.body({ approvers: ['nobody@example.com'] }), /approvers\.0: "nobody@example\.com" is not a person/],
      [h.body({ approvers: ['U0NOPE'] }), /approvers\.0/],
      [h.body({ requester: 'ghost@example.com' }), /requester/],
      [h.body({ approvers: ['U0ALICE', 'U0BOB'] }), /approvers: the requester cannot approve/],
      [h.body({ sla: { expireAfter: '30x' } }), /sla\.expireAfter: "30x" is not a duration/],
      [h.body({ sla: { remindAfter: '2h', expireAfter: '1h' } }), /sla\.remindAfter: must be shorter/],
      [h.body({ sla: { escalateAfter: '1h' } }), /sla\.escalateTo/],
      [h.body({ policy: { required: 3 } }), /policy\.required/],
      [h.body({ approvers: 'U0BOB' }), /approvers/],
      [h.body({ colour: 'red' }), /colour/],
      [h.body({ title: '' }), /title/],
      [h.body({ callbackUrl: 'ftp://x' }), /callbackUrl/],
    ];
    for (const [b, msg] of cases) {
      const res = await h.create(b);
      const json = (await res.json()) as { error: string; message: string };
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(json.error).toBe('invalid_body');
      expect(json.message).toMatch(msg);
    }
    const noAuth = await fetch(`${h.api}/v1/approvals`, { method: 'POST', body: '{}' });
    expect(noAuth.status).toBe(401);
    expect((await fetch(`${h.api}/v1/approvals/apr_doesnotexist`, { headers: h.auth })).status).toBe(404);
    const badWait = await fetch(`${h.api}/v1/approvals/apr_x/decision?wait=soon`, { headers: h.auth });
    expect(badWait.status).toBe(400);
  });

  it('double click and two approvers clicking at once produce exactly one decision; the others are told who decided', async () => {
    const id = await h.created(h.body());
    const msgs = await h.posted(id, 3);
    const channelMsg = msgs.find((m) => m.purpose === 'channel')!;
    const clicks = await Promise.all([
      h.click('U0BOB', channelMsg, 'approve'),
      h.click('U0BOB', channelMsg, 'approve'),
      h.click('U0CAROL', channelMsg, 'approve'),
    ]);
    expect(clicks.map((c) => c.delivery.status)).toEqual([200, 200, 200]);
    const v = await h.slack.waitFor(async () => {
      const x = await h.get(id);
      return x.status === 'approved' ? x : undefined;
    });
    expect(v.votes).toHaveLength(1);
    const winner = v.decidedBy!;
    // Every losing click is told who won; the winning click gets no ephemeral.
    const texts = await Promise.all(
      clicks.map((c) =>
        h.slack
          .waitFor(
            async () => (await h.slack.responseUrlPosts()).find((p) => c.response_url?.endsWith(`/${p.id}`)),
            3000,
          )
          .then((p) => JSON.stringify(p.body))
          .catch(() => undefined),
      ),
    );
    const told = texts.filter((t) => t?.includes(`Already decided: approved by <@${winner}>`));
    expect(told).toHaveLength(2);
    expect(texts.filter((t) => t === undefined)).toHaveLength(1);
    await h.locked(channelMsg);
    const replies = await h.slack.threadReplies(channelMsg.channel, channelMsg.ts);
    expect(replies).toHaveLength(1);
    const audit = await auditLogRepo(pool).bySubject(`approval:${id}`);
    expect(audit.filter((r) => r.action === 'approval.decided')).toHaveLength(1);
  });

  it('N of M: the first approval is recorded (and shown), the second decides', async () => {
    const id = await h.created(
      h.body({ approvers: ['U0BOB', 'U0CAROL', 'U0DAVE'], policy: { required: 2 }, channel: undefined }),
    );
    const dms = await h.posted(id, 3);
    const bobDm = dms.find((m) => m.user === 'U0BOB')!;
    const first = await h.click('U0BOB', bobDm, 'approve');
    expect(await h.responseTo(first.response_url)).toContain('Your approval is recorded; 1 more needed.');
    await h.slack.waitFor(async () => seen(await h.slack.message(bobDm.channel, bobDm.ts)).includes('1 so far'));
    expect((await h.get(id)).status).toBe('pending');
    const again = await h.click('U0BOB', bobDm, 'approve');
    expect(await h.responseTo(again.response_url)).toContain('You already approved');

    const daveDm = dms.find((m) => m.user === 'U0DAVE')!;
    await h.click('U0DAVE', daveDm, 'approve');
    const v = await h.waitStatus(id, 'approved');
    expect(v.decidedBy).toBe('U0DAVE');
    expect(v.votes.map((x) => x.user)).toEqual(['U0BOB', 'U0DAVE']);
    // No channel: the decision is replied in every DM thread.
    for (const dm of dms) {
      expect(seen(await h.locked(dm))).toContain('Approved by <@U0DAVE>');
      await h.slack.waitFor(async () => (await h.slack.threadReplies(dm.channel, dm.ts)).length === 1);
    }
  });

  it('sequential levels: level 2 is asked only after level 1 approves, and only level 2 can finish it', async () => {
    const id = await h.created(
      h.body({ approvers: ['U0BOB'], channel: undefined, policy: { levels: [{ approvers: ['U0ERIN'] }] } }),
    );
    const [bobDm] = await h.posted(id, 1);
    expect(bobDm!.user).toBe('U0BOB');
    const early = await h.click('U0ERIN', bobDm!, 'approve');
    expect(await h.responseTo(early.response_url)).toContain('You are not an approver');
    await h.click('U0BOB', bobDm!, 'approve');
    const msgs = await h.posted(id, 2);
    const erinDm = msgs.find((m) => m.user === 'U0ERIN')!;
    expect(await h.get(id)).toMatchObject({ status: 'pending', currentLevel: 2 });
    await h.click('U0ERIN', erinDm, 'approve');
    expect(await h.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0ERIN' });
  });

  it('the decision long-poll returns when someone decides (and on timeout while pending); DELETE cancels; Idempotency-Key replays', async () => {
    const key = `idem-${Math.random().toString(36).slice(2)}`;
    const b = h.body();
    const first = await h.create(b, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const replay = await h.create(b, { 'idempotency-key': key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const { approvalId: id } = (await first.json()) as { approvalId: string };
    expect(((await replay.json()) as { approvalId: string }).approvalId).toBe(id);

    const t0 = Date.now();
    const timedOut = await fetch(`${h.api}/v1/approvals/${id}/decision?wait=1s`, { headers: h.auth });
    expect(await timedOut.json()).toMatchObject({ status: 'pending', decided: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);

    const [channelMsg] = (await h.posted(id, 3)).filter((m) => m.purpose === 'channel');
    const poll = fetch(`${h.api}/v1/approvals/${id}/decision?wait=60s`, { headers: h.auth }).then(async (r) => ({
      at: Date.now(),
      body: (await r.json()) as Record<string, unknown>,
    }));
    await new Promise((r) => setTimeout(r, 300)); // let the poll start waiting: it must return on the click
    const clickedAt = Date.now();
    await h.click('U0BOB', channelMsg!, 'approve');
    const res = await poll;
    expect(res.body).toMatchObject({ approvalId: id, status: 'approved', decided: true, decidedBy: 'U0BOB' });
    expect(res.at - clickedAt).toBeLessThan(10_000);

    const late = await fetch(`${h.api}/v1/approvals/${id}`, { method: 'DELETE', headers: h.auth });
    expect(late.status).toBe(409);

    const id2 = await h.created(h.body());
    const [ch2] = (await h.posted(id2, 3)).filter((m) => m.purpose === 'channel');
    const del = await fetch(`${h.api}/v1/approvals/${id2}?reason=not%20needed`, { method: 'DELETE', headers: h.auth });
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ status: 'cancelled', cancelled: true });
    expect(seen(await h.locked(ch2!))).toContain('Cancelled');
    const again = await fetch(`${h.api}/v1/approvals/${id2}`, { method: 'DELETE', headers: h.auth });
    expect(again.status).toBe(200);
    const click = await h.click('U0BOB', ch2!, 'approve').catch((e: unknown) => e);
    expect(click).toBeInstanceOf(Error); // the buttons are gone
    const audit = await h.slack.waitFor(async () => {
      const rows = await auditLogRepo(pool).bySubject(`approval:${id2}`);
      return rows.find((r) => r.action === 'approval.cancelled');
    });
    expect(audit.actor.kind).toBe('api_client');
  });

  it('/threadline approval opens a form; bad input is refused in the window; a valid submission files the request', async () => {
    const cmd = await h.slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0APPROVAL',
      command: '/threadline',
      text: 'approval',
    });
    expect(cmd.delivery.status).toBe(200);
    const modal = await h.slack.waitFor(async () =>
      (await h.slack.views()).find((v) => v.user === 'U0ALICE' && v.open && v.callback_id === 'tl:approval.create'),
    );
    const bad = await h.slack.submitView({
      user: 'U0ALICE',
      view_id: modal.id,
      values: {
        title: { title: 'Grant prod DB access to Dave' },
        approvers: { approvers: { selected_users: ['U0ALICE'] } },
        expire_after: { expire_after: 'tomorrow' },
      },
    });
    expect(bad.outcome).toBe('errors');
    expect(bad.errors).toMatchObject({
      approvers: 'You cannot approve your own request.',
      expire_after: expect.stringContaining('30m'),
    });
    const good = await h.slack.submitView({
      user: 'U0ALICE',
      view_id: modal.id,
      values: {
        title: { title: 'Grant prod DB access to Dave' },
        approvers: { approvers: { selected_users: ['U0BOB'] } },
        channel: { channel: { selected_conversation: 'C0APPROVAL' } },
      },
    });
    expect(good.outcome).toBe('closed');
    const id = modal.private_metadata.replace('approval:', '');
    const msgs = await h.posted(id, 2);
    const channelMsg = msgs.find((m) => m.purpose === 'channel')!;
    expect(seen(await h.slack.message(channelMsg.channel, channelMsg.ts))).toContain('Grant prod DB access to Dave');
    await h.click('U0BOB', channelMsg, 'approve');
    expect(await h.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0BOB' });
  });
});
