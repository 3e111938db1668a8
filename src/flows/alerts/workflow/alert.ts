import { condition, continueAsNew, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createAuditActivities } from '../../../platform/audit/activities.js';
import type { SlackActivities } from '../../../platform/slack/activities.js';
import {
  slackActionUpdate,
  handleSlackThreadEvents,
  subjectStatusQuery,
  type SlackActionRequest,
  type SlackThreadEvent,
} from '../../../platform/slack/contract.js';
import { continueAsNewCheck, untilHandlersFinished } from '../../../platform/temporal/workflow/continue-as-new.js';
import { createAuditor, createTolerant, upsertLifecycleStatus } from '../../../platform/temporal/workflow/lifecycle.js';
import { countEscalation } from '../../../platform/temporal/workflow/metrics.js';
import {
  DB_ACTIVITY_OPTIONS,
  SLACK_ACTIVITY_OPTIONS,
  SLACK_LOOKUP_OPTIONS,
} from '../../../platform/temporal/workflow/presets.js';
import type { AlertActivities } from '../activities.js';
import { threadReplier } from './thread.js';
import {
  ALERT_LATE_FIRING_PATCH,
  ALERT_UNSEEN_RESOLVE_PATCH,
  alertNotificationSignal,
  alertStateQuery,
  type AlertMessageRef,
  type AlertNotification,
  type AlertState,
  type AlertWorkflowInput,
  type AlertWorkflowResult,
} from '../contract.js';
import { buildAlertCard, buildWebhookMessage, pageAgainText } from '../domain/blocks.js';
import type { PagePlan } from '../domain/escalation.js';
import { clip } from '../domain/format.js';
import {
  alertParticipants,
  applyAlertAction,
  applyAlertTimer,
  applyNotification,
  checkAlertAction,
  initialAlertState,
  markProcessed,
  nextAlertTimer,
  withChannelMembers,
  withTimeline,
  type AlertEffect,
  type AlertVerb,
} from '../domain/lifecycle.js';

const slack = proxyActivities<SlackActivities>(SLACK_ACTIVITY_OPTIONS);
// An incoming-webhook post is a Slack post: the same bounded policy (Retry-After honoured).
const webhooks = proxyActivities<Pick<AlertActivities, 'postAlertIncomingWebhook'>>(SLACK_ACTIVITY_OPTIONS);
const lookups = proxyActivities<Pick<AlertActivities, 'listAlertChannelMembers'>>(SLACK_LOOKUP_OPTIONS);
const store = proxyActivities<
  Pick<AlertActivities, 'saveAlertSnapshot' | 'loadAlertSnapshot'> & ReturnType<typeof createAuditActivities>
>(DB_ACTIVITY_OPTIONS);

/** Card copies (DMs, paged channels) kept per occurrence so they can be edited; bounded like all state. */
const MAX_COPIES = 50;

/**
 * One alert (an Alertmanager fingerprint or a generic dedup key) from its first firing on, in one
 * Slack thread:
 *
 * - Notifications arrive by `signalWithStart` (Alertmanager's firing and resolved alike, so a
 *   resolve that overtook its firing is remembered; the generic API's resolve only signals) and
 *   are applied by a pure state machine (domain/lifecycle.ts); a repeat posts nothing, a re-fire
 *   after a resolve is a new occurrence in the same thread (the flap counter), and the late firing
 *   of an occurrence already resolved is shown resolved, paging nobody.
 * - Acknowledge / Escalate / Resolve clicks are `slackActionUpdate`s; the validator (synchronous,
 *   no history) refuses people who are not entitled and stale cards, with the sentence they see.
 * - Escalation steps and ack timeouts are `condition(…, timeout)` deadlines in state: durable
 *   across worker and server restarts and across continue-as-new; the policy is the one frozen
 *   when the occurrence fired.
 * - Every post is keyed `<workflow id>:<step>`; every transition writes one audit row.
 * - Resolved, it stays open `reopenWindowMs` for a re-fire, then closes; a later firing starts a
 *   new run that resumes from the Postgres snapshot (same thread, same counter).
 */
