import type { Actor } from '../../../platform/audit/contract.js';
import type { AlertNotification, AlertOccurrence, AlertSource, AlertState, AlertTimelineEntry } from '../contract.js';
import { acknowledge, advance, resolveStep, startEscalation, stepLabel, type PagePlan } from './escalation.js';
import { describeDuration } from './format.js';

/**
 * The alert lifecycle as a pure state machine: notifications, clicks and timers go in, the new
 * state and the effects to carry out come out. The workflow only executes effects (posts,
 * edits, DMs, audit rows), so every rule here is unit-tested without Temporal.
 *
 * Occurrences: a firing alert that repeats is the same occurrence (nothing is posted); one that
 * resolves and fires again is a new occurrence in the same thread (the flap counter).
 */

export type PageReason = 'fired' | 'escalated' | 'escalate_button' | 'ack_timeout';

export type AlertEffect =
  /** Post the card (first occurrence). */
  | { kind: 'post_root' }
  /** Edit the card and every copy of it in place. */
  | { kind: 'refresh' }
  | { kind: 'reply'; step: string; text: string }
  /** DM the people and post to the channels of a step; `step` keys the posts. */
  | { kind: 'page'; step: string; plan: PagePlan; reason: PageReason }
  /** Fetch the route channel's members (they may act on the alert). */
  | { kind: 'load_members' }
  /** Notification-only route: post through the incoming webhook. */
  | { kind: 'webhook'; step: string; status: 'firing' | 'resolved' }
  | { kind: 'audit'; action: string; step: string; actor?: Actor; details?: Record<string, unknown> };

export interface Transition {
  state: AlertState;
  effects: AlertEffect[];
  outcome:
    | 'duplicate'
    | 'fired'
    | 'refired'
    | 'repeat'
    | 'stale'
    | 'resolved'
    | 'ignored'
    | 'acknowledged'
    | 'escalated'
    | 'exhausted'
    | 'retriggered';
}

/** Kept in state to dedup notifications and Slack events; bounded so history payloads stay small. */
export const PROCESSED_ID_LIMIT = 200;
export const TIMELINE_LIMIT = 100;

