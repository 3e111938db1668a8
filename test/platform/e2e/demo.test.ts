import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { runDemo } from '../../helpers/demo.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';

/**
 * `npm run demo` itself (the README's "then try it"): dev/demo.ts runs as a person runs it,
 * against a started stack, and what it claims to have done is checked where it happened, in
 * the Slack emulator and through the API.
 */
describe('npm run demo', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it('runs every scenario against the stack and leaves their outcomes in Slack', async () => {
    const { code, out } = await runDemo(stack);
    expect(code, out).toBe(0);
    expect(out).toContain('=== demo: approvals ===');
    expect(out).toContain('=== demo: payments ===');
    expect(out).toContain('=== demo: alerts ===');
    expect(out).toMatch(/clicks Accept → Jira assignee: \w+/);

    const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    const auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };

    // Payments: one thread, its root edited to "refunded", one reply per distinct webhook (the
    // redelivered capture acknowledged as a duplicate and not posted twice).
    const orderId = /order (order_demo\w+)/.exec(out)?.[1];
    expect(orderId, out).toBeDefined();
    const root = (await slack.channelMessages('C0PAYMENTS')).find(
      (m) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === `payment:${orderId}`,
    );
    expect(root?.text).toMatch(/refunded/i);
    const replies = (root?.replies ?? []).map((r) => r.text);
    expect(replies).toHaveLength(4);
    expect(replies.filter((t) => /captured/i.test(t))).toHaveLength(1);
    const payment = (await (await fetch(`${stack.urls.api}/v1/payments/${orderId}`, { headers: auth })).json()) as {
      status: string;
    };
    expect(payment.status).toMatch(/refunded/);

    // Approvals: approved by Bob, the stranger's click refused, the message locked.
    const approvalId = /"approvalId":"([^"]+)"/.exec(out)?.[1];
    expect(approvalId, out).toBeDefined();
    const approval = (await (
      await fetch(`${stack.urls.api}/v1/approvals/${approvalId}`, { headers: auth })
    ).json()) as {
      status: string;
      decidedBy: string;
      slack: { channel: string; ts: string; purpose: string }[];
    };
    expect(approval).toMatchObject({ status: 'approved', decidedBy: 'U0BOB' });
    const channelPost = approval.slack.find((m) => m.purpose === 'channel')!;
    const locked = await slack.message(channelPost.channel, channelPost.ts);
    expect(JSON.stringify(locked.blocks ?? [])).not.toContain('tl:approval.approve');
    expect(out).toMatch(/dave clicks Approve → ephemeral: .+/);
    expect(out).toMatch(/the pipeline's wait returned: .*approved/);

    // Alerts: the repeat was a duplicate; acknowledged, resolved, fired again in the same thread.
    expect(out).toMatch(/re-sent at repeat_interval\) → 200 .*"outcome":"duplicate"/);
    const alertId = /GET \/v1\/alerts\/(am:[0-9a-f]+) → resolved, fired 2 times/.exec(out)?.[1];
    expect(alertId, out).toBeDefined();
    const alert = (await (await fetch(`${stack.urls.api}/v1/alerts/${alertId}`, { headers: auth })).json()) as {
      slack: { root: { channel: string; ts: string } };
    };
    const thread = (await slack.threadReplies(alert.slack.root.channel, alert.slack.root.ts)).map((r) => r.text);
    expect(thread.filter((t) => t.includes('Acknowledged by'))).toHaveLength(1);
    expect(thread.filter((t) => t.includes('Firing again: fired 2 times'))).toHaveLength(1);
  }, 240_000);
});
