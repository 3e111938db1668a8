import type { AlertEscalationState, EscalationStepSpec, FrozenPolicy } from '../contract.js';
import { onCallAt } from './schedule.js';

/**
 * Escalation policies (GoAlert / PagerDuty semantics), pure:
 * - step 1 is notified when the occurrence fires; each step's `delay` is how long it waits for an
 *   acknowledgement before the next step is notified;
 * - after the last step's delay the policy starts over, `repeat` more times, then stops;
 * - Acknowledge stops escalation; with an ack timeout, an acknowledged but unresolved alert
 *   re-triggers after it (back to step 1, loop 1);
 * - Escalate notifies the next step at once (an acknowledged alert becomes unacknowledged).
 */

export interface PagePlan {
  step: number;
  loop: number;
  users: string[];
  channels: string[];
  /** Schedules with nobody on call at that moment (said in the thread, never silently dropped). */
  unstaffed: string[];
  /** `on call for <schedule>` per user when they were reached through a schedule. */
  via: Record<string, string>;
}

/** The targets of `step` at instant `nowMs` (schedules resolved to who is on call then). */
export function resolveStep(policy: FrozenPolicy, step: number, loop: number, nowMs: number): PagePlan {
  const spec: EscalationStepSpec | undefined = policy.steps[step];
  const plan: PagePlan = { step, loop, users: [], channels: [], unstaffed: [], via: {} };
  for (const t of spec?.targets ?? []) {
    if (t.kind === 'user') {
      if (!plan.users.includes(t.user)) plan.users.push(t.user);
    } else if (t.kind === 'channel') {
      if (!plan.channels.includes(t.channel)) plan.channels.push(t.channel);
    } else {
      const schedule = policy.schedules[t.schedule];
      const who = schedule ? onCallAt(schedule, nowMs).user : undefined;
      if (!who) plan.unstaffed.push(t.schedule);
      else {
        if (!plan.users.includes(who)) plan.users.push(who);
        plan.via[who] ??= `on call for ${t.schedule}`;
      }
    }
  }
  return plan;
}

/** A fresh escalation at trigger time: step 1 is due now. */
export function startEscalation(policy: FrozenPolicy, nowMs: number, pages = 0, retriggers = 0): AlertEscalationState {
  return { step: 0, loop: 0, nextAtMs: nowMs + (policy.steps[0]?.delayMs ?? 0), retriggers, pages };
}

/** The step after the current one, or undefined when the policy (with its repeats) is done. */
export function nextStep(policy: FrozenPolicy, e: Pick<AlertEscalationState, 'step' | 'loop'>) {
  if (e.step + 1 < policy.steps.length) return { step: e.step + 1, loop: e.loop };
  if (e.loop < policy.repeat) return { step: 0, loop: e.loop + 1 };
  return undefined;
}

/**
 * Moves to the next step at `nowMs` (its timer, or the Escalate button). At the end of the
 * policy the last step is notified again when `force` (a person pressed Escalate), else nothing.
 */
export function advance(
  policy: FrozenPolicy,
  e: AlertEscalationState,
  nowMs: number,
  force: boolean,
): { escalation: AlertEscalationState; page?: { step: number; loop: number } } {
  const n = nextStep(policy, e);
  if (!n) {
    const done: AlertEscalationState = { ...e, nextAtMs: undefined, ackTimeoutAtMs: undefined };
    return force ? { escalation: done, page: { step: e.step, loop: e.loop } } : { escalation: done };
  }
  const delay = policy.steps[n.step]?.delayMs ?? 0;
  return {
    escalation: { ...e, ...n, nextAtMs: nowMs + delay, ackTimeoutAtMs: undefined },
    page: n,
  };
}

/** Acknowledged: escalation stops; the ack timeout (if any) starts. */
export function acknowledge(
  policy: FrozenPolicy | undefined,
  e: AlertEscalationState,
  nowMs: number,
): AlertEscalationState {
  return {
    ...e,
    nextAtMs: undefined,
    ackTimeoutAtMs: policy?.ackTimeoutMs !== undefined ? nowMs + policy.ackTimeoutMs : undefined,
  };
}

/** Human description of a step ("step 2 of 3, pass 2 of 2"). */
export function stepLabel(policy: FrozenPolicy, step: number, loop: number): string {
  const passes = policy.repeat + 1;
  return `step ${step + 1} of ${policy.steps.length}${passes > 1 ? `, pass ${loop + 1} of ${passes}` : ''}`;
}
