import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { clickApprove, openApproval, ownedPayment, waitIdle, waitUntil } from './ingress-helpers.js';

/**
 * Defect 8 (issue 9): `/threadline status <id>` answers only people entitled to the subject
 * (participants, audit actors, members of the conversations its messages are in, checked with
 * conversations.members), and refuses everyone else with a sentence that says nothing about the
 * subject (the same one an unknown id gets). When the workflow is gone, the audit trail answers,
 * under the same check. The emulator acts as the people; membership changes go through the Web API.
 */
describe('/threadline status authorization', () => {
  let stack: TestStack;
  let pool: Pool;
  let slack: SlackEmulatorAdmin;
  let bot: WebClient;
  let connection: Connection;
  let temporal: Client;
  let payment: Awaited<ReturnType<typeof ownedPayment>>;

  beforeAll(async () => {
    stack = await startTestStack();
    pool = createPool(stack.urls.databaseUrl);
    slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    bot = new WebClient(stack.config.slack.botToken, { slackApiUrl: stack.config.slack.apiUrl });
    connection = await Connection.connect({ address: stack.urls.temporal });
    temporal = new Client({ connection });
    payment = await ownedPayment(stack, pool, { payerName: 'Zara Secretpayer' });
    // Erin is in the workspace but not in the payments channel (nor in approvals).
    await bot.conversations.kick({ channel: payment.channel, user: 'U0ERIN' });
    await bot.conversations.kick({ channel: 'C0APPROVAL', user: 'U0ERIN' });
  });
  afterAll(async () => {
    await connection?.close();
    await pool?.end();
    await stack?.stop();
  });

  /** Runs the command as `user` and returns the answer posted to its response_url. */
  async function status(user: string, query: string): Promise<string> {
    const cmd = await slack.runSlashCommand({
      user,
      channel: 'C0OPSALERT',
      command: '/threadline',
      text: `status ${query}`,
    });
    expect(cmd.delivery.status).toBe(200);
    expect(JSON.stringify(cmd.delivery.response)).toContain('Looking up');
    const post = await waitUntil(async () => {
      const posts = await slack.responseUrlPosts();
      return posts.find((p) => cmd.response_url.endsWith(`/${p.id}`));
    }, 20_000);
    const text = (post.body as { text?: string }).text ?? '';
    expect((post.body as { response_type?: string }).response_type).toBe('ephemeral');
    return text;
  }

  /** What a refusal (or an unknown id) says, for this query. */
  const refusal = (query: string) =>
    new RegExp(`^I can't show you \`${query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`: either it does not exist`);

  it('a member of the channel where the payment is discussed gets its status (payment:… and bare order id)', async () => {
    const byWorkflowId = await status('U0ALICE', payment.workflowId);
    expect(byWorkflowId).toContain(payment.workflowId);
    expect(byWorkflowId).toContain('Zara Secretpayer');
    const byOrderId = await status('U0BOB', payment.orderId);
    expect(byOrderId).toContain('Zara Secretpayer');
  });

  it('a workspace member outside its conversations is refused, and learns nothing about it', async () => {
    const answer = await status('U0ERIN', payment.workflowId);
    expect(answer).toMatch(refusal(payment.workflowId));
    for (const secret of ['Zara', 'Secretpayer', '9,876', '98,765', 'INR', 'initiated', 'updated']) {
      expect(answer).not.toContain(secret);
    }
    const bare = await status('U0ERIN', payment.orderId);
    expect(bare).toMatch(refusal(payment.orderId));
    expect(bare).not.toContain('Zara');
  });

  it('an unknown id gets the very same sentence as a refusal', async () => {
    const unknown = `order_${randomUUID().slice(0, 8)}`;
    const a = await status('U0ALICE', `payment:${unknown}`);
    const b = await status('U0ERIN', payment.workflowId);
    expect(a.replace(`payment:${unknown}`, 'X')).toBe(b.replace(payment.workflowId, 'X'));
    expect(await status('U0ALICE', unknown)).toMatch(refusal(unknown));
  });

  it('approval:…: channel members and its voters (audit actors, DM members) get it; others do not', async () => {
    const { workflowId, channelMsg } = await openApproval(
      stack,
      { title: 'Open the vault', policy: { required: 2 } },
      3,
    );
    // Carol votes (an audit actor from now on), then leaves the approvals channel.
    const click = await clickApprove(slack, 'U0CAROL', channelMsg);
    expect(click.delivery.status).toBe(200);
    await waitUntil(async () => {
      const rows = await pool.query(`SELECT 1 FROM audit_log WHERE subject = $1 AND actor_id = 'U0CAROL'`, [
        workflowId,
      ]);
      return rows.rowCount! > 0;
    }, 20_000);
    await bot.conversations.kick({ channel: 'C0APPROVAL', user: 'U0CAROL' });
    await bot.conversations.kick({ channel: 'C0APPROVAL', user: 'U0BOB' });

    expect(await status('U0DAVE', workflowId)).toContain('Open the vault'); // channel member
    expect(await status('U0CAROL', workflowId)).toContain('Open the vault'); // audit actor (and DM member)
    expect(await status('U0BOB', workflowId)).toContain('Open the vault'); // only via the DM it was sent
    const erin = await status('U0ERIN', workflowId);
    expect(erin).toMatch(refusal(workflowId));
    expect(erin).not.toContain('vault');
  });

  it('a workflow that no longer exists is answered from its audit trail, to entitled people only', async () => {
    const gone = await ownedPayment(stack, pool, { payerName: 'Gone Payer' });
    await waitIdle(temporal, gone.workflowId);
    await temporal.workflowService.deleteWorkflowExecution({
      namespace: stack.config.temporal.namespace,
      workflowExecution: { workflowId: gone.workflowId },
    });
    await waitUntil(async () => {
      try {
        await temporal.workflow.getHandle(gone.workflowId).describe();
        return false;
      } catch (err) {
        return err instanceof WorkflowNotFoundError;
      }
    }, 20_000);

    const answer = await status('U0ALICE', gone.workflowId);
    expect(answer).toContain(gone.workflowId);
    expect(answer).toContain('last recorded:');
    expect(await status('U0ERIN', gone.workflowId)).toMatch(refusal(gone.workflowId));

    const metrics = await (await fetch(`${stack.urls.api}/metrics`)).text();
    expect(metrics).toMatch(/threadline_status_lookups_total\{outcome="answered_from_audit"\} [1-9]/);
    expect(metrics).toMatch(/threadline_status_lookups_total\{outcome="refused"\} [1-9]/);
  });
});
