import { describe, expect, it } from 'vitest';
import type { AlertNotification, AlertRoute, AlertState, FrozenPolicy } from '../../../../src/flows/alerts/contract.js';
import {
  actionUsage,
  listRunnableActions,
  mayRun,
  parseActionArgs,
} from '../../../../src/flows/alerts/domain/chatops.js';
import {
  alertParticipants,
  applyAlertAction,
  applyAlertTimer,
  applyNotification,
  checkAlertAction,
  initialAlertState,
  nextAlertTimer,
  withChannelMembers,
} from '../../../../src/flows/alerts/domain/lifecycle.js';
import { severityStyle } from '../../../../src/flows/alerts/domain/format.js';
import { routeAlert, type AlertsSettings } from '../../../../src/flows/alerts/domain/routing.js';

const MIN = 60_000;
const T0 = Date.parse('2026-05-04T10:00:00Z');

const policy: FrozenPolicy = {
  name: 'primary',
  steps: [
    { delayMs: 5 * MIN, targets: [{ kind: 'schedule', schedule: 'oncall' }] },
    {
      delayMs: 10 * MIN,
      targets: [
        { kind: 'user', user: 'U0ALICE' },
        { kind: 'channel', channel: 'C0ESCALATE' },
      ],
    },
  ],
  repeat: 1,
  ackTimeoutMs: 30 * MIN,
  schedules: {
    oncall: {
      name: 'oncall',
      timeZone: 'UTC',
      rotations: [{ people: ['U0BOB'], start: '2026-01-01T00:00', shift: { unit: 'week', count: 1 } }],
      overrides: [],
    },
  },
};
const route = (over: Partial<AlertRoute> = {}): AlertRoute => ({
  rule: 'route:critical',
  channel: 'C0OPSALERT',
  policy,
  resolvable: false,
  entitlement: { channelMembers: true, users: ['U0ERIN'], groups: ['sre'] },
  ...over,
});
const firing = (
  id: string,
  startsAt = '2026-05-04T09:59:00Z',
  over: Partial<AlertNotification> = {},
): AlertNotification => ({
  eventId: id,
  status: 'firing',
  occurrenceId: `fp@${startsAt}`,
  startsAt,
  receivedAt: startsAt,
  details: {
    origin: 'alertmanager',
    title: 'DiskFull',
    summary: 'disk full',
    severity: 'critical',
    labels: {},
    links: [],
  },
  route: route(),
  ...over,
});
const resolved = (id: string, startsAt = '2026-05-04T09:59:00Z'): AlertNotification => ({
  eventId: id,
  status: 'resolved',
  occurrenceId: `fp@${startsAt}`,
  startsAt,
  receivedAt: startsAt,
});
const fresh = (): AlertState => initialAlertState('am:fp', 'alertmanager', T0);
const kinds = (effects: { kind: string }[]) => effects.map((e) => e.kind);

