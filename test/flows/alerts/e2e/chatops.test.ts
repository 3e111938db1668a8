import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SANDBOX_ACTION_SIGNING_SECRET } from '../../../../src/flows/alerts/config.js';
import { chatopsWorkflowId, type ChatopsRunState } from '../../../../src/flows/alerts/contract.js';
import { chatopsRunId } from '../../../../src/flows/alerts/start.js';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { searchableText } from '../../../helpers/secrets.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { decodedHistory, testDataConverter } from '../../../helpers/temporal.js';
import { alertsHarness, startActionReceiver, type ActionRequest } from './helpers.js';

describe('ChatOps: /threadline run (signed, retried requests; approval-gated through the approvals flow)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof alertsHarness>;
  let receiver: Awaited<ReturnType<typeof startActionReceiver>>;
  let connection: Connection;
  let client: Client;
  let pool: Pool;

  beforeAll(async () => {
    // `flaky` answers 503 to the first attempt: the run's retry policy must get it through.
    // `hang` answers after 8 s, far longer than the `slow` action's 2 s timeout.
    receiver = await startActionReceiver(SANDBOX_ACTION_SIGNING_SECRET, (r) =>
      r.body.includes('"service":"hang"')
        ? { status: 200, delayMs: 8_000 }
        : r.body.includes('"service":"flaky"') && r.headers['x-threadline-attempt'] === '1'
          ? 503
          : 200,
    );
    stack = await startTestStack({
      APPROVAL_REMIND_AFTER: '1h',
      ALERTS_CONFIG: JSON.stringify({
        default: { channel: 'C0OPSALERT' },
        actions: {
          restart: {
            description: 'Restart a service',
            channels: ['C0OPSALERT'],
            people: ['U0BOB'],
            args: [{ name: 'service', required: true, pattern: '[a-z-]+' }],
            url: receiver.url,
            timeout: '5s',
            maxAttempts: 3,
          },
          slow: {
            description: 'An endpoint slower than its timeout',
            people: ['U0BOB'],
            args: [{ name: 'service', required: true }],
            url: receiver.url,
            timeout: '2s',
            maxAttempts: 2,
          },
          deploy: {
            description: 'Deploy to production',
            people: ['U0BOB'],
            args: [{ name: 'service', required: true }],
            url: receiver.url,
            approval: { approvers: ['U0ALICE'], expireAfter: '1h' },
          },
        },
      }),
    });
    h = alertsHarness(stack);
    connection = await Connection.connect({ address: stack.urls.temporal });
    client = new Client({ connection, dataConverter: testDataConverter() });
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await pool?.end();
    await connection?.close();
    await stack?.stop();
    await receiver?.close();
  });

  const run = async (user: string, text: string, channel = 'C0OPSALERT') => {
    const r = await h.slack.runSlashCommand({ user, channel, command: '/threadline', text });
    return { reply: JSON.stringify(r.delivery.response), runId: chatopsRunId(r.trigger_id) };
  };
  const result = (runId: string) =>
    client.workflow.getHandle(chatopsWorkflowId(runId)).result() as Promise<ChatopsRunState>;
  const requestsOf = (runId: string): ActionRequest[] =>
    receiver.received.filter((r) => r.headers['x-threadline-delivery'] === runId);

  /** The approval's DM to Alice (the approvals flow's own message and buttons). */
  async function approvalDm(runId: string) {
    return h.slack.waitFor(async () => {
      const res = await fetch(`${h.api}/v1/approvals/act_${runId}`, { headers: h.auth });
      if (res.status !== 200) return undefined;
      const a = (await res.json()) as { slack: { channel: string; ts: string; purpose: string; user?: string }[] };
      return a.slack.find((m) => m.purpose === 'dm' && m.user === 'U0ALICE');
    }, 20_000);
  }

  it('an approval-gated action runs exactly once after approval, signed, and the outcome lands in its thread', async () => {
    const { reply, runId } = await run('U0BOB', 'run deploy service=checkout');
    expect(reply).toContain('Asking for approval to run');
    const dm = await approvalDm(runId);
    expect(requestsOf(runId)).toHaveLength(0); // nothing runs before the approval
    await h.slack.clickButton({ user: 'U0ALICE', channel: dm.channel, ts: dm.ts, action_id: 'tl:approval.approve' });
    const state = await result(runId);
    expect(state).toMatchObject({
      status: 'succeeded',
      approvalStatus: 'approved',
      result: { httpStatus: 200, attempts: 1 },
    });
    const requests = requestsOf(runId);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.verified).toBe(true);
    expect(JSON.parse(requests[0]!.body)).toMatchObject({
      action: 'deploy',
      args: { service: 'checkout' },
      invokedBy: 'U0BOB',
      approvalId: `act_${runId}`,
    });
    const root = state.root!;
    expect(root.channel).toBe('C0OPSALERT');
    const replies = (await h.replies(root)).map((r) => r.text);
    expect(replies[0]).toContain('Asked <@U0ALICE> for approval');
    expect(replies.at(-1)).toContain('`deploy` succeeded (HTTP 200): restarted checkout');
    expect((await h.slack.message(root.channel, root.ts)).text).toContain('deploy: Succeeded');
    // The endpoint URL is config (it may carry a token): neither workflow's history holds it.
    for (const workflowId of [chatopsWorkflowId(runId), `approval:act_${runId}`]) {
      const history = searchableText(await decodedHistory(stack.urls.temporal, workflowId));
      expect(history, workflowId).toContain('deploy');
      expect(history, workflowId).not.toContain(receiver.url);
    }
  });

  it('a rejected approval never calls the endpoint', async () => {
    const { runId } = await run('U0BOB', 'run deploy service=billing');
    const dm = await approvalDm(runId);
    await h.slack.clickButton({ user: 'U0ALICE', channel: dm.channel, ts: dm.ts, action_id: 'tl:approval.reject' });
    const modal = await h.slack.waitFor(async () =>
      (await h.slack.views()).find(
        (v) => v.user === 'U0ALICE' && v.open && v.private_metadata === `approval:act_${runId}`,
      ),
    );
    await h.slack.submitView({ user: 'U0ALICE', view_id: modal.id, values: { reason: { reason: 'freeze week' } } });
    const state = await result(runId);
    expect(state).toMatchObject({ status: 'rejected', approvalStatus: 'rejected' });
    // The run is over (observable end): only now is "never called" meaningful.
    expect(requestsOf(runId)).toHaveLength(0);
    expect((await h.replies(state.root!)).at(-1)!.text).toContain('The approval was rejected; `deploy` was not run.');
    const audit = await auditLogRepo(pool).bySubject(chatopsWorkflowId(runId));
    expect(audit.map((r) => r.action)).toEqual(['chatops.requested', 'chatops.rejected']);
  });

  it('an ungated action is retried on 503 with the same delivery id and succeeds', async () => {
    const { reply, runId } = await run('U0BOB', 'run restart flaky');
    expect(reply).toContain('Running `restart`');
    const state = await result(runId);
    expect(state).toMatchObject({ status: 'succeeded', result: { httpStatus: 200, attempts: 2 } });
    expect(requestsOf(runId).map((r) => r.headers['x-threadline-attempt'])).toEqual(['1', '2']);
    expect(requestsOf(runId).every((r) => r.verified)).toBe(true);
  });

  it('an endpoint slower than the timeout: each attempt is cut at the timeout, retried to maxAttempts, then reported failed', async () => {
    const { runId } = await run('U0BOB', 'run slow service=hang');
    const state = await result(runId);
    expect(state.status).toBe('failed');
    expect(state.result?.error).toMatch(/timeout/);
    // Both attempts reached the endpoint with the same delivery id; none was answered in time.
    expect(requestsOf(runId).map((r) => r.headers['x-threadline-attempt'])).toEqual(['1', '2']);
    const replies = (await h.replies(state.root!)).map((r) => r.text);
    expect(replies.filter((t) => t.includes('`slow` failed'))).toHaveLength(1);
    const audit = await auditLogRepo(pool).bySubject(chatopsWorkflowId(runId));
    expect(audit.filter((r) => r.action === 'chatops.failed')).toHaveLength(1);
  });

  it('refuses what may not run, with the reason, within the 3 s (nothing starts)', async () => {
    expect((await run('U0BOB', 'run')).reply).toContain('restart service=…');
    expect((await run('U0DAVE', 'run')).reply).toContain('There are no actions you can run in this channel.');
    expect((await run('U0DAVE', 'run restart api')).reply).toContain('You are not allowed to run `restart`.');
    expect((await run('U0BOB', 'run restart api', 'C0TICKETS')).reply).toContain('can only be run in <#C0OPSALERT>');
    expect((await run('U0BOB', 'run restart Bad_Name')).reply).toContain('`service` must match');
    expect((await run('U0BOB', 'run restart')).reply).toContain('Argument `service` is required.');
    expect((await run('U0BOB', 'run nope')).reply).toContain('There is no action `nope`');
    for (const inherited of ['constructor', '__proto__', 'toString'])
      expect((await run('U0BOB', `run ${inherited}`)).reply).toContain(`There is no action \`${inherited}\``);
    const refused = await run('U0BOB', 'run restart Bad_Name');
    await expect(client.workflow.getHandle(chatopsWorkflowId(refused.runId)).describe()).rejects.toThrow(/not found/i);
  });
});