export function initialAlertState(alertId: string, source: AlertSource, nowMs: number): AlertState {
  return {
    alertId,
    source,
    status: 'resolved',
    occurrences: 0,
    copies: [],
    processedEventIds: [],
    timeline: [],
    lastActivityAtMs: nowMs,
    version: 0,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function withTimeline(
  state: AlertState,
  nowMs: number,
  e: Omit<AlertTimelineEntry, 'at' | 'occurrence'>,
): AlertState {
  const entry: AlertTimelineEntry = { at: iso(nowMs), occurrence: state.current?.n ?? 0, ...e };
  return { ...state, timeline: [...state.timeline, entry].slice(-TIMELINE_LIMIT) };
}

export function markProcessed(state: AlertState, id: string): AlertState {
  return { ...state, processedEventIds: [...state.processedEventIds, id].slice(-PROCESSED_ID_LIMIT) };
}

const bump = (state: AlertState, nowMs: number): AlertState => ({
  ...state,
  version: state.version + 1,
  lastActivityAtMs: nowMs,
});

const mentionAll = (plan: PagePlan) =>
  [
    ...plan.users.map((u) => (plan.via[u] ? `<@${u}> (${plan.via[u]})` : `<@${u}>`)),
    ...plan.channels.map((c) => `<#${c}>`),
  ].join(', ') || 'nobody';

/** Unstaffed schedules are said out loud: a page that reaches nobody must not look like one that did. */
const unstaffedNote = (plan: PagePlan) =>
  plan.unstaffed.length ? ` Nobody is on call for ${plan.unstaffed.map((s) => `*${s}*`).join(', ')}.` : '';

/** Pages a step: records who was paged (they may act) and returns the effect. */
function page(
  state: AlertState,
  plan: PagePlan,
  reason: PageReason,
): { state: AlertState; effect: AlertEffect; occurrence: AlertOccurrence } {
  const cur = state.current!;
  const esc = cur.escalation!;
  const pages = esc.pages + 1;
  const occurrence: AlertOccurrence = {
    ...cur,
    escalation: { ...esc, pages },
    paged: [...new Set([...cur.paged, ...plan.users])],
    lastPage: {
      step: plan.step,
      loop: plan.loop,
      users: plan.users,
      channels: plan.channels,
      unstaffed: plan.unstaffed,
    },
  };
  return {
    state: { ...state, current: occurrence },
    effect: { kind: 'page', step: `o${cur.n}:page:${pages}`, plan, reason },
    occurrence,
  };
}

/**
 * A notification from Alertmanager or the API. `rememberUnseenResolves` (histories from before it
 * dropped such a resolve): a resolve for an occurrence this alert never saw firing (it overtook
 * its firing: retries, reordering) is remembered, so the late firing is stale and pages nobody.
 */
export function applyNotification(
  state: AlertState,
  n: AlertNotification,
  nowMs: number,
  opts: { rememberUnseenResolves?: boolean } = {},
): Transition {
  if (state.processedEventIds.includes(n.eventId)) return { state, effects: [], outcome: 'duplicate' };
  let s = markProcessed(state, n.eventId);
  const startsAtMs = Date.parse(n.startsAt);
  const cur = s.current;

  if (n.status === 'resolved') {
    if (!cur || s.status === 'resolved') {
      const unseen =
        opts.rememberUnseenResolves &&
        n.occurrenceId !== undefined &&
        n.occurrenceId !== cur?.occurrenceId &&
        Number.isFinite(startsAtMs) &&
        (s.lastResolvedStartsAtMs === undefined || startsAtMs > s.lastResolvedStartsAtMs);
      if (unseen) {
        s = { ...s, lastResolvedOccurrenceId: n.occurrenceId, lastResolvedStartsAtMs: startsAtMs };
        s = withTimeline(s, nowMs, { kind: 'resolved', summary: 'resolved before its firing arrived' });
      }
      return { state: s, effects: [], outcome: 'ignored' };
    }
    // A resolve for an older occurrence than the one firing now is a late retry: ignore it.
    if (n.occurrenceId && cur.occurrenceId && n.occurrenceId !== cur.occurrenceId && startsAtMs < cur.startsAtMs)
      return { state: s, effects: [], outcome: 'stale' };
    const via = s.source === 'alertmanager' ? 'alertmanager' : 'api';
    return resolve(s, n.resolvedBy ?? via, via, nowMs);
  }

  if (cur && s.status !== 'resolved') return { state: s, effects: [], outcome: 'repeat' };
  if (
    n.occurrenceId &&
    (n.occurrenceId === s.lastResolvedOccurrenceId ||
      (s.lastResolvedStartsAtMs !== undefined && startsAtMs <= s.lastResolvedStartsAtMs))
  )
    return { state: s, effects: [], outcome: 'stale' };
  if (!n.details || !n.route) return { state: s, effects: [], outcome: 'ignored' };

  const number = s.occurrences + 1;
  const route = n.route;
  const occurrence: AlertOccurrence = {
    n: number,
    ...(n.occurrenceId ? { occurrenceId: n.occurrenceId } : {}),
    startsAtMs: Number.isFinite(startsAtMs) ? startsAtMs : nowMs,
    firedAtMs: nowMs,
    route,
    paged: [],
    channelMembers: [],
    membersLoaded: false,
    ...(route.policy && !route.webhook ? { escalation: startEscalation(route.policy, nowMs) } : {}),
  };
  s = bump({ ...s, status: 'firing', details: n.details, occurrences: number, current: occurrence, copies: [] }, nowMs);
  const refired = number > 1;
  s = withTimeline(s, nowMs, {
    kind: refired ? 'refired' : 'fired',
    summary: refired ? `firing again (fired ${number} times)` : `firing: ${n.details.title}`,
  });
  const effects: AlertEffect[] = [];
  if (route.webhook) {
    effects.push({ kind: 'webhook', step: `o${number}:fired`, status: 'firing' });
  } else {
    let pageEffect: AlertEffect | undefined;
    if (route.policy) {
      const plan = resolveStep(route.policy, 0, 0, nowMs);
      const paged = page(s, plan, 'fired');
      s = paged.state;
      pageEffect = paged.effect;
    }
    if (!s.root) effects.push({ kind: 'post_root' });
    else
      effects.push(
        { kind: 'refresh' },
        { kind: 'reply', step: `o${number}:refired`, text: `:repeat: Firing again: fired ${number} times.` },
      );
    if (pageEffect) effects.push(pageEffect);
    if (route.entitlement.channelMembers && route.channel) effects.push({ kind: 'load_members' });
  }
  effects.push({
    kind: 'audit',
    action: refired ? 'alert.refired' : 'alert.fired',
    step: `o${number}:fired`,
    actor: { kind: s.source === 'alertmanager' ? 'provider' : 'api_client', id: n.details.origin },
    details: {
      occurrence: number,
      severity: n.details.severity,
      rule: route.rule,
      channel: route.channel ?? null,
      webhook: route.webhook ?? null,
      policy: route.policy?.name ?? null,
    },
  });
  return { state: s, effects, outcome: refired ? 'refired' : 'fired' };
}

function resolve(state: AlertState, by: string, via: 'alertmanager' | 'slack' | 'api', nowMs: number): Transition {
  const cur = state.current!;
  const occurrence: AlertOccurrence = {
    ...cur,
    resolved: { by, via, atMs: nowMs },
    ...(cur.escalation ? { escalation: { ...cur.escalation, nextAtMs: undefined, ackTimeoutAtMs: undefined } } : {}),
  };
  const who = via === 'slack' ? `<@${by}>` : via === 'alertmanager' ? 'Alertmanager' : 'the API';
  const after = describeDuration(nowMs - cur.startsAtMs);
  let s = bump(
    {
      ...state,
      status: 'resolved',
      current: occurrence,
      ...(cur.occurrenceId
        ? { lastResolvedOccurrenceId: cur.occurrenceId, lastResolvedStartsAtMs: cur.startsAtMs }
        : {}),
    },
    nowMs,
  );
  s = withTimeline(s, nowMs, { kind: 'resolved', actor: by, summary: `resolved by ${who} after ${after}` });
  const effects: AlertEffect[] = cur.route.webhook
    ? [{ kind: 'webhook', step: `o${cur.n}:resolved`, status: 'resolved' }]
    : [
        { kind: 'refresh' },
        { kind: 'reply', step: `o${cur.n}:resolved`, text: `:white_check_mark: Resolved by ${who} after ${after}.` },
      ];
  effects.push({
    kind: 'audit',
    action: 'alert.resolved',
    step: `o${cur.n}:resolved`,
    actor:
      via === 'slack'
        ? { kind: 'slack_user', id: by }
        : via === 'api'
          ? { kind: 'api_client', id: by }
          : { kind: 'provider', id: 'alertmanager' },
    details: { occurrence: cur.n, via, firingMs: nowMs - cur.startsAtMs },
  });
  return { state: s, effects, outcome: 'resolved' };
}

export type AlertVerb = 'alert.ack' | 'alert.escalate' | 'alert.resolve';

/**
 * Who may press a button, decided synchronously (the Update validator: a refusal writes no
 * history). Entitled: everyone paged for this occurrence, the configured groups, and (when the
 * route says so) the members of the alert's channel.
 */
export function checkAlertAction(
  state: AlertState,
  verb: string,
  user: string,
  occurrenceTag?: string,
): { ok: true } | { ok: false; message: string } {
  const cur = state.current;
  if (verb !== 'alert.ack' && verb !== 'alert.escalate' && verb !== 'alert.resolve')
    return { ok: false, message: 'This button is not supported here.' };
  if (!cur) return { ok: false, message: 'This alert has not fired yet.' };
  if (occurrenceTag && occurrenceTag !== `o${cur.n}`)
    return { ok: false, message: 'This card is from an earlier firing of the alert; nothing was changed.' };
  if (state.status === 'resolved') {
    const by = cur.resolved?.via === 'slack' ? `<@${cur.resolved.by}>` : (cur.resolved?.via ?? 'someone');
    return { ok: false, message: `This alert is already resolved (by ${by}).` };
  }
  if (!isEntitled(cur, user)) {
    const where =
      cur.route.entitlement.channelMembers && cur.route.channel ? `, members of <#${cur.route.channel}>` : '';
    const groups = cur.route.entitlement.groups.length
      ? `, or the ${cur.route.entitlement.groups.join('/')} group`
      : '';
    return {
      ok: false,
      message: `Only this alert's responders can do that (the people paged for it${where}${groups}).`,
    };
  }
  if (verb === 'alert.ack' && state.status === 'acknowledged')
    return { ok: false, message: `Already acknowledged by <@${cur.ack?.by ?? 'someone'}>.` };
  if (verb === 'alert.escalate' && !cur.route.policy)
    return { ok: false, message: 'This alert has no escalation policy to escalate through.' };
  if (verb === 'alert.resolve' && !cur.route.resolvable)
    return { ok: false, message: 'Alertmanager alerts resolve from Alertmanager; nothing was changed.' };
  return { ok: true };
}

export function isEntitled(cur: AlertOccurrence, user: string): boolean {
  return (
    cur.paged.includes(user) ||
    cur.route.entitlement.users.includes(user) ||
    (cur.route.entitlement.channelMembers && cur.channelMembers.includes(user))
  );
}

/**
 * Who may read the alert's status (`/threadline status`) besides the members of the channels its
 * messages are in and the people in its audit trail: everyone paged and the configured groups.
 */
export function alertParticipants(state: AlertState): string[] {
  const cur = state.current;
  return cur ? [...new Set([...cur.paged, ...cur.route.entitlement.users])] : [];
}

/** A click that passed `checkAlertAction`. */
export function applyAlertAction(state: AlertState, verb: AlertVerb, user: string, nowMs: number): Transition {
  const cur = state.current!;
  if (verb === 'alert.resolve') return resolve(state, user, 'slack', nowMs);
  if (verb === 'alert.ack') {
    const occurrence: AlertOccurrence = {
      ...cur,
      ack: { by: user, atMs: nowMs },
      ...(cur.escalation ? { escalation: acknowledge(cur.route.policy, cur.escalation, nowMs) } : {}),
    };
    let s = bump({ ...state, status: 'acknowledged', current: occurrence }, nowMs);
    s = withTimeline(s, nowMs, { kind: 'acknowledged', actor: user, summary: `acknowledged by <@${user}>` });
    const timeout = cur.route.policy?.ackTimeoutMs;
    return {
      state: s,
      outcome: 'acknowledged',
      effects: [
        { kind: 'refresh' },
        {
          kind: 'reply',
          step: `o${cur.n}:ack:${occurrence.escalation?.retriggers ?? 0}`,
          text: `:eyes: Acknowledged by <@${user}>; escalation stopped.${timeout !== undefined ? ` If it is not resolved within ${describeDuration(timeout)} it re-triggers.` : ''}`,
        },
        {
          kind: 'audit',
          action: 'alert.acknowledged',
          step: `o${cur.n}:ack:${occurrence.escalation?.retriggers ?? 0}`,
          actor: { kind: 'slack_user', id: user },
          details: { occurrence: cur.n, step: (cur.escalation?.step ?? 0) + 1 },
        },
      ],
    };
  }
  return escalateNow(state, nowMs, 'escalate_button', user);
}

function escalateNow(
  state: AlertState,
  nowMs: number,
  reason: 'escalated' | 'escalate_button',
  user?: string,
): Transition {
  const cur = state.current!;
  const policy = cur.route.policy!;
  const moved = advance(policy, cur.escalation!, nowMs, reason === 'escalate_button');
  let s = bump(
    {
      ...state,
      status: 'firing',
      current: { ...cur, escalation: moved.escalation, ...(reason === 'escalate_button' ? { ack: undefined } : {}) },
    },
    nowMs,
  );
  if (!moved.page) {
    s = withTimeline(s, nowMs, { kind: 'escalated', summary: 'escalation policy exhausted' });
    return {
      state: s,
      outcome: 'exhausted',
      effects: [
        {
          kind: 'reply',
          step: `o${cur.n}:exhausted:${cur.escalation!.retriggers}`,
          text: `:warning: Nobody acknowledged it through the whole *${policy.name}* policy; it is still firing.`,
        },
        {
          kind: 'audit',
          action: 'alert.escalation_exhausted',
          step: `o${cur.n}:exhausted:${cur.escalation!.retriggers}`,
        },
      ],
    };
  }
  const plan = resolveStep(policy, moved.page.step, moved.page.loop, nowMs);
  const paged = page(s, plan, reason);
  s = withTimeline(paged.state, nowMs, {
    kind: 'escalated',
    ...(user ? { actor: user } : {}),
    summary: `${stepLabel(policy, plan.step, plan.loop)}: paged ${mentionAll(plan)}`,
  });
  const why =
    reason === 'escalate_button'
      ? `<@${user}> escalated it`
      : `Not acknowledged within ${describeDuration(policy.steps[cur.escalation!.step]?.delayMs ?? 0)}`;
  const pages = paged.occurrence.escalation!.pages;
  return {
    state: s,
    outcome: 'escalated',
    effects: [
      { kind: 'refresh' },
      {
        kind: 'reply',
        step: `o${cur.n}:escalation:${pages}`,
        text: `:arrow_double_up: ${why}: paging ${mentionAll(plan)} (${stepLabel(policy, plan.step, plan.loop)}).${unstaffedNote(plan)}`,
      },
      paged.effect,
      {
        kind: 'audit',
        action: 'alert.escalated',
        step: `o${cur.n}:escalation:${pages}`,
        ...(user ? { actor: { kind: 'slack_user' as const, id: user } } : {}),
        details: {
          occurrence: cur.n,
          step: plan.step + 1,
          loop: plan.loop + 1,
          users: plan.users,
          channels: plan.channels,
          unstaffed: plan.unstaffed,
          reason,
        },
      },
    ],
  };
}

export type AlertTimer = { kind: 'escalate' | 'ack_timeout' | 'close'; atMs: number } | { kind: 'none' };

/** The next durable timer: a step's delay, an ack timeout, or (resolved) the reopen window. */
export function nextAlertTimer(state: AlertState, reopenWindowMs: number): AlertTimer {
  const esc = state.current?.escalation;
  if (state.status === 'firing' && esc?.nextAtMs !== undefined) return { kind: 'escalate', atMs: esc.nextAtMs };
  if (state.status === 'acknowledged' && esc?.ackTimeoutAtMs !== undefined)
    return { kind: 'ack_timeout', atMs: esc.ackTimeoutAtMs };
  if (state.status === 'resolved') return { kind: 'close', atMs: state.lastActivityAtMs + reopenWindowMs };
  return { kind: 'none' };
}

/** A step's delay ran out (escalate), or an acknowledgement timed out (re-trigger, PagerDuty style). */
export function applyAlertTimer(state: AlertState, kind: 'escalate' | 'ack_timeout', nowMs: number): Transition {
  if (kind === 'escalate') return escalateNow(state, nowMs, 'escalated');
  const cur = state.current!;
  const policy = cur.route.policy!;
  const esc = cur.escalation!;
  const retriggers = esc.retriggers + 1;
  const ackedBy = cur.ack?.by;
  let s = bump(
    {
      ...state,
      status: 'firing',
      current: { ...cur, ack: undefined, escalation: startEscalation(policy, nowMs, esc.pages, retriggers) },
    },
    nowMs,
  );
  const plan = resolveStep(policy, 0, 0, nowMs);
  const paged = page(s, plan, 'ack_timeout');
  s = withTimeline(paged.state, nowMs, {
    kind: 'ack_timeout',
    summary: `acknowledged but not resolved within ${describeDuration(policy.ackTimeoutMs ?? 0)}: re-triggered`,
  });
  return {
    state: s,
    outcome: 'retriggered',
    effects: [
      { kind: 'refresh' },
      {
        kind: 'reply',
        step: `o${cur.n}:ack_timeout:${retriggers}`,
        text: `:alarm_clock: Acknowledged${ackedBy ? ` by <@${ackedBy}>` : ''} but not resolved within ${describeDuration(policy.ackTimeoutMs ?? 0)}: re-triggered, paging ${mentionAll(plan)} again.${unstaffedNote(plan)}`,
      },
      paged.effect,
      {
        kind: 'audit',
        action: 'alert.ack_timeout',
        step: `o${cur.n}:ack_timeout:${retriggers}`,
        details: { occurrence: cur.n, retriggers, ackedBy: ackedBy ?? null, users: plan.users },
      },
    ],
  };
}

/** The members of the route channel arrived (bounded by the activity). */
export function withChannelMembers(state: AlertState, n: number, members: string[]): AlertState {
  if (!state.current || state.current.n !== n) return state;
  return { ...state, current: { ...state.current, channelMembers: members, membersLoaded: true } };
}