describe('alert lifecycle (pure)', () => {
  it('a resolve that overtook its firing is remembered: the late firing is stale and pages nobody; a later occurrence still fires', () => {
    const early = applyNotification(fresh(), resolved('r1'), T0, { rememberUnseenResolves: true });
    expect(early).toMatchObject({ outcome: 'ignored', effects: [] });
    expect(early.state).toMatchObject({ status: 'resolved', lastResolvedOccurrenceId: 'fp@2026-05-04T09:59:00Z' });
    const late = applyNotification(early.state, firing('f1'), T0 + 1, { rememberUnseenResolves: true });
    expect(late).toMatchObject({ outcome: 'stale', effects: [] });
    const next = applyNotification(late.state, firing('f2', '2026-05-04T11:00:00Z'), T0 + 2, {
      rememberUnseenResolves: true,
    });
    expect(next.outcome).toBe('fired');
    // Without the option (histories from before it), the resolve is dropped and the firing opens it.
    const before = applyNotification(applyNotification(fresh(), resolved('r1'), T0).state, firing('f1'), T0 + 1);
    expect(before.outcome).toBe('fired');
  });

  it('fires once: card, page step 1 (schedule resolved to who is on call), members, audit; repeats and duplicates do nothing', () => {
    const r = applyNotification(fresh(), firing('e1'), T0);
    expect(r.outcome).toBe('fired');
    expect(kinds(r.effects)).toEqual(['post_root', 'page', 'load_members', 'audit']);
    expect(r.state.status).toBe('firing');
    expect(r.state.current?.paged).toEqual(['U0BOB']);
    expect(r.state.current?.escalation).toMatchObject({ step: 0, loop: 0, nextAtMs: T0 + 5 * MIN, pages: 1 });
    const withRoot = { ...r.state, root: { channel: 'C0OPSALERT', ts: '1.1' } };
    expect(applyNotification(withRoot, firing('e1'), T0 + 1).outcome).toBe('duplicate');
    const repeat = applyNotification(withRoot, firing('e2'), T0 + 4 * 3_600_000);
    expect(repeat.outcome).toBe('repeat');
    expect(repeat.effects).toEqual([]);
  });

  it('escalates through two steps, repeats the policy once, then stops (durable timers come from state)', () => {
    let s = applyNotification(fresh(), firing('e1'), T0).state;
    expect(nextAlertTimer(s, 0)).toEqual({ kind: 'escalate', atMs: T0 + 5 * MIN });
    const step2 = applyAlertTimer(s, 'escalate', T0 + 5 * MIN);
    expect(step2.outcome).toBe('escalated');
    const page2 = step2.effects.find((e) => e.kind === 'page');
    expect(page2).toMatchObject({ plan: { step: 1, loop: 0, users: ['U0ALICE'], channels: ['C0ESCALATE'] } });
    s = step2.state;
    expect(nextAlertTimer(s, 0)).toEqual({ kind: 'escalate', atMs: T0 + 15 * MIN });
    const again = applyAlertTimer(s, 'escalate', T0 + 15 * MIN);
    expect(again.effects.find((e) => e.kind === 'page')).toMatchObject({
      plan: { step: 0, loop: 1, users: ['U0BOB'] },
    });
    s = applyAlertTimer(again.state, 'escalate', T0 + 20 * MIN).state;
    const done = applyAlertTimer(s, 'escalate', T0 + 30 * MIN);
    expect(done.outcome).toBe('exhausted');
    expect(nextAlertTimer(done.state, 0)).toEqual({ kind: 'none' });
    expect(done.state.current?.paged.sort()).toEqual(['U0ALICE', 'U0BOB']);
  });

  it('entitlement: paged people, configured groups and (once loaded) channel members; others are refused', () => {
    const s = applyNotification(fresh(), firing('e1'), T0).state;
    expect(checkAlertAction(s, 'alert.ack', 'U0BOB', 'o1')).toEqual({ ok: true });
    expect(checkAlertAction(s, 'alert.ack', 'U0ERIN', 'o1')).toEqual({ ok: true }); // group
    const dave = checkAlertAction(s, 'alert.ack', 'U0DAVE', 'o1');
    expect(dave.ok).toBe(false);
    expect(!dave.ok && dave.message).toContain("Only this alert's responders");
    expect(checkAlertAction(withChannelMembers(s, 1, ['U0DAVE']), 'alert.ack', 'U0DAVE', 'o1')).toEqual({ ok: true });
    expect(checkAlertAction(s, 'alert.ack', 'U0BOB', 'o0')).toMatchObject({
      ok: false,
      message: expect.stringContaining('earlier firing'),
    });
    expect(checkAlertAction(s, 'alert.resolve', 'U0BOB', 'o1')).toMatchObject({
      ok: false,
      message: expect.stringContaining('resolve from Alertmanager'),
    });
  });

  it('status participants: the people paged so far and the configured groups, not channel members (the platform checks those)', () => {
    expect(alertParticipants(fresh())).toEqual([]);
    let s = applyNotification(fresh(), firing('e1'), T0).state;
    s = withChannelMembers(s, 1, ['U0DAVE']);
    expect(alertParticipants(s).sort()).toEqual(['U0BOB', 'U0ERIN']);
    s = applyAlertTimer(s, 'escalate', T0 + 5 * MIN).state;
    expect(alertParticipants(s).sort()).toEqual(['U0ALICE', 'U0BOB', 'U0ERIN']);
  });

  it('acknowledge stops escalation and starts the ack timeout, which re-triggers back to step 1 (PagerDuty)', () => {
    const s = applyNotification(fresh(), firing('e1'), T0).state;
    const acked = applyAlertAction(s, 'alert.ack', 'U0BOB', T0 + MIN);
    expect(acked.state.status).toBe('acknowledged');
    expect(nextAlertTimer(acked.state, 0)).toEqual({ kind: 'ack_timeout', atMs: T0 + 31 * MIN });
    expect(checkAlertAction(acked.state, 'alert.ack', 'U0BOB', 'o1')).toMatchObject({
      ok: false,
      message: 'Already acknowledged by <@U0BOB>.',
    });
    const re = applyAlertTimer(acked.state, 'ack_timeout', T0 + 31 * MIN);
    expect(re.outcome).toBe('retriggered');
    expect(re.state.status).toBe('firing');
    expect(re.state.current?.ack).toBeUndefined();
    expect(re.state.current?.escalation).toMatchObject({ step: 0, retriggers: 1, nextAtMs: T0 + 36 * MIN });
    expect(re.effects.find((e) => e.kind === 'reply')).toMatchObject({ text: expect.stringContaining('re-triggered') });
  });

  it('Escalate jumps to the next step at once and un-acknowledges', () => {
    const s = applyAlertAction(
      applyNotification(fresh(), firing('e1'), T0).state,
      'alert.ack',
      'U0BOB',
      T0 + MIN,
    ).state;
    const e = applyAlertAction(s, 'alert.escalate', 'U0BOB', T0 + 2 * MIN);
    expect(e.state.status).toBe('firing');
    expect(e.effects.find((x) => x.kind === 'page')).toMatchObject({ plan: { step: 1, users: ['U0ALICE'] } });
    expect(nextAlertTimer(e.state, 0)).toEqual({ kind: 'escalate', atMs: T0 + 12 * MIN });
  });

  it('resolve then fire again is a new occurrence in the same thread (flap counter); a late repeat of the old one is stale', () => {
    let s = applyNotification(fresh(), firing('e1'), T0).state;
    s = { ...s, root: { channel: 'C0OPSALERT', ts: '1.1' } };
    const r = applyNotification(s, resolved('e2'), T0 + 12 * MIN);
    expect(r.outcome).toBe('resolved');
    expect(kinds(r.effects)).toEqual(['refresh', 'reply', 'audit']);
    expect(nextAlertTimer(r.state, 60 * MIN)).toEqual({ kind: 'close', atMs: T0 + 72 * MIN });
    expect(applyNotification(r.state, resolved('e3'), T0 + 13 * MIN).outcome).toBe('ignored');
    expect(applyNotification(r.state, firing('e4'), T0 + 14 * MIN).outcome).toBe('stale'); // same startsAt
    const again = applyNotification(r.state, firing('e5', '2026-05-04T10:30:00Z'), T0 + 30 * MIN);
    expect(again.outcome).toBe('refired');
    expect(again.state.occurrences).toBe(2);
    expect(kinds(again.effects)).toEqual(['refresh', 'reply', 'page', 'load_members', 'audit']);
    expect(again.state.current?.n).toBe(2);
    // A resolve of occurrence 1 arriving late does not resolve occurrence 2.
    expect(applyNotification(again.state, resolved('e6'), T0 + 31 * MIN).outcome).toBe('stale');
  });

  it('webhook routes are notification only: a webhook post per change, no card, no paging', () => {
    const n = firing('e1', undefined, { route: route({ channel: undefined, webhook: 'data', policy: undefined }) });
    const r = applyNotification(fresh(), n, T0);
    expect(kinds(r.effects)).toEqual(['webhook', 'audit']);
    expect(kinds(applyNotification(r.state, resolved('e2'), T0 + MIN).effects)).toEqual(['webhook', 'audit']);
  });
});

