import { describe, expect, it } from 'vitest';
import { paymentWorkflowId, paymentStateQuery } from '../../../../src/flows/payments/contract.js';
import { CONTINUE_AS_NEW_IN_WAIT_PATCH } from '../../../../src/platform/temporal/workflow/continue-as-new.js';
import { startPaymentLifecycle } from './start.js';
import { useStack } from '../../../helpers/use-stack.js';
import {
  activityInputs,
  eventTimeMs,
  patchMarkers,
  runsOf,
  threadEventArgs,
  timerDeadlines,
  waitIdle,
} from '../../../helpers/history.js';
import { paymentsHarness } from '../e2e/helpers.js';
import type { PostSlackMessageInput, SlackThreadEvent } from '../../../../src/platform/slack/contract.js';
import { recordFixture } from '../../../helpers/fixtures.js';

/** Far enough out that the handovers happen before it, even on a loaded machine. */
const ESCALATE_AFTER_MS = 25_000;
/** Bursts of replies stop once the lifecycle has handed over twice, or at this many. */
const MAX_REPLIES = 80;

/**
 * Continue-as-new forced with the test threshold (`continueAsNewAfterEvents`), through the real
 * stack: people reply in the thread through the Slack emulator (each reply is a signal that only
 * changes state, the case that used to grow history without bound), a provider event arrives in
 * the middle, and the escalation timer must still fire at its original deadline afterwards.
 */
describe('payment lifecycle: continue-as-new checked inside the wait', () => {
  const t = useStack(
    {
      PAYMENT_ESCALATE_AFTER: `${ESCALATE_AFTER_MS}ms`,
      PAYMENT_OVERDUE_AFTER: '1h',
      PAYMENT_REFUND_GRACE: '1h',
      PAYMENT_INITIATION_WAIT: '300ms',
    },
    paymentsHarness,
  );

  it('a chatty thread continues as new several times; nothing is lost or doubled and the escalation fires at its original deadline', async () => {
    const { orderId, paymentId } = t.h.ids();
    const workflowId = paymentWorkflowId(orderId);
    // Started by the test only to set the threshold; everything else arrives through the real ingress.
    const handle = await startPaymentLifecycle(t, orderId, { continueAsNewAfterEvents: 40 });
    await t.h.expectAccepted(await t.h.initiate(t.h.initiation(orderId, { owner: 'U0BOB' })));
    const root = await t.h.thread('C0PAYMENTS', orderId, 0);

    // Replies in bursts (several signals land in one workflow task, some while a run hands over),
    // with a provider event in the middle of the chat, until the lifecycle has handed over twice
    // (how many replies that takes depends on how the server batches them into tasks).
    const people = ['U0BOB', 'U0CAROL', 'U0DAVE'];
    let replies = 0;
    while (replies < MAX_REPLIES && (replies < 15 || (await runsOf(t.client, workflowId)).length < 3)) {
      await Promise.all(
        Array.from({ length: 5 }, () =>
          t.h.slack.postMessage({
            user: people[replies % people.length]!,
            channel: 'C0PAYMENTS',
            thread_ts: root.ts,
            text: `reply ${replies++}`,
          }),
        ),
      );
      // Backpressure: the burst is applied before the next (the dev server shares one SQLite connection).
      await t.h.slack.waitFor(async () => {
        const s = await t.client.workflow.getHandle(workflowId).query(paymentStateQuery);
        return s.timeline.filter((t) => t.kind === 'slack.message').length >= replies ? true : undefined;
      }, 30_000);
      if (replies === 10)
        expect((await t.h.webhook('payment.authorized', { orderId, paymentId, amount: 123450 })).res.status).toBe(200);
    }
    // The escalation (the only timer due) fires after the handovers.
    const escalated = await t.h.slack.waitFor(async () => {
      const r = await t.h.slack.threadReplies('C0PAYMENTS', root.ts);
      return r.some((m) => m.text.includes('no outcome')) ? r : undefined;
    }, ESCALATE_AFTER_MS + 30_000);
    expect(escalated.length).toBeGreaterThan(0);
    await waitIdle(t.client.workflow.getHandle(workflowId));

    const runs = await runsOf(t.client, workflowId);
    expect(runs.length, 'continued as new at least twice').toBeGreaterThanOrEqual(3);
    for (const run of runs.slice(0, -1)) {
      expect(
        run.events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes,
        'a run ends by continuing',
      ).toBeTruthy();
      expect(patchMarkers(run.events)).toContain(CONTINUE_AS_NEW_IN_WAIT_PATCH);
    }
    const all = runs.flatMap((r) => r.events);

    // Nothing lost or doubled: each reply reached the workflow (at least once: signals are
    // at-least-once when an ack is slow) and is in its state exactly once.
    const delivered = threadEventArgs<SlackThreadEvent>(all);
    expect(new Set(delivered.map((d) => d.eventId)).size).toBe(replies);
    const state = await handle.query(paymentStateQuery);
    const people_ = state.timeline.filter((t) => t.kind === 'slack.message');
    expect(people_).toHaveLength(replies);
    expect(new Set(people_.map((t) => t.eventId)).size).toBe(replies);
    expect(new Set(state.slackEventIds)).toEqual(new Set(delivered.map((d) => d.eventId)));
    expect(state.status).toBe('authorized');

    // Nothing lost or doubled on Slack: one reply for the provider event, one escalation, one alert.
    const bot = (await t.h.slack.threadReplies('C0PAYMENTS', root.ts)).filter((m) => m.bot_id);
    expect(
      bot.map((m) =>
        m.text.includes('authorized') ? 'authorized' : m.text.includes('no outcome') ? 'escalation' : m.text,
      ),
    ).toEqual(['authorized', 'escalation']);
    const posts = activityInputs<PostSlackMessageInput>(all, 'postSlackMessage').map((p) => p.idempotencyKey);
    expect(posts.filter((k) => k.endsWith(':escalation'))).toHaveLength(1);
    expect(new Set(posts).size).toBe(posts.length);
    const alerts = (await t.h.slack.channelMessages('C0ESCALATE')).filter((m) => m.text.includes(orderId));
    expect(alerts).toHaveLength(1);

    // The escalation timer kept its deadline across every run: due at start + ESCALATE_AFTER.
    const due = state.startedAtMs + ESCALATE_AFTER_MS;
    const escalationTimers = runs.flatMap((r) => timerDeadlines(r.events)).filter((t) => t.dueAtMs < due + 60_000);
    expect(escalationTimers.length).toBeGreaterThanOrEqual(2);
    for (const t of escalationTimers) expect(Math.abs(t.dueAtMs - due)).toBeLessThan(1500);
    const firedIn = runs.find((r) => timerDeadlines(r.events).some((t) => t.fired && t.dueAtMs < due + 60_000));
    expect(firedIn, 'the escalation timer fired in a later run').not.toBe(runs[0]);
    const escalationPost = firedIn!.events.find(
      (e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'postSlackMessage' &&
        activityInputs<PostSlackMessageInput>([e], 'postSlackMessage')[0]!.idempotencyKey.endsWith(':escalation'),
    );
    expect(eventTimeMs(escalationPost!)).toBeGreaterThanOrEqual(due - 1000);

    // The first run (ends by continuing as new) and the last (starts from the carried state).
    await recordFixture('payment-lifecycle-continue-as-new', runs[0]!.events);
    await recordFixture('payment-lifecycle-carried', runs.at(-1)!.events);
    await handle.terminate('test done');
  });
});
