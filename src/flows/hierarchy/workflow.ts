import { condition, continueAsNew, log, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import type { OpsActivities } from '../../platform/ops/activities.js';
import type { SlackActivities } from '../../platform/slack/activities.js';
import { appendBounded } from '../../platform/temporal/workflow/bounded.js';
import { continueAsNewCheck, untilHandlersFinished } from '../../platform/temporal/workflow/continue-as-new.js';
import { createAuditor, createTolerant, upsertLifecycleStatus } from '../../platform/temporal/workflow/lifecycle.js';
import {
  DB_ACTIVITY_OPTIONS,
  OPS_ALERT_OPTIONS,
  SLACK_ACTIVITY_OPTIONS,
} from '../../platform/temporal/workflow/presets.js';
import type { HierarchyActivities } from './activities.js';
import {
  orgNotificationSignal,
  personChannelStateQuery,
  type MembershipProblem,
  type OrgNotification,
  type PersonChannelInput,
  type PersonChannelState,
} from './contract.js';
import { channelName, notificationMessages, problemKey, problemText } from './domain/channel.js';

const store = proxyActivities<
  Pick<HierarchyActivities, 'resolveAudience' | 'recordNotificationOutcome'> & ReturnType<typeof createAuditActivities>
>(DB_ACTIVITY_OPTIONS);
const channels =
  proxyActivities<Pick<HierarchyActivities, 'ensurePersonChannel' | 'reconcileChannelMembers'>>(SLACK_ACTIVITY_OPTIONS);
const slack = proxyActivities<Pick<SlackActivities, 'postSlackMessage'>>(SLACK_ACTIVITY_OPTIONS);
const ops = proxyActivities<Pick<OpsActivities, 'reportPermanentFailure'>>(OPS_ALERT_OPTIONS);

/** Delivered ids kept for dedup of repeated signals (the API's ledger is the durable dedup). */
const DELIVERED_LIMIT = 500;
/** Notifications waiting at most; more are refused by the API long before this (bounded carry). */
const QUEUE_LIMIT = 1000;

/**
 * One person's private channel and the notifications delivered into it, in order.
 *
 * - Started (or signalled) by `POST /v1/notifications` with signalWithStart; signals are queued
 *   and delivered one at a time, oldest first, so a person's notifications keep their order.
 * - Before every post the channel's membership is reconciled with the audience resolved from the
 *   closure table (the person, plus their active reporting chain when asked): the missing are
 *   invited, the departed removed. What Slack refuses person by person (`user_not_found`,
 *   `cant_invite`, `restricted_action`, …) is audited and reported to the ops channel once per
 *   problem, and the post goes on; a channel found archived or gone is replaced by a new one.
 * - A post that will not happen is reported loudly (tolerant) and the notification stays at the
 *   head, tried again after `retryAfterMs`: never lost, never overtaken.
 * - Idle for `idleCloseAfterMs`, the workflow closes; the next notification starts it again from
 *   the channel on record. Continue-as-new is checked inside the wait, carrying bounded state.
 */
export async function personChannelWorkflow(input: PersonChannelInput): Promise<PersonChannelState> {
  const can = continueAsNewCheck(input);
  const { policy } = input;
  const state: PersonChannelState = input.carried ?? {
    personId: input.personId,
    queue: [],
    delivered: [],
    reportedProblems: [],
    headAttempts: 0,
    deliveredCount: 0,
  };
  const audit = createAuditor(store.recordAudit, { actorId: 'org-channel' });
  const tolerant = createTolerant(audit, 'org');
  const subject = workflowInfo().workflowId;

  setHandler(orgNotificationSignal, (n: OrgNotification) => {
    // Signals are at-least-once (and the API re-signals a notification it accepted but could not hand off).
    if (state.delivered.includes(n.notificationId)) return;
    if (state.queue.some((q) => q.notificationId === n.notificationId)) return;
    if (state.queue.length >= QUEUE_LIMIT) {
      log.warn('person channel queue full; dropping a signal the API will hand off again', { personId: n.personId });
      return;
    }
    state.queue.push(n);
  });
  setHandler(personChannelStateQuery, () => state);
  upsertLifecycleStatus('orgchannel', 'open');

  /** Reports membership problems not reported yet; forgets the ones that went away. */
  async function reportProblems(problems: MembershipProblem[], channel: string, notificationId: string) {
    const now = problems.map(problemKey);
    for (const p of problems) {
      const key = problemKey(p);
      if (state.reportedProblems.includes(key)) continue;
      await audit('org.membership_failed', `membership:${key}:${state.deliveredCount}`, {
        targetSystem: 'slack',
        outcome: 'failed',
        details: { user: p.user, op: p.op, error: p.error, channel, notificationId },
      });
      try {
        await ops.reportPermanentFailure({
          subject,
          workflowId: subject,
          runId: workflowInfo().runId,
          step: `membership:${key}:${state.deliveredCount}`,
          reason: 'permanent',
          system: 'slack',
          method: p.op === 'invite' ? 'conversations.invite' : 'conversations.kick',
          activityType: 'reconcileChannelMembers',
          error: p.error,
          message: `Slack refused ${p.op === 'invite' ? 'an invite' : 'a removal'} (${p.error}); the notification was posted`,
          retryState: 'NON_RETRYABLE_FAILURE',
          notDelivered: problemText(p, channel),
          occurredAt: new Date(Date.now()).toISOString(),
        });
      } catch (err) {
        log.error('could not report a membership problem', { error: err instanceof Error ? err.message : 'unknown' });
      }
      state.reportedProblems.push(key);
    }
    state.reportedProblems = state.reportedProblems.filter((k) => now.includes(k)).slice(-100);
  }

  /** Records an attempt that did not deliver (the API answers `undelivered`; the head is retried). */
  async function undelivered(n: OrgNotification, error: string, channel?: string): Promise<false> {
    await store.recordNotificationOutcome({
      notificationId: n.notificationId,
      personId: n.personId,
      status: 'undelivered',
      error,
      ...(channel ? { channel } : {}),
    });
    return false;
  }

  /** One attempt at the head notification: true when it is delivered (or can never be). */
  async function deliver(n: OrgNotification): Promise<boolean> {
    const attempt = state.headAttempts;
    const audience = await store.resolveAudience({
      personId: n.personId,
      includeReportingChain: n.includeReportingChain,
    });
    if (!audience.personExists) {
      // Removed from the directory after the API accepted it: nobody to deliver to; said loudly.
      await audit('org.notification_undeliverable', `notification:${n.notificationId}:unknown_person`, {
        outcome: 'failed',
        details: { notificationId: n.notificationId, reason: 'unknown_person' },
      });
      await undelivered(n, 'unknown_person');
      return true;
    }
    const name = channelName(policy.channelNamePattern, n.personId);
    let stale: string | undefined;
    let reconciled: Awaited<ReturnType<typeof channels.reconcileChannelMembers>> | undefined;
    // A channel found gone is replaced once per attempt (a second loss in a row waits for the retry).
    for (let round = 0; round < 2; round++) {
      if (!state.channel || stale) {
        const ensured = await tolerant(
          `channel:${n.notificationId}:${round}`,
          () => channels.ensurePersonChannel({ personId: n.personId, name, ...(stale ? { stale } : {}) }),
          `the private channel of ${subject} (its notification waits)`,
        );
        if (!ensured) {
          return undelivered(n, 'channel_unavailable');
        }
        state.channel = { id: ensured.id, name: ensured.name };
        stale = undefined;
        if (ensured.created)
          await audit('org.channel_created', `channel:${ensured.id}`, {
            targetSystem: 'slack',
            details: { channel: ensured.id, name: ensured.name },
          });
      }
      const channel = state.channel;
      reconciled = await tolerant(
        `members:${n.notificationId}:${round}`,
        () => channels.reconcileChannelMembers({ channel: channel.id, expected: audience.expected }),
        `the membership of <#${channel.id}> (it may show the wrong people)`,
      );
      if (!reconciled?.channelGone) break;
      stale = channel.id;
      reconciled = undefined;
    }
    if (stale) {
      // Lost again right after it was made: wait for the next attempt.
      return undelivered(n, 'channel_unavailable');
    }
    const channel = state.channel!;
    if (reconciled) {
      if (reconciled.added.length || reconciled.removed.length)
        await audit('org.membership_reconciled', `members:${n.notificationId}`, {
          targetSystem: 'slack',
          details: {
            channel: channel.id,
            added: reconciled.added,
            removed: reconciled.removed,
            members: reconciled.members,
            leftOut: audience.leftOut,
          },
        });
      await reportProblems(reconciled.problems, channel.id, n.notificationId);
    }

    let first: { channel: string; ts: string } | undefined;
    for (const [part, msg] of notificationMessages(n).entries()) {
      const posted = await tolerant(`post:${n.notificationId}:${part}`, () =>
        slack.postSlackMessage({
          subject,
          channel: channel.id,
          text: msg.text,
          blocks: msg.blocks,
          purpose: 'org_notification',
          idempotencyKey: `${subject}:${n.notificationId}:${part}`,
        }),
      );
      if (!posted) {
        // The next attempt reconciles first, which finds a channel lost to us and replaces it.
        return undelivered(n, 'post_failed', channel.id);
      }
      first ??= posted;
    }
    await store.recordNotificationOutcome({
      notificationId: n.notificationId,
      personId: n.personId,
      status: 'delivered',
      channel: channel.id,
      ts: first!.ts,
      ...(reconciled ? { members: reconciled.members } : {}),
    });
    await audit('org.notification_delivered', `notification:${n.notificationId}:delivered`, {
      targetSystem: 'slack',
      details: {
        notificationId: n.notificationId,
        channel: channel.id,
        ts: first!.ts,
        attempts: attempt + 1,
        members: reconciled?.members ?? null,
      },
    });
    return true;
  }

  for (;;) {
    const ready = await condition(() => state.queue.length > 0 || can.dueWhileWaiting(), policy.idleCloseAfterMs);
    if (!ready) {
      // Idle: close. A signal that raced the timeout is handed to the next run by Temporal
      // (signalWithStart on a closed workflow starts a new one), and none is queued here.
      if (state.queue.length === 0) {
        upsertLifecycleStatus('orgchannel', 'idle_closed');
        return state;
      }
    }
    if (can.due()) {
      await untilHandlersFinished();
      await continueAsNew<typeof personChannelWorkflow>({ ...input, carried: state });
    }
    const head = state.queue[0];
    if (!head) continue;
    const done = await deliver(head);
    if (done) {
      state.queue.shift();
      state.delivered = appendBounded(state.delivered, [head.notificationId], DELIVERED_LIMIT).list;
      state.deliveredCount++;
      state.headAttempts = 0;
      continue;
    }
    state.headAttempts++;
    // Wait before the next attempt, still accepting signals (they queue behind the head).
    await sleep(policy.retryAfterMs);
  }
}