const settings: AlertsSettings = {
  routes: [
    {
      name: 'critical',
      match: { severity: ['critical'] },
      channel: 'C0OPSALERT',
      policy: 'primary',
      entitle: { channelMembers: true, groups: ['sre'] },
    },
  ],
  teamLabel: 'team',
  teams: { data: { webhook: 'data-hook', entitle: { channelMembers: true, groups: [] } } },
  default: { channel: 'C0TICKETS', entitle: { channelMembers: false, groups: [] } },
  policies: { primary: { name: 'primary', steps: policy.steps, repeat: 1, ackTimeoutMs: 30 * MIN } },
  schedules: policy.schedules,
  groups: { sre: ['U0ERIN'] },
  actions: {
    restart: {
      name: 'restart',
      description: 'Restart a service',
      channels: ['C0OPSALERT'],
      people: ['U0BOB'],
      groups: ['sre'],
      args: [
        { name: 'service', required: true, pattern: '[a-z-]+', maxLength: 40 },
        { name: 'env', required: false, values: ['staging', 'prod'], default: 'staging', maxLength: 20 },
      ],
      url: 'https://ops.example.com/restart',
      timeoutMs: 5000,
      maxAttempts: 3,
    },
  },
};

describe('routing (configured as code)', () => {
  const d = (severity: string, labels: Record<string, string> = {}) => ({
    origin: 'alertmanager',
    title: 't',
    summary: 's',
    severity,
    labels,
    links: [],
  });
  it('critical → the incidents channel with its policy frozen (schedules copied in); team label → the team target; else default', () => {
    const r = routeAlert(settings, d('critical', { team: 'data' }), 'alertmanager');
    expect(r).toMatchObject({
      rule: 'route:critical',
      channel: 'C0OPSALERT',
      resolvable: false,
      entitlement: { channelMembers: true, users: ['U0ERIN'] },
    });
    expect(r.policy?.schedules.oncall?.rotations[0]?.people).toEqual(['U0BOB']);
    expect(routeAlert(settings, d('warning', { team: 'data' }), 'alertmanager')).toMatchObject({
      rule: 'team:data',
      webhook: 'data-hook',
    });
    expect(routeAlert(settings, d('warning'), 'api')).toMatchObject({
      rule: 'default',
      channel: 'C0TICKETS',
      resolvable: true,
    });
  });
  it("a sender's team or severity label that names an inherited property (constructor, __proto__) is just unknown", () => {
    for (const label of ['constructor', '__proto__', 'toString']) {
      expect(routeAlert(settings, d(label, { team: label }), 'alertmanager')).toMatchObject({
        rule: 'default',
        channel: 'C0TICKETS',
      });
      expect(severityStyle(label)).toMatchObject({ emoji: ':white_circle:', label: label.toUpperCase() });
    }
  });
  it('a policy edit after the trigger does not reach the frozen copy', () => {
    const copy = structuredClone(settings);
    const frozen = routeAlert(copy, d('critical'), 'alertmanager').policy!;
    copy.policies.primary!.steps[0]!.delayMs = 1;
    copy.schedules.oncall!.rotations[0]!.people.push('U0CAROL');
    expect(frozen.steps[0]!.delayMs).toBe(5 * MIN);
    expect(frozen.schedules.oncall!.rotations[0]!.people).toEqual(['U0BOB']);
  });
});

