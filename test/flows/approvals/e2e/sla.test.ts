import { describe, expect, it } from 'vitest';
import { signCallbackBody } from '../../../../src/flows/approvals/activities.js';
import { approvalsFlow } from '../../../../src/flows/approvals/flow.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { flowConfigOf } from '../../../../src/platform/flow.js';
import { FailureType } from '../../../../src/platform/temporal/failure-types.js';
import { counterValue } from '../../../helpers/effects.js';
import { flowSuite, harnessOf } from '../../../helpers/flow-suite.js';
import { approvalsHarness, callbackReceiver, hasButtons, seen, type ApprovalView } from './helpers.js';

describe('approval SLA timers, decision callbacks and the decided grace, end to end (short configured durations)', () => {
  const auditOf = (id: string) => auditLogRepo(suite.pool).bySubject(`approval:${id}`);
  const callbackCalls = (outcome: string) =>
    counterValue(h.api, 'threadline_external_calls_total', { system: 'callback', method: 'POST', outcome });
  /** The request's workflow has run to its end (decided, grace elapsed): nothing more can happen. */
  const closed = (id: string) => suite.temporal.workflow.getHandle(`approval:${id}`).result();

  const suite = flowSuite({
    APPROVAL_REMIND_AFTER: '1h',
    APPROVAL_DECIDED_GRACE: '2s',
    APPROVAL_CALLBACK_MAX_ATTEMPTS: '3',
    APPROVAL_CALLBACK_RETRY_INITIAL: '100ms',
    APPROVAL_CALLBACK_RETRY_MAX: '200ms',
  });
  const h = harnessOf(suite, approvalsHarness);

  /** One approver, DM only: Bob's approval decides it and sends the callback. */
  async function approvedWithCallback(callbackUrl: string): Promise<string> {
    const id = await h.created(h.body({ approvers: ['U0BOB'], channel: undefined, callbackUrl }));
    const [dm] = await h.posted(id, 1);
    await h.click('U0BOB', dm!, 'approve');
    return id;
  }

  async function callbackSettled(id: string, status: 'delivered' | 'failed'): Promise<ApprovalView> {
    const v = await h.waitFor(async () => {
      const x = await h.get(id);
      return x.callback?.status === status ? x : undefined;
    }, 30_000);
    await closed(id);
    return v;
  }

  it('reminds in the thread once, then escalates to level 2 (channel + DM) which gains authority and decides', async () => {
    const id = await h.created(
      h.body({
        approvers: ['U0BOB'],
        sla: {
          remindAfter: '1s',
          escalateAfter: '2s',
          escalateTo: { approvers: ['erin@example.com'], channel: 'C0ESCALATE' },
          expireAfter: '1h',
        },
      }),
    );
    const [channelMsg] = (await h.posted(id, 2)).filter((m) => m.purpose === 'channel');
    // Escalation approvers gain authority only once escalated: on a request whose escalation is an
    // hour away (a click on the one above could land after its 2 s escalation on a loaded machine).
    const later = await h.created(
      h.body({
        approvers: ['U0BOB'],
        sla: { escalateAfter: '1h', escalateTo: { approvers: ['U0ERIN'] }, expireAfter: '2h' },
      }),
    );
    const [laterMsg] = (await h.posted(later, 2)).filter((m) => m.purpose === 'channel');
    const early = await h.click('U0ERIN', laterMsg!, 'approve');
    expect(await h.responseTo(early.response_url)).toContain('You are not an approver');

    const replies = await h.waitFor(async () => {
      const r = await h.slack.threadReplies(channelMsg!.channel, channelMsg!.ts);
      return r.length >= 2 ? r : undefined;
    }, 30_000);
    expect(replies[0]!.text).toContain('Reminder');
    expect(replies[0]!.text).toContain('<@U0BOB>');
    expect(replies[1]!.text).toContain('Escalated');
    expect(replies[1]!.text).toContain('<@U0ERIN>');

    const v = await h.waitFor(async () => {
      const x = await h.get(id);
      // The DM and the escalation channel post are separate activities: wait for both.
      const both = ['escalation_dm', 'escalation'].every((p) => x.slack.some((m) => m.purpose === p));
      return both ? x : undefined;
    });
    expect(v).toMatchObject({ reminded: true, escalated: true, status: 'pending' });
    const escalation = v.slack.find((m) => m.purpose === 'escalation')!;
    expect(escalation.channel).toBe('C0ESCALATE');
    expect(hasButtons(await h.slack.message(escalation.channel, escalation.ts))).toBe(true);

    await h.click('U0ERIN', escalation, 'approve');
    expect(await h.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0ERIN' });
    expect(seen(await h.locked(escalation))).toContain('Approved by <@U0ERIN>');
    expect(seen(await h.locked(channelMsg!))).toContain('Approved by <@U0ERIN>');

    await closed(id);
    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    expect(h.postsOfStep(done, 'reminder')).toHaveLength(1); // reminders are sent once
    expect(h.postsOfStep(done, 'escalation')).toHaveLength(1);
    expect(h.postsOfStep(done, 'post:escalation').map((p) => p.channel)).toContain('C0ESCALATE');
    const audit = await auditOf(id);
    const system = { kind: 'system', id: 'approval-workflow' };
    expect(audit.find((r) => r.action === 'approval.reminded')).toMatchObject({ actor: system });
    expect(audit.find((r) => r.action === 'approval.escalated')).toMatchObject({
      actor: system,
      after: { approvers: ['U0ERIN'], channel: 'C0ESCALATE' },
    });
    expect(audit.find((r) => r.action === 'approval.decided')).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0ERIN' },
    });
  });

  it('expires: the message shows it, the waiting caller gets `expired`; the callback is signed and retried until the receiver recovers', async () => {
    const hook = await callbackReceiver([503, 503]);
    try {
      const id = await h.created(h.body({ approvers: ['U0BOB'], sla: { expireAfter: '2s' }, callbackUrl: hook.url }));
      const [channelMsg] = (await h.posted(id, 2)).filter((m) => m.purpose === 'channel');
      const poll = await fetch(`${h.api}/v1/approvals/${id}/decision?wait=30s`, { headers: h.auth });
      expect(await poll.json()).toMatchObject({ status: 'expired', decided: true, decidedBy: null });
      const msg = await h.locked(channelMsg!);
      expect(seen(msg)).toContain('Expired');
      expect(hasButtons(msg)).toBe(false);

      const v = await callbackSettled(id, 'delivered');
      expect(v.callback).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(hook.hits).toHaveLength(3); // counted after the workflow closed: no attempt can follow
      const secret = flowConfigOf(suite.stack.config, approvalsFlow).callbackSecret!;
      for (const [i, hit] of hook.hits.entries()) {
        expect(hit.headers['x-threadline-signature']).toBe(signCallbackBody(secret, hit.body));
        expect(hit.headers['x-threadline-delivery']).toBe(`approval:${id}:decision`);
        expect(hit.headers['x-threadline-attempt']).toBe(String(i + 1));
        expect(hit.headers['content-type']).toBe('application/json');
      }
      expect(JSON.parse(hook.hits[2]!.body)).toEqual({
        type: 'approval.decided',
        deliveryId: `approval:${id}:decision`,
        approvalId: id,
        status: 'expired',
        decidedBy: null,
        decidedAt: expect.any(String),
        reason: null,
        votes: [],
      });
      const audit = await auditOf(id);
      const delivered = audit.find((r) => r.action === 'approval.callback_delivered')!;
      expect(delivered.details).toMatchObject({
        status: 200,
        attempt: 3,
        host: expect.stringMatching(/^127\.0\.0\.1:/),
      });
      expect(JSON.stringify(delivered)).not.toContain('token=abc'); // URLs may carry secrets: only the host is kept
      expect(audit.find((r) => r.action === 'approval.expired')).toMatchObject({
        actor: { kind: 'system', id: 'sla' },
      });
    } finally {
      await hook.close();
    }
  });

  it('a receiver that keeps failing: the callback gives up after the configured attempts, visibly (audit, metric, API)', async () => {
    const hook = await callbackReceiver([500, 500, 500, 500]);
    try {
      const transientBefore = await callbackCalls('transient');
      const id = await approvedWithCallback(hook.url);
      const v = await callbackSettled(id, 'failed');
      expect(v.callback!.error).toContain('500');
      expect(hook.hits).toHaveLength(3);
      const audit = (await auditOf(id)).find((r) => r.action === 'approval.callback_failed');
      expect(audit).toMatchObject({ outcome: 'failed', details: { failureType: FailureType.Transient } });
      expect(await callbackCalls('transient')).toBe(transientBefore + 3);
    } finally {
      await hook.close();
    }
  });

  it('408, 429 and a dropped connection are retried; a 429 retry waits for its Retry-After (seconds or an HTTP date); every attempt is counted', async () => {
    const slow = await callbackReceiver([408, { status: 429, headers: { 'retry-after': '2' } }]);
    // RFC 9110 allows Retry-After as an HTTP date; 3 s ahead, truncated to the second, is ≥ 2 s.
    const dated = await callbackReceiver([
      () => ({ status: 429, headers: { 'retry-after': new Date(Date.now() + 3000).toUTCString() } }),
    ]);
    const flaky = await callbackReceiver(['drop']);
    try {
      const before = {
        transient: await callbackCalls('transient'),
        rateLimited: await callbackCalls('rate_limited'),
        ok: await callbackCalls('ok'),
      };
      const [a, b, c] = await Promise.all([slow, flaky, dated].map((r) => approvedWithCallback(r.url)));
      const [va, vb, vc] = await Promise.all([
        callbackSettled(a!, 'delivered'),
        callbackSettled(b!, 'delivered'),
        callbackSettled(c!, 'delivered'),
      ]);

      expect(va.callback).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(slow.hits).toHaveLength(3);
      // The retry after the 429 came no sooner than its Retry-After (the backoff alone is ≤ 200 ms).
      expect(slow.hits[2]!.at - slow.hits[1]!.at).toBeGreaterThanOrEqual(2000);
      expect(vc.callback).toMatchObject({ status: 'delivered', attempts: 2 });
      expect(dated.hits[1]!.at - dated.hits[0]!.at).toBeGreaterThanOrEqual(2000);
      expect(vb.callback).toMatchObject({ status: 'delivered', attempts: 2 });
      expect(flaky.hits).toHaveLength(2);
      expect(flaky.hits.map((x) => x.headers['x-threadline-delivery'])).toEqual([
        `approval:${b}:decision`,
        `approval:${b}:decision`,
      ]);
      expect({
        transient: await callbackCalls('transient'),
        rateLimited: await callbackCalls('rate_limited'),
        ok: await callbackCalls('ok'),
      }).toEqual({ transient: before.transient + 2, rateLimited: before.rateLimited + 2, ok: before.ok + 3 });
    } finally {
      await Promise.all([slow.close(), dated.close(), flaky.close()]);
    }
  });

  it('a redirect is not followed and any other non-2xx fails at once: one attempt, visible in GET, the audit trail and the metric', async () => {
    const redirect = await callbackReceiver([]);
    const moved = await callbackReceiver([{ status: 302, headers: { location: `${redirect.base}/elsewhere` } }]);
    const gone = await callbackReceiver([410]);
    try {
      const permanentBefore = await callbackCalls('permanent');
      const [a, b] = await Promise.all([approvedWithCallback(moved.url), approvedWithCallback(gone.url)]);
      const [va, vb] = await Promise.all([callbackSettled(a, 'failed'), callbackSettled(b, 'failed')]);

      expect(moved.hits).toHaveLength(1);
      expect(redirect.hits).toHaveLength(0); // the Location was never requested
      expect(va.callback).toMatchObject({
        status: 'failed',
        error: 'callback receiver answered 302 (redirects are not followed)',
      });
      expect(gone.hits).toHaveLength(1);
      expect(vb.callback).toMatchObject({ status: 'failed', error: 'callback receiver answered 410' });
      for (const id of [a, b]) {
        const audit = (await auditOf(id)).find((r) => r.action === 'approval.callback_failed');
        expect(audit).toMatchObject({
          outcome: 'failed',
          targetSystem: 'callback',
          details: { failureType: FailureType.Permanent, host: expect.stringMatching(/^127\.0\.0\.1:/) },
        });
      }
      expect(await callbackCalls('permanent')).toBe(permanentBefore + 2);
    } finally {
      await Promise.all([redirect.close(), moved.close(), gone.close()]);
    }
  });

  it('a permanent Slack failure locking the copies is audited (approval.slack_failed) and the request goes on; after APPROVAL_DECIDED_GRACE a click on a stale copy gets "This request is closed"', async () => {
    const id = await h.created(h.body());
    const msgs = await h.posted(id, 3);
    const channelMsg = msgs.find((m) => m.purpose === 'channel')!;
    const carolDm = msgs.find((m) => m.user === 'U0CAROL')!;
    // The three lock updates fail permanently: every copy keeps its buttons (a stale copy).
    await h.slack.injectFault({ method: 'chat.update', kind: 'error', error: 'cant_update_message', count: 3 });
    await h.click('U0BOB', channelMsg, 'approve');
    expect(await h.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0BOB' });

    expect(await closed(id)).toEqual({ approvalId: id, status: 'approved' });
    expect(await h.slack.faults()).toEqual([]);
    const audit = await auditOf(id);
    const failures = audit.filter((r) => r.action === 'approval.slack_failed');
    expect(failures.map((r) => (r.details as { step: string }).step).sort()).toEqual(
      msgs.map((m) => `locked:${m.channel}:${m.ts}`).sort(),
    );
    expect(failures.every((r) => r.outcome === 'failed' && r.targetSystem === 'slack')).toBe(true);
    expect(audit.map((r) => r.action)).toContain('approval.decided');
    const done = await h.settled(id);
    h.expectEachPostOnce(done);
    expect(h.postsOfStep(done, 'decision')).toHaveLength(1); // the thread reply and the notice still went out
    expect(h.postsOfStep(done, 'notify:requester')).toHaveLength(1);
    for (const m of msgs) expect(h.updatesOf(done, m)).toBe(1); // permanent: not retried

    const stale = await h.slack.message(carolDm.channel, carolDm.ts);
    expect(hasButtons(stale)).toBe(true);
    const late = await h.click('U0CAROL', carolDm, 'approve');
    expect(late.delivery.status).toBe(200);
    expect(await h.responseTo(late.response_url)).toContain('This request is closed');
    // GET still answers once closed (a query replaying the closed history), and nothing changed.
    expect(await h.get(id)).toMatchObject({ status: 'approved', decidedBy: 'U0BOB', votes: [{ user: 'U0BOB' }] });
  });
});
