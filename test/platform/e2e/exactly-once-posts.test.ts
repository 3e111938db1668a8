import { WebClient } from '@slack/web-api';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InspectedMessage } from '../../../emulators/slack/admin-client.js';
import { paymentWorkflowId } from '../../../src/flows/payments/contract.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { paymentsHarness } from '../../flows/payments/e2e/helpers.js';
import { QUIET_PAYMENTS_ENV, activityRuns, keyOf, paymentWithRoot, waitIdle } from './helpers.js';

/**
 * Exactly-once Slack posts after an ambiguous failure: the emulator applies `chat.postMessage`
 * and then drops the connection (`commit_then_timeout`), so the activity cannot know the message
 * exists and retries. Each case goes through a real flow, the real worker and its real retry
 * policy; the messages are counted in the emulator once the workflow is idle, so a second post
 * would be seen. Each case also checks from the workflow history that the retry did happen (the
 * fault was hit), so a pass cannot come from a fault that never fired.
 */
describe('exactly-once posts after commit-then-timeout (real worker, emulator faults)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof paymentsHarness>;
  let connection: Connection;
  let client: Client;
  let bot: WebClient;
  const auth = () => ({ authorization: `Bearer ${stack.config.apiKeys[0]!}`, 'content-type': 'application/json' });

  beforeAll(async () => {
    stack = await startTestStack({
      ...QUIET_PAYMENTS_ENV,
      // Part payments go to a public channel the bot will leave (it posts there with chat:write.public).
      SLACK_CHANNEL_PART_PAYMENTS: 'C0TICKETS',
    });
    h = paymentsHarness(stack);
    connection = await Connection.connect({ address: stack.urls.temporal });
    client = new Client({ connection });
    bot = new WebClient(stack.config.slack.botToken, {
      slackApiUrl: stack.config.slack.apiUrl,
      retryConfig: { retries: 0 },
    });
  });
  afterAll(async () => {
    await connection?.close();
    await stack?.stop();
  });
  afterEach(async () => {
    await h.slack.clearFaults();
  });

  /** postSlackMessage activities of the workflow that needed a second attempt. */
  const retriedPosts = async (workflowId: string) =>
    (await activityRuns(client, workflowId)).filter(
      (r) => r.activityType === 'postSlackMessage' && (r.attempt ?? 1) > 1 && r.outcome === 'completed',
    );

  it('a thread reply is posted once', async () => {
    const p = await paymentWithRoot(h, client);
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', channel: 'C0PAYMENTS' });
    const { eventId } = await h.webhook('payment.captured', { ...p, amount: 123450 });
    // The workflow keys a reply `<workflow id>:event:<provider>:<event id>`.
    const isReply = (m: InspectedMessage) =>
      keyOf(m)?.startsWith(`${p.workflowId}:event:`) && keyOf(m)?.endsWith(eventId);

    await h.slack.waitFor(async () => (await h.roots('C0PAYMENTS', p.orderId))[0]?.replies?.some(isReply), 20_000);
    await waitIdle(client, p.workflowId);

    const root = (await h.roots('C0PAYMENTS', p.orderId))[0]!;
    expect((root.replies ?? []).filter(isReply)).toHaveLength(1);
    expect(await retriedPosts(p.workflowId)).toHaveLength(1);
    const lookups = (await h.slack.calls()).filter(
      (c) => c.method === 'conversations.replies' && c.args.channel === 'C0PAYMENTS' && c.args.ts === root.ts,
    );
    expect(lookups.length).toBeGreaterThan(0);
  });

  it('a top-level post is found again behind more than 100 newer messages (the lookup is bounded by time)', async () => {
    const { orderId } = h.ids();
    const workflowId = paymentWorkflowId(orderId);
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', channel: 'C0PAYMENTS' });
    // Hold the retry's lookup back until the channel has moved on.
    await h.slack.injectFault({
      method: 'conversations.history',
      kind: 'status',
      status: 503,
      count: 10_000,
      channel: 'C0PAYMENTS',
    });
    const since = new Date().toISOString();
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.slack.waitFor(
      async () =>
        (await h.slack.calls()).some((c) => c.at >= since && c.method === 'conversations.history' && c.status === 503),
      20_000,
    );
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(1); // committed by the first attempt
    for (let i = 0; i < 230; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          h.slack.postMessage({ user: 'U0BOB', channel: 'C0PAYMENTS', text: `chatter ${i + j}` }),
        ),
      );
    }
    await h.slack.clearFaults();

    await h.slack.waitFor(
      async () =>
        (await activityRuns(client, workflowId)).some(
          (r) => r.outcome === 'completed' && r.activityType === 'postSlackMessage',
        ),
      60_000,
    );
    await waitIdle(client, workflowId);
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(1);
    expect(await retriedPosts(workflowId)).toHaveLength(1);
    const pages = (await h.slack.calls()).filter(
      (c) => c.at >= since && c.method === 'conversations.history' && c.status === 200,
    );
    // Read from `oldest` (not the last N messages), across more than one page.
    expect(pages.every((c) => typeof c.args.oldest === 'string')).toBe(true);
    expect(pages.some((c) => typeof c.args.cursor === 'string')).toBe(true);
  });

  it('an approval DM (addressed to a user id) is posted once', async () => {
    const dm = (await bot.conversations.open({ users: 'U0BOB' })).channel!.id!;
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', channel: dm });
    const res = await fetch(`${stack.urls.api}/v1/approvals`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ title: 'Rotate the API key', requester: 'U0ALICE', approvers: ['U0BOB'] }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { workflowId } = (await res.json()) as { workflowId: string };
    const key = `${workflowId}:post:dm:L0:U0BOB`;

    await h.slack.waitFor(async () => (await h.slack.channelMessages(dm)).some((m) => keyOf(m) === key), 20_000);
    await waitIdle(client, workflowId);
    expect((await h.slack.channelMessages(dm)).filter((m) => keyOf(m) === key)).toHaveLength(1);
    expect(await retriedPosts(workflowId)).toHaveLength(1);
  });

  it('a post to a public channel the bot is not in (chat:write.public) is found after joining, not dropped', async () => {
    await bot.conversations.leave({ channel: 'C0TICKETS' });
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', channel: 'C0TICKETS' });
    const p = await paymentWithRoot(h, client, { channel: 'C0TICKETS', initiation: { paymentType: 'part' } });

    expect(await h.roots('C0TICKETS', p.orderId)).toHaveLength(1);
    expect(await retriedPosts(p.workflowId)).toHaveLength(1);
    const channel = (await h.slack.channels()).find((c) => c.id === 'C0TICKETS') as { members: string[] };
    expect(channel.members).toContain('U0TLBOT'); // it joined to read the channel
    // The lifecycle has its thread: the next reply lands in it.
    const { eventId } = await h.webhook('payment.captured', { ...p, amount: 123450 });
    const root = await h.thread('C0TICKETS', p.orderId, 1);
    expect(root.replies?.map(keyOf)).toEqual([
      expect.stringMatching(new RegExp(`^${p.workflowId}:event:.*${eventId}$`)),
    ]);
  });

  it('Retry-After is honoured exactly: the retry starts Retry-After seconds after the 429', async () => {
    const retryAfter = 3;
    const p = await paymentWithRoot(h, client);
    const since = new Date().toISOString();
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter, channel: 'C0PAYMENTS' });
    await h.webhook('payment.captured', { ...p, amount: 123450 });
    await h.thread('C0PAYMENTS', p.orderId, 1);
    await waitIdle(client, p.workflowId);

    const [run, ...others] = await retriedPosts(p.workflowId);
    expect(others).toHaveLength(0);
    expect(run!.attempt).toBe(2);
    // History: scheduled (attempt 1 starts at once and is answered 429 at once) → attempt 2 started.
    const historyGap = run!.startedAtMs! - run!.scheduledAtMs;
    // The emulator's log: the 429 answer → the next call (the retry).
    const posts = (await h.slack.calls()).filter(
      (c) => c.at >= since && c.method === 'chat.postMessage' && c.args.channel === 'C0PAYMENTS',
    );
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    const wireGap = Date.parse(posts[1]!.at) - Date.parse(posts[0]!.at);
    // Never earlier than Retry-After (the policy's own 500 ms backoff would be); the upper
    // margin only absorbs scheduling latency on a loaded machine.
    for (const gap of [historyGap, wireGap]) {
      expect(gap).toBeGreaterThanOrEqual(retryAfter * 1000);
      expect(gap).toBeLessThan(retryAfter * 1000 + 2000);
    }
  });
});