describe('ChatOps arguments and permissions', () => {
  const action = settings.actions.restart!;
  it('validates name=value and positional arguments, defaults, patterns, enums', () => {
    expect(parseActionArgs(action, ['checkout'])).toEqual({ ok: true, args: { service: 'checkout', env: 'staging' } });
    expect(parseActionArgs(action, ['env=prod', 'service=api'])).toEqual({
      ok: true,
      args: { service: 'api', env: 'prod' },
    });
    expect(parseActionArgs(action, [])).toMatchObject({
      ok: false,
      message: expect.stringContaining('`service` is required'),
    });
    expect(parseActionArgs(action, ['Bad_Name'])).toMatchObject({
      ok: false,
      message: expect.stringContaining('must match'),
    });
    expect(parseActionArgs(action, ['api', 'env=dev'])).toMatchObject({
      ok: false,
      message: expect.stringContaining('one of'),
    });
    expect(parseActionArgs(action, ['api', 'prod', 'extra'])).toMatchObject({
      ok: false,
      message: expect.stringContaining('no more arguments'),
    });
    expect(parseActionArgs(action, ['x=1'])).toMatchObject({
      ok: false,
      message: expect.stringContaining('no argument `x`'),
    });
    expect(actionUsage(action)).toBe('`/threadline run restart service=… [env=…]`');
  });
  it('people and groups may run it in its channels only; the list shows only what you may run', () => {
    expect(mayRun(settings, action, 'U0BOB', 'C0OPSALERT')).toEqual({ ok: true });
    expect(mayRun(settings, action, 'U0ERIN', 'C0OPSALERT')).toEqual({ ok: true });
    expect(mayRun(settings, action, 'U0DAVE', 'C0OPSALERT')).toMatchObject({ ok: false });
    expect(mayRun(settings, action, 'U0BOB', 'C0TICKETS')).toMatchObject({
      ok: false,
      message: expect.stringContaining('<#C0OPSALERT>'),
    });
    expect(listRunnableActions(settings, 'U0BOB', 'C0OPSALERT')).toContain('restart');
    expect(listRunnableActions(settings, 'U0DAVE', 'C0OPSALERT')).toBe(
      'There are no actions you can run in this channel.',
    );
  });
});
