import { describe, expect, it } from 'vitest';
import { callerFingerprint } from '../../../../src/platform/http/auth.js';
import { auditLogRepo, slackMessagesRepo } from '../../../../src/platform/db/repositories.js';
import type { ApprovalWorkflowInput } from '../../../../src/flows/approvals/contract.js';
import { startInputOf } from '../../../helpers/effects.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { eventsOf } from '../../../helpers/history.js';
import { flowSuite, harnessOf } from '../../../helpers/flow-suite.js';
import { approvalsHarness, hasButtons, seen } from './helpers.js';

describe('approval flows, end to end (HTTP → Temporal → Slack emulator acting as people)', () => {
  const auditOf = (id: string) => auditLogRepo(suite.pool).bySubject(`approval:${id}`);

  // Long SLAs: no timer may fire in these tests (sla.test.ts covers them). The default decided
  // grace (15 min) keeps decided requests open, so "idle" means "waiting on the grace timer".
  const suite = flowSuite({ APPROVAL_REMIND_AFTER: '1h', APPROVAL_EXPIRE_AFTER: '1d' });
  const h = harnessOf(suite, approvalsHarness);

  it('approve: posts to the channel and DMs, one click locks every copy, replies, notifies the requester; API, DB and audit agree', async () => {
    const res = await h.create(h.body());
    expect(res.status).toBe(201);
    const createdBody = (await res.json()) as { approvalId: string };
    const id = createdBody.approvalId;
    expect(createdBody).toEqual({
      approvalId: expect.stringMatching(/^apr_/),
      workflowId: `approval:${id}`,
      status: 'pending',
      links: { self: `/v1/approvals/${id}`, decision: `/v1/approvals/${id}/decision?wait=60s` },
    });
    const msgs = await h.posted(id, 3);
    expect(msgs.map((m) => m.purpose).sort()).toEqual(['channel', 'dm', 'dm']);
    const channelMsg = msgs.find((m) => m.purpose === 'channel')!;
    const root = await h.slack.message(channelMsg.channel, channelMsg.ts);
    expect(hasButtons(root)).toBe(true);
    expect(seen(root)).toContain('checkout');
    expect(seen(root)).toContain('"confirm"');
    expect(seen(root)).toContain('"style":"primary"');
    expect(seen(root)).toContain('"style":"danger"');
    expect(seen(root)).toContain('<@U0ALICE>'); // requester resolved from the email

    const click = await h.click('U0CAROL', channelMsg, 'approve');
    expect(click.delivery.status).toBe(200);
    const lockedMsg = await h.locked(channelMsg);
    expect(hasButtons(lockedMsg)).toBe(false);
    expect(seen(lockedMsg)).toContain('Approved by <@U0CAROL>');
    for (const dm of msgs.filter((m) => m.purpose === 'dm')) expect(hasButtons(await h.locked(dm))).toBe(false);

    const decided = await h.waitStatus(id, 'approved');
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'U0CAROL', reason: null, currentLevel: 1 });
    expect(decided.timeline.map((t) => t.kind)).toEqual(expect.arrayContaining(['created', 'posted', 'decided']));

    // Once the workflow is idle (waiting on its grace timer), count what happened.
    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    expect(h.postsOfStep(done, 'post:')).toHaveLength(3);
    const replies = h.postsOfStep(done, 'decision');
    expect(replies.map((r) => [r.threadTs, r.text])).toEqual([
      [channelMsg.ts, expect.stringContaining('Approved by <@U0CAROL>')],
    ]);
    const notices = h.postsOfStep(done, 'notify:requester');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain('Approved by <@U0CAROL>');
    for (const m of msgs) expect(h.updatesOf(done, m)).toBe(1);

    const subject = `approval:${id}`;
    const rows = await slackMessagesRepo(suite.pool).bySubject(subject);
    expect(rows.map((r) => r.purpose).sort()).toEqual(
      ['approval_channel', 'approval_decision', 'approval_dm', 'approval_dm', 'approval_requester_notice'].sort(),
    );
    const audit = await auditOf(id);
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['approval.created', 'approval.decided']));
    expect(audit.find((r) => r.action === 'approval.created')!.actor).toEqual({
      kind: 'api_client',
      id: callerFingerprint(h.auth.authorization),
    });
    expect(audit.find((r) => r.action === 'approval.decided')).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0CAROL' },
      before: { status: 'pending' },
      after: { status: 'approved', decidedBy: 'U0CAROL' },
    });
  });

  it('reject: the button opens a modal with a required reason; an empty reason is refused in the 3 s window; the reason ends up everywhere', async () => {
    const id = await h.created(h.body());
    const [channelMsg] = (await h.posted(id, 3)).filter((m) => m.purpose === 'channel');
    await h.click('U0BOB', channelMsg!, 'reject');
    const modal = await h.waitFor(async () =>
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

    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    expect(h.postsOfStep(done, 'notify:requester').map((p) => p.text)).toEqual([
      expect.stringContaining('No change ticket attached'),
    ]);
    expect((await auditOf(id)).find((r) => r.action === 'approval.decided')).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0BOB' },
      after: { status: 'rejected', reason: 'No change ticket attached' },
    });
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
    const history = await suite.temporal.workflow.getHandle(`approval:${id}`).fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(1); // only approvalReady from the creation
    const done = await h.settled(id);
    expect(done.activities.filter((a) => a.type === 'updateSlackMessage')).toHaveLength(0);
  });

  it('validation is strict and every 400 names the field (unknown keys, limits, durations, policy, SLA, people); an unknown person is audited as approval.invalid', async () => {
    const ghost = `nobody-${Math.random().toString(36).slice(2, 10)}@example.com`;
    const cases: [Record<string, unknown>, RegExp][] = [
      [h.body({ approvers: [] }), /approvers: at least one approver/],
      [h.body({ approvers: [ghost] }), /approvers\.0: "nobody-.*@example\.com" is not a person/],
      [h.body({ approvers: ['U0NOPE'] }), /approvers\.0/],
      [h.body({ requester: 'ghost@example.com' }), /requester/],
      [h.body({ approvers: ['U0ALICE', 'U0BOB'] }), /approvers: the requester cannot approve/],
      [h.body({ sla: { expireAfter: '30x' } }), /sla\.expireAfter: "30x" is not a duration/],
      [h.body({ sla: { expireAfter: '366d' } }), /sla\.expireAfter/],
      [h.body({ sla: { remindAfter: '2h', expireAfter: '1h' } }), /sla\.remindAfter: must be shorter/],
      [
        h.body({ sla: { escalateAfter: '2h', expireAfter: '1h', escalateTo: { channel: 'C0ESCALATE' } } }),
        /sla\.escalateAfter: must be shorter/,
      ],
      [h.body({ sla: { escalateAfter: '1h' } }), /sla\.escalateTo/],
      [h.body({ policy: { required: 3 } }), /policy\.required/],
      [h.body({ policy: { levels: Array.from({ length: 5 }, () => ({ approvers: ['U0ERIN'] })) } }), /policy\.levels/],
      [h.body({ approvers: 'U0BOB' }), /approvers/],
      [h.body({ approvers: Array.from({ length: 26 }, (_, i) => `U0X${i}`) }), /approvers/],
      [h.body({ colour: 'red' }), /colour/],
      [h.body({ title: '' }), /title/],
      [h.body({ title: 'x'.repeat(151) }), /title/],
      [h.body({ description: 'x'.repeat(2901) }), /description/],
      [h.body({ fields: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, 'v'])) }), /fields/],
      [h.body({ channel: '#approvals' }), /channel/],
      [h.body({ callbackUrl: 'ftp://x' }), /callbackUrl/],
    ];
    for (const [b, msg] of cases) {
      const res = await h.create(b);
      const json = (await res.json()) as { error: string; message: string };
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(json.error).toBe('invalid_body');
      expect(json.message).toMatch(msg);
    }
    // A request refused for its people is a closed workflow, audited with the problem.
    const { rows } = await suite.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'approval.invalid' AND details::text LIKE $1`,
      [`%${ghost}%`],
    );
    expect(rows[0]!.n).toBe(1);
    // Both documented forms of `fields` are accepted.
    const withList = await h.created(h.body({ fields: [{ label: 'Service', value: 'checkout' }] }));
    const [channelMsg] = (await h.posted(withList, 3)).filter((m) => m.purpose === 'channel');
    expect(seen(await h.slack.message(channelMsg!.channel, channelMsg!.ts))).toContain('checkout');

    const noAuth = await fetch(`${h.api}/v1/approvals`, { method: 'POST', body: '{}' });
    expect(noAuth.status).toBe(401);
    const missing = await fetch(`${h.api}/v1/approvals/apr_doesnotexist`, { headers: h.auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'approval_not_found' });
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
    const v = await h.waitStatus(id, 'approved');
    const winner = v.decidedBy!;
    expect(['U0BOB', 'U0CAROL']).toContain(winner);

    // Every click has been answered; once the workflow is idle, count decisions and posts.
    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    expect((await h.get(id)).votes).toHaveLength(1);
    expect(h.postsOfStep(done, 'decision')).toHaveLength(1);
    expect(h.postsOfStep(done, 'notify:requester')).toHaveLength(1);
    for (const m of msgs) expect(h.updatesOf(done, m)).toBe(1); // locked once each: one decision
    const decisions = (await auditOf(id)).filter((r) => r.action === 'approval.decided');
    expect(decisions).toHaveLength(1);

    // The two clicks that did not decide are each told who did, once.
    const answers = await h.waitFor(async () => {
      const posts = await h.slack.responseUrlPosts();
      const per = clicks.map((c) => posts.filter((p) => c.response_url?.endsWith(`/${p.id}`)));
      return per.filter((p) => p.length > 0).length >= 2 ? per : undefined;
    });
    const told = answers.filter((p) =>
      p.some((x) => JSON.stringify(x.body).includes(`Already decided: approved by <@${winner}>`)),
    );
    expect(told).toHaveLength(2);
    expect(answers.every((p) => p.length <= 1)).toBe(true);
  });

  it('N of M: the first approval is recorded (shown, and audited as approval.vote), the second decides', async () => {
    const id = await h.created(
      h.body({ approvers: ['U0BOB', 'U0CAROL', 'U0DAVE'], policy: { required: 2 }, channel: undefined }),
    );
    const dms = await h.posted(id, 3);
    const bobDm = dms.find((m) => m.user === 'U0BOB')!;
    const first = await h.click('U0BOB', bobDm, 'approve');
    expect(await h.responseTo(first.response_url)).toContain('Your approval is recorded; 1 more needed.');
    await h.waitFor(async () => seen(await h.slack.message(bobDm.channel, bobDm.ts)).includes('1 so far'));
    expect((await h.get(id)).status).toBe('pending');
    const again = await h.click('U0BOB', bobDm, 'approve');
    expect(await h.responseTo(again.response_url)).toContain('You already approved');
    const vote = await h.waitFor(async () => (await auditOf(id)).find((r) => r.action === 'approval.vote'));
    expect(vote).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0BOB' },
      details: { decision: 'approve', level: 1 },
    });

    const daveDm = dms.find((m) => m.user === 'U0DAVE')!;
    await h.click('U0DAVE', daveDm, 'approve');
    const v = await h.waitStatus(id, 'approved');
    expect(v.decidedBy).toBe('U0DAVE');
    expect(v.votes.map((x) => x.user)).toEqual(['U0BOB', 'U0DAVE']);
    for (const dm of dms) expect(seen(await h.locked(dm))).toContain('Approved by <@U0DAVE>');

    // No channel: the decision is replied in every DM thread, once each.
    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    const replies = h.postsOfStep(done, 'decision');
    expect(replies.map((r) => r.threadTs).sort()).toEqual(dms.map((d) => d.ts).sort());
    const audit = await auditOf(id);
    expect(audit.filter((r) => r.action === 'approval.vote').map((r) => r.actor.id)).toEqual(['U0BOB']);
    expect(audit.find((r) => r.action === 'approval.decided')).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0DAVE' },
      details: { votes: 2 },
    });
  });

  it('sequential levels: level 2 is asked only after level 1 approves (audited as approval.level_advanced), and only level 2 can finish it', async () => {
    const id = await h.created(
      h.body({ approvers: ['U0BOB'], channel: undefined, policy: { levels: [{ approvers: ['U0ERIN'] }] } }),
    );
    const [bobDm] = await h.posted(id, 1);
    expect(bobDm!.user).toBe('U0BOB');
    const early = await h.click('U0ERIN', bobDm!, 'approve');
    expect(await h.responseTo(early.response_url)).toContain('You are not an approver');
    const bob = await h.click('U0BOB', bobDm!, 'approve');
    expect(await h.responseTo(bob.response_url)).toContain('the next level is asked now');
    const msgs = await h.posted(id, 2);
    const erinDm = msgs.find((m) => m.user === 'U0ERIN')!;
    expect(await h.get(id)).toMatchObject({ status: 'pending', currentLevel: 2 });
    const level = await h.waitFor(async () => (await auditOf(id)).find((r) => r.action === 'approval.level_advanced'));
    expect(level).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0BOB' },
      after: { level: 2, approvers: ['U0ERIN'] },
    });
    const atLevel2 = await h.settled(id);
    h.expectEachPostOnce(atLevel2);
    expect(h.postsOfStep(atLevel2, 'post:dm:L1').map((p) => p.channel)).toEqual([erinDm.channel]);
    expect(h.postsOfStep(atLevel2, 'level')).toHaveLength(1); // one "next level" reply in Bob's DM thread

    await h.click('U0ERIN', erinDm, 'approve');
    expect(await h.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0ERIN' });
    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    expect((await auditOf(id)).filter((r) => r.action === 'approval.level_advanced')).toHaveLength(1);
  });

  it('the decision long-poll is still pending at the click and answers it; it also returns on timeout while pending; DELETE cancels; Idempotency-Key replays', async () => {
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
    // Proof that the poll is waiting (not answered early): still unanswered after a short while.
    const early = await Promise.race([
      poll.then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('pending'), 500)),
    ]);
    expect(early).toBe('pending');
    const clickedAt = Date.now();
    await h.click('U0BOB', channelMsg!, 'approve');
    const res = await poll;
    expect(res.body).toMatchObject({ approvalId: id, status: 'approved', decided: true, decidedBy: 'U0BOB' });
    expect(res.at).toBeGreaterThanOrEqual(clickedAt);
    expect(res.at - clickedAt).toBeLessThan(45_000); // bounded by the click, well inside the 60 s wait

    const late = await fetch(`${h.api}/v1/approvals/${id}`, { method: 'DELETE', headers: h.auth });
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ error: 'already_decided' });

    const id2 = await h.created(h.body());
    const [ch2] = (await h.posted(id2, 3)).filter((m) => m.purpose === 'channel');
    const del = await fetch(`${h.api}/v1/approvals/${id2}?reason=not%20needed`, { method: 'DELETE', headers: h.auth });
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ status: 'cancelled', cancelled: true });
    expect(seen(await h.locked(ch2!))).toContain('Cancelled');
    const again = await fetch(`${h.api}/v1/approvals/${id2}`, { method: 'DELETE', headers: h.auth });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'cancelled', cancelled: false });
    const click = await h.click('U0BOB', ch2!, 'approve').catch((e: unknown) => e);
    expect(click).toBeInstanceOf(Error); // the buttons are gone
    expect(await h.get(id2)).toMatchObject({ status: 'cancelled', reason: 'not needed', votes: [] });
    const audit = (await auditOf(id2)).find((r) => r.action === 'approval.cancelled');
    expect(audit?.actor).toEqual({ kind: 'api_client', id: callerFingerprint(h.auth.authorization) });
  });

  it('/threadline approval opens a form; bad input is refused in the window; a valid submission files the request (audited with the Slack user as creator)', async () => {
    const cmd = await h.slack.runSlashCommand({
      user: 'U0ALICE',
      channel: 'C0APPROVAL',
      command: '/threadline',
      text: 'approval',
    });
    expect(cmd.delivery.status).toBe(200);
    const modal = await h.waitFor(async () =>
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
    const created = (await auditOf(id)).find((r) => r.action === 'approval.created');
    expect(created).toMatchObject({ actor: { kind: 'slack_user', id: 'U0ALICE' }, sourceSystem: 'slack' });
    h.expectEachPostOnce(await h.settled(id));
  });

  it('SLA defaults: APPROVAL_EXPIRE_AFTER when a request gives no expiry, APPROVAL_REMIND_AFTER only when it is shorter than the expiry', async () => {
    // This file runs with APPROVAL_REMIND_AFTER=1h and APPROVAL_EXPIRE_AFTER=1d.
    const sla = async (over: Record<string, unknown>) => {
      const id = await h.created(h.body(over));
      const input = await startInputOf<ApprovalWorkflowInput>(suite.temporal, `approval:${id}`);
      return input.request.sla;
    };
    expect(await sla({})).toEqual({ remindAfterMs: 3_600_000, expireAfterMs: 86_400_000 });
    expect(await sla({ sla: { expireAfter: '2h' } })).toEqual({ remindAfterMs: 3_600_000, expireAfterMs: 7_200_000 });
    expect(await sla({ sla: { expireAfter: '30m' } })).toEqual({ expireAfterMs: 1_800_000 });
    expect(await sla({ sla: { remindAfter: '10m', expireAfter: '30m' } })).toEqual({
      remindAfterMs: 600_000,
      expireAfterMs: 1_800_000,
    });
  });

  it('Slack unreachable while resolving people: 503 slack_unavailable, nothing posted; the retry with the same Idempotency-Key opens exactly one live request', async () => {
    const key = `idem-outage-${Math.random().toString(36).slice(2)}`;
    const b = h.body({ title: `Outage ${key}` });
    // Every lookup fails with a 503 until the fault is cleared; the lookup is bounded (20 s).
    await h.slack.injectFault({ method: 'users.lookupByEmail', kind: 'status', status: 503, count: 1000 });
    await h.slack.injectFault({ method: 'users.info', kind: 'status', status: 503, count: 1000 });
    const t0 = Date.now();
    const down = await h.create(b, { 'idempotency-key': key });
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: 'slack_unavailable' });
    await h.slack.clearFaults();

    // The refused request is a closed workflow with status invalid (GET answers 404 for it).
    const refused = await h.waitFor(async () => {
      const found: string[] = [];
      for await (const w of suite.temporal.workflow.list({
        query: `TaskQueue = '${suite.stack.taskQueue}' AND ThreadlineStatus = 'invalid' AND StartTime >= '${new Date(t0 - 1000).toISOString()}'`,
      }))
        found.push(w.workflowId);
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(refused).toHaveLength(1);
    const refusedId = refused[0]!.replace('approval:', '');
    expect(await suite.temporal.workflow.getHandle(refused[0]!).result()).toMatchObject({ status: 'invalid' });
    // GET replays the closed workflow (a query): its lookup's local activity timed out, which a
    // replay sees without the ActivityFailure wrapper (platform/temporal/workflow/local.ts).
    expect((await fetch(`${h.api}/v1/approvals/${refusedId}`, { headers: h.auth })).status).toBe(404);
    await recordFixture('approval-lookup-timed-out', await eventsOf(suite.temporal.workflow.getHandle(refused[0]!)));

    const retry = await h.create(b, { 'idempotency-key': key });
    expect(retry.status).toBe(201);
    const { approvalId } = (await retry.json()) as { approvalId: string };
    expect(approvalId).not.toBe(refusedId);
    await h.posted(approvalId, 3);
    const live = await h.settled(approvalId);
    h.expectEachPostOnce(live);
    expect(h.postsOfStep(live, 'post:')).toHaveLength(3);
    expect((await h.settled(refusedId)).posts).toEqual([]);
  });
});
