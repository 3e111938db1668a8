import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signCallbackBody } from '../../../../src/flows/approvals/activities.js';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { approvalsHarness, hasButtons, seen } from './helpers.js';
import { flowConfigOf } from '../../../../src/platform/flow.js';
import { approvalsFlow } from '../../../../src/flows/approvals/flow.js';

/** A callback receiver that answers the queued statuses in order, then 200. */
async function receiver(statuses: number[]) {
  const hits: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/approval?token=abc`;
  return { url, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('approval SLA timers and decision callbacks, end to end (short configured durations)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof approvalsHarness>;
  let pool: Pool;

  beforeAll(async () => {
    stack = await startTestStack({
      APPROVAL_REMIND_AFTER: '1h',
      APPROVAL_DECIDED_GRACE: '2s',
      APPROVAL_CALLBACK_MAX_ATTEMPTS: '3',
      APPROVAL_CALLBACK_RETRY_INITIAL: '100ms',
      APPROVAL_CALLBACK_RETRY_MAX: '200ms',
    });
    h = approvalsHarness(stack);
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
  });

  it('reminds in the thread, then escalates to level 2 (channel + DM) which gains authority and decides', async () => {
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
    const early = await h.click('U0ERIN', channelMsg!, 'approve');
    expect(await h.responseTo(early.response_url)).toContain('You are not an approver');

    const replies = await h.slack.waitFor(async () => {
      const r = await h.slack.threadReplies(channelMsg!.channel, channelMsg!.ts);
      return r.length >= 2 ? r : undefined;
    }, 15_000);
    expect(replies[0]!.text).toContain('Reminder');
    expect(replies[0]!.text).toContain('<@U0BOB>');
    expect(replies[1]!.text).toContain('Escalated');
    expect(replies[1]!.text).toContain('<@U0ERIN>');

    const v = await h.slack.waitFor(async () => {
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
    const actions = (await auditLogRepo(pool).bySubject(`approval:${id}`)).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['approval.reminded', 'approval.escalated', 'approval.decided']));
    expect(actions.filter((a) => a === 'approval.reminded')).toHaveLength(1);
  });

  it('expires: the message shows it, the waiting caller gets `expired`; the callback is signed and retried until the receiver recovers', async () => {
    const hook = await receiver([503, 503]);
    try {
      const id = await h.created(h.body({ approvers: ['U0BOB'], sla: { expireAfter: '2s' }, callbackUrl: hook.url }));
      const [channelMsg] = (await h.posted(id, 2)).filter((m) => m.purpose === 'channel');
      const poll = await fetch(`${h.api}/v1/approvals/${id}/decision?wait=30s`, { headers: h.auth });
      expect(await poll.json()).toMatchObject({ status: 'expired', decided: true, decidedBy: null });
      const msg = await h.locked(channelMsg!);
      expect(seen(msg)).toContain('Expired');
      expect(hasButtons(msg)).toBe(false);

      const v = await h.slack.waitFor(async () => {
        const x = await h.get(id);
        return x.callback?.status === 'delivered' ? x : undefined;
      }, 15_000);
      expect(v.callback).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(hook.hits).toHaveLength(3);
      const secret = flowConfigOf(stack.config, approvalsFlow).callbackSecret!;
      for (const [i, hit] of hook.hits.entries()) {
        expect(hit.headers['x-threadline-signature']).toBe(signCallbackBody(secret, hit.body));
        expect(hit.headers['x-threadline-delivery']).toBe(`approval:${id}:decision`);
        expect(hit.headers['x-threadline-attempt']).toBe(String(i + 1));
      }
      expect(JSON.parse(hook.hits[2]!.body)).toMatchObject({
        approvalId: id,
        status: 'expired',
        type: 'approval.decided',
      });
      const audit = await h.slack.waitFor(async () => {
        const rows = await auditLogRepo(pool).bySubject(`approval:${id}`);
        return rows.find((r) => r.action === 'approval.callback_delivered');
      });
      expect(audit.details).toMatchObject({ status: 200, attempt: 3, host: expect.stringMatching(/^127\.0\.0\.1:/) });
      expect(JSON.stringify(audit)).not.toContain('token=abc'); // URLs may carry secrets: only the host is kept
      expect((await auditLogRepo(pool).bySubject(`approval:${id}`)).map((r) => r.action)).toContain('approval.expired');
    } finally {
      await hook.close();
    }
  });

  it('a receiver that keeps failing: the callback gives up after the configured attempts, visibly (audit, metric, API)', async () => {
    const hook = await receiver([500, 500, 500, 500]);
    try {
      const id = await h.created(h.body({ approvers: ['U0BOB'], channel: undefined, callbackUrl: hook.url }));
      const [dm] = await h.posted(id, 1);
      await h.click('U0BOB', dm!, 'approve');
      const v = await h.slack.waitFor(async () => {
        const x = await h.get(id);
        return x.callback?.status === 'failed' ? x : undefined;
      }, 15_000);
      expect(v.callback!.error).toContain('500');
      expect(hook.hits).toHaveLength(3);
      const audit = await h.slack.waitFor(async () => {
        const rows = await auditLogRepo(pool).bySubject(`approval:${id}`);
        return rows.find((r) => r.action === 'approval.callback_failed');
      });
      expect(audit.outcome).toBe('failed');
      const metrics = await (await fetch(`${h.api}/metrics`)).text();
      expect(metrics).toMatch(
        /threadline_external_calls_total\{system="callback",method="POST",outcome="transient"\} [3-9]/,
      );
    } finally {
      await hook.close();
    }
  });
});