export async function alertWorkflow(input: AlertWorkflowInput): Promise<AlertWorkflowResult> {
  const wfId = workflowInfo().workflowId;
  // Before the first await: the helper's patch marker is the run's first command. Alerts checked
  // inside their wait from their first version on, so `due()` (not `dueWhileWaiting()`) is right
  // for every alert history, with or without the marker.
  const can = continueAsNewCheck(input.runtime);
  const queue: AlertNotification[] = [...(input.pending ?? [])];
  const effects: AlertEffect[] = [];
  let state: AlertState = input.carried ?? initialAlertState(input.alertId, input.source, Date.now());
  let loaded = input.carried !== undefined;

  setHandler(alertNotificationSignal, (n: AlertNotification) => {
    // Cheap early dedup; applyNotification dedups again authoritatively.
    if (!state.processedEventIds.includes(n.eventId) && !queue.some((q) => q.eventId === n.eventId)) queue.push(n);
  });
  setHandler(alertStateQuery, () => state);
  setHandler(subjectStatusQuery, () => ({
    subject: wfId,
    kind: 'alert',
    status: state.status,
    summary: `${state.details?.title ?? state.alertId}: ${
      state.status === 'acknowledged' ? `acknowledged by <@${state.current?.ack?.by ?? '?'}>` : state.status
    }${state.occurrences > 1 ? ` (fired ${state.occurrences} times)` : ''}`,
    updatedAt: state.timeline.at(-1)?.at ?? new Date(state.lastActivityAtMs).toISOString(),
    participants: alertParticipants(state),
  }));
  // Replies in the thread join the timeline (state only: replay-safe, no commands).
  handleSlackThreadEvents((e: SlackThreadEvent) => {
    if (state.processedEventIds.includes(e.eventId)) return;
    state = markProcessed(state, e.eventId);
    if (e.kind === 'message' && e.text)
      state = withTimeline(state, Date.now(), { kind: 'comment', actor: e.user, summary: clip(e.text, 300) });
  });
  // Applied synchronously (the ingress waits for the whole update); Slack work is left to the loop.
  setHandler(
    slackActionUpdate,
    (req: SlackActionRequest) => {
      const r = applyAlertAction(state, req.verb as AlertVerb, req.user, Date.now());
      if (r.outcome === 'escalated') countEscalation('alert');
      state = r.state;
      effects.push(...r.effects);
      return Promise.resolve({ accepted: true });
    },
    {
      validator: (req: SlackActionRequest) => {
        if (!loaded) throw new Error('This alert is still starting; please click again in a moment.');
        const check = checkAlertAction(state, req.verb, req.user, req.value);
        if (!check.ok) throw new Error(check.message);
      },
    },
  );

  const audit = createAuditor(store.recordAudit, { actorId: 'alert-workflow' });
  /** A post or edit that will not happen is audited, counted and alerted; the alert goes on. */
  const tolerant = createTolerant(audit, 'alert');

  if (!input.carried) {
    // A previous run closed after its reopen window; this firing restarted us: continue its thread.
    const previous = await store.loadAlertSnapshot({ workflowId: wfId });
    if (previous) state = { ...previous, lastActivityAtMs: Date.now() };
    loaded = true;
  }
  let lastStatus = '';
  let savedVersion = input.carried ? state.version : -1;
  const persist = async () => {
    if (state.status !== lastStatus) {
      lastStatus = state.status;
      upsertLifecycleStatus('alert', state.status);
    }
    if (state.version !== savedVersion) {
      savedVersion = state.version;
      await store.saveAlertSnapshot({ workflowId: wfId, state });
    }
  };

  const card = () => buildAlertCard(state, wfId, Date.now());

  async function postRoot() {
    const channel = state.current?.route.channel;
    if (state.root || !channel) return;
    const content = card();
    const version = state.version;
    const posted = await tolerant('root', () =>
      slack.postSlackMessage({
        subject: wfId,
        channel,
        text: content.text,
        blocks: content.blocks,
        purpose: 'alert_root',
        idempotencyKey: `${wfId}:root`,
      }),
    );
    if (posted) state = { ...state, root: { channel: posted.channel, ts: posted.ts } };
    // A click may have landed while we were posting: the card must show it.
    if (posted && state.version !== version) await refresh();
  }

  async function refresh() {
    const content = card();
    const targets = [...(state.root ? [state.root] : []), ...state.copies];
    await Promise.all(
      targets.map((m) =>
        tolerant(`refresh:${state.version}:${m.channel}:${m.ts}`, () =>
          slack.updateSlackMessage({ channel: m.channel, ts: m.ts, text: content.text, blocks: content.blocks }),
        ),
      ),
    );
  }

  const reply = threadReplier({ workflowId: wfId, purpose: 'alert_reply', root: () => state.root, tolerant, slack });

  /** DMs each paged person and posts to each paged channel: a card copy the first time, a thread reply after. */
  async function page(step: string, plan: PagePlan) {
    const policy = state.current?.route.policy;
    const sends = [
      ...plan.users.map((u) => ({ to: u, purpose: 'dm' as const })),
      ...plan.channels.map((c) => ({ to: c, purpose: 'channel_copy' as const })),
    ];
    await Promise.all(
      sends.map(async ({ to, purpose }) => {
        const existing = state.copies.find((c) => c.purpose === purpose && c.target === to);
        const key = `${wfId}:${step}:${to}`;
        if (existing) {
          await tolerant(`${step}:${to}`, () =>
            slack.postSlackMessage({
              subject: wfId,
              channel: existing.channel,
              threadTs: existing.ts,
              text: pageAgainText(plan, policy?.name ?? 'escalation'),
              purpose: `alert_${purpose}_again`,
              idempotencyKey: key,
            }),
          );
          return;
        }
        const content = card();
        const posted = await tolerant(`${step}:${to}`, () =>
          slack.postSlackMessage({
            subject: wfId,
            channel: to,
            text: content.text,
            blocks: content.blocks,
            purpose: `alert_${purpose}`,
            idempotencyKey: key,
          }),
        );
        if (posted && state.copies.length < MAX_COPIES && !state.copies.some((c) => c.ts === posted.ts)) {
          const ref: AlertMessageRef = { channel: posted.channel, ts: posted.ts, purpose, target: to };
          state = { ...state, copies: [...state.copies, ref] };
        }
      }),
    );
  }

  async function loadMembers() {
    const cur = state.current;
    const channel = cur?.route.channel;
    if (!cur || !channel || cur.membersLoaded) return;
    const r = await tolerant(
      `o${cur.n}:members`,
      () => lookups.listAlertChannelMembers({ channel }),
      `the member list of ${channel} (its members cannot act on the alert until it fires again)`,
    );
    if (r) state = withChannelMembers(state, cur.n, r.members);
  }

  async function postWebhook(step: string, status: 'firing' | 'resolved') {
    const webhook = state.current?.route.webhook;
    if (!webhook) return;
    const msg = buildWebhookMessage(state, status, Date.now());
    await tolerant(
      step,
      () => webhooks.postAlertIncomingWebhook({ webhook, text: msg.text, attachments: msg.attachments }),
      `an alert notification through the incoming webhook "${webhook}"`,
    );
  }

  /** The card first (the latency people notice), then everything else of the batch in parallel. */
  async function run(batch: AlertEffect[]) {
    if (batch.some((e) => e.kind === 'post_root')) await postRoot();
    else if (batch.some((e) => e.kind === 'refresh')) await refresh();
    await Promise.all(batch.map((e) => runOne(e)));
  }

  async function runOne(e: AlertEffect): Promise<void> {
    switch (e.kind) {
      case 'reply':
        await reply(e.step, e.text);
        return;
      case 'page':
        await page(e.step, e.plan);
        return;
      case 'load_members':
        await loadMembers();
        return;
      case 'webhook':
        await postWebhook(e.step, e.status);
        return;
      case 'audit':
        await audit(e.action, e.step, {
          ...(e.actor ? { actor: e.actor } : {}),
          sourceSystem: state.source,
          targetSystem: 'slack',
          after: { status: state.status, occurrences: state.occurrences },
          ...(e.details ? { details: e.details } : {}),
        });
        return;
      default:
        return;
    }
  }

  for (;;) {
    while (queue.length > 0 || effects.length > 0) {
      if (effects.length > 0) {
        await run(effects.splice(0));
        continue;
      }
      const n = queue.shift()!;
      // A resolve for an occurrence never seen firing: remembered from this patch on (before: dropped).
      const rememberUnseenResolves = n.status === 'resolved' && patched(ALERT_UNSEEN_RESOLVE_PATCH);
      const now = Date.now();
      let r = applyNotification(state, n, now, { rememberUnseenResolves });
      // A late firing shown resolved, or stale by its resolve's endsAt: patched only where the
      // outcome differs, so every other notification replays without a marker (before: old rule).
      if (n.status === 'firing') {
        const late = applyNotification(state, n, now, { rememberUnseenResolves, lateFirings: true });
        if (late.outcome !== r.outcome && patched(ALERT_LATE_FIRING_PATCH)) r = late;
      }
      state = r.state;
      effects.push(...r.effects);
    }
    await persist();
    if (can.due()) {
      await untilHandlersFinished();
      if (effects.length > 0) continue;
      return continueAsNew<typeof alertWorkflow>({ ...input, carried: state, pending: queue.splice(0) });
    }
    const timer = nextAlertTimer(state, input.runtime.reopenWindowMs);
    const woke = () => queue.length > 0 || effects.length > 0 || can.due();
    if (timer.kind === 'none') {
      await condition(woke);
      continue;
    }
    const waitMs = timer.atMs - Date.now();
    if (waitMs > 0 && (await condition(woke, waitMs))) continue;
    if (woke()) continue;
    if (timer.kind === 'close') {
      await untilHandlersFinished();
      // A notification that arrived while we were finishing must not be dropped.
      if (woke()) continue;
      await audit('alert.closed', `closed:${state.version}`, {
        after: { status: state.status, occurrences: state.occurrences },
      });
      if (woke()) continue;
      return { alertId: state.alertId, status: state.status, occurrences: state.occurrences };
    }
    const r = applyAlertTimer(state, timer.kind, Date.now());
    if (r.outcome === 'escalated') countEscalation('alert');
    state = r.state;
    effects.push(...r.effects);
  }
}
