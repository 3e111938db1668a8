import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { expect } from 'vitest';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../../emulators/slack/admin-client.js';
import { paymentWorkflowId } from '../../../../src/flows/payments/contract.js';
import { deliverRazorpay, razorpayEvent, type RazorpayEventOpts } from '../../../fixtures/razorpay/build.js';
import type { TestStack } from '../../../helpers/stack.js';
import { flowConfigOf } from '../../../../src/platform/flow.js';
import { paymentsFlow } from '../../../../src/flows/payments/flow.js';
import { postsFor, scheduledPostKeys, tally, waitForIdle, type EmulatorPost } from '../../../helpers/effects.js';

/**
 * Long SLAs so a test never sees an escalation, and a short initiation wait so "webhook before
 * initiation" builds the thread from the event alone.
 */
export const WITHOUT_SLA_TIMERS = {
  PAYMENT_ESCALATE_AFTER: '10m',
  PAYMENT_OVERDUE_AFTER: '20m',
  PAYMENT_REFUND_GRACE: '1h',
  PAYMENT_INITIATION_WAIT: '300ms',
};

/** What a lifecycle did, read once its workflow was idle or closed. */
export interface SettledLifecycle {
  /** Every post in Slack for the subject (roots, replies, escalation alerts), with its idempotency key. */
  posts: EmulatorPost[];
  /** Thread replies under the lifecycle's root, oldest first. */
  replies: EmulatorPost[];
  /** Idempotency keys of the posts the workflow's latest run decided to make (postSlackMessage activities). */
  scheduledKeys: string[];
}

/**
 * Shared helpers for the payment e2e files: real HTTP in, Slack emulator out. `temporal` (needed by
 * `settled`) reads workflow state and history: idle detection, scheduled activities.
 */
export function paymentsHarness(stack: TestStack, temporal?: Client) {
  const reader = () => {
    if (!temporal) throw new Error('paymentsHarness: pass a Temporal client to count effects after idle');
    return temporal;
  };
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const api = stack.urls.api;
  const apiKey = stack.config.apiKeys[0]!;
  const secret = flowConfigOf(stack.config, paymentsFlow).razorpayWebhookSecret!;

  /** Polls until `predicate` is truthy; the timeout is generous because several suites share two cores. */
  const waitFor = <T>(predicate: () => T | Promise<T>, timeoutMs = 30_000) => slack.waitFor(predicate, timeoutMs);

  const ids = () => {
    const u = randomUUID().replace(/-/g, '').slice(0, 14);
    return { orderId: `order_${u}`, paymentId: `pay_${u}` };
  };

  async function initiate(body: Record<string, unknown>, headers: Record<string, string> = {}) {
    return fetch(`${api}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
      body: JSON.stringify(body),
    });
  }

  async function webhook(type: string, o: RazorpayEventOpts, eventId = `evt_${randomUUID().slice(0, 18)}`) {
    const body = JSON.stringify(razorpayEvent(type, o));
    const res = await deliverRazorpay(api, secret, body, eventId);
    return { res, eventId, body };
  }

  /** Top-level messages of `channel` posted for this lifecycle (by the subject in their metadata). */
  async function roots(channel: string, orderId: string): Promise<InspectedMessage[]> {
    const subject = paymentWorkflowId(orderId);
    const all = await slack.channelMessages(channel);
    return all.filter((m) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === subject);
  }

  /** Waits until the lifecycle's thread has exactly one root with at least `replies` replies; returns it. */
  async function thread(channel: string, orderId: string, replies: number, timeoutMs = 60_000) {
    return slack.waitFor(async () => {
      const r = await roots(channel, orderId);
      return r.length === 1 && (r[0]!.replies?.length ?? 0) >= replies ? r[0] : undefined;
    }, timeoutMs);
  }

  async function getPayment(orderId: string) {
    const res = await fetch(`${api}/v1/payments/${orderId}`, { headers: { authorization: `Bearer ${apiKey}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { status?: string } };
  }

  async function waitForStatus(orderId: string, status: string, timeoutMs = 30_000) {
    return slack.waitFor(async () => {
      const p = await getPayment(orderId);
      return p.body.status === status ? p.body : undefined;
    }, timeoutMs);
  }

  const initiation = (orderId: string, over: Record<string, unknown> = {}) => ({
    orderId,
    payerName: `Payer ${orderId.slice(-6)}`,
    amount: 123450,
    currency: 'INR',
    paymentType: 'full',
    owner: 'erin@example.com',
    ...over,
  });

  /**
   * Waits until the relay has handed off every webhook delivery the ledger holds for the lifecycle
   * (the webhook answers once it is recorded, before its workflow has it).
   */
  async function relayed(workflowId: string, timeoutMs = 60_000): Promise<void> {
    const db = new pg.Client({ connectionString: stack.urls.databaseUrl });
    await db.connect();
    try {
      await waitFor(async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM inbound_events WHERE subject = $1 AND status = 'queued'`,
          [workflowId],
        );
        return rows[0]!.n === 0;
      }, timeoutMs);
    } finally {
      await db.end();
    }
  }

  /**
   * Waits until the lifecycle's webhook deliveries are handed off and its workflow is idle (or
   * closed), then counts what it did. Call it once every input of the scenario has been answered:
   * the counts are then final.
   */
  async function settled(orderId: string, timeoutMs = 30_000): Promise<SettledLifecycle> {
    const workflowId = paymentWorkflowId(orderId);
    await relayed(workflowId);
    await waitForIdle(reader(), workflowId, timeoutMs);
    const posts = await postsFor(slack, workflowId);
    const root = posts.find((p) => p.key === `${workflowId}:root`);
    const replies = root ? posts.filter((p) => p.threadTs === root.ts) : [];
    return { posts, replies, scheduledKeys: await scheduledPostKeys(reader(), workflowId) };
  }

  /** Exactly once: no idempotency key posted twice in Slack, and no post decided twice by the workflow. */
  function expectEachPostOnce(s: SettledLifecycle) {
    expect(tally(s.posts.map((p) => p.key)).repeated, 'keys posted more than once in Slack').toEqual([]);
    expect(tally(s.scheduledKeys).repeated, 'posts scheduled more than once by the workflow').toEqual([]);
  }

  async function expectAccepted(res: Response) {
    expect(res.status, await res.clone().text()).toBe(202);
    return (await res.json()) as { lifecycleId: string; workflowId: string };
  }

  return {
    slack,
    waitFor,
    api,
    apiKey,
    secret,
    ids,
    initiate,
    webhook,
    roots,
    thread,
    getPayment,
    waitForStatus,
    initiation,
    relayed,
    settled,
    expectEachPostOnce,
    expectAccepted,
  };
}

/** Text of a message including its blocks (what a person sees). */
export const seen = (m: InspectedMessage) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`;
