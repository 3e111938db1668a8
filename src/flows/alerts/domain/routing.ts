import type {
  AlertDetails,
  AlertRoute,
  AlertSource,
  ChatopsApprovalSpec,
  EscalationStepSpec,
  FrozenPolicy,
  ScheduleSpec,
} from '../contract.js';

/**
 * The alerts flow's settings, as config.ts builds them from the validated `ALERTS_CONFIG`
 * (routes, policies, schedules, groups, ChatOps actions), and the routing decision made when an
 * occurrence fires. Pure.
 */

export interface RouteTarget {
  channel?: string;
  /** Name of an incoming webhook (`ALERTS_INCOMING_WEBHOOK_SECRETS`): notification only. */
  webhook?: string;
  policy?: string;
  /** Alertmanager alerts get a Resolve button only when this is set (generic alerts always do). */
  resolvable?: boolean;
  entitle: { channelMembers: boolean; groups: string[] };
}

export interface RouteRule extends RouteTarget {
  name: string;
  /** Every given condition must hold; values are alternatives. */
  match: { severity?: string[]; labels?: Record<string, string[]>; origin?: string[] };
}

export interface PolicySettings {
  name: string;
  steps: EscalationStepSpec[];
  repeat: number;
  ackTimeoutMs?: number;
}

export interface ActionArg {
  name: string;
  description?: string;
  required: boolean;
  /** Anchored regular expression the value must match (source text). */
  pattern?: string;
  values?: string[];
  default?: string;
  maxLength: number;
}

export interface ChatopsActionSettings {
  name: string;
  description: string;
  /** Channels it may be run from (empty: any channel). */
  channels: string[];
  /** People allowed to run it, directly or through `groups`. */
  people: string[];
  groups: string[];
  args: ActionArg[];
  url: string;
  timeoutMs: number;
  maxAttempts: number;
  approval?: ChatopsApprovalSpec;
}

export interface AlertsSettings {
  routes: RouteRule[];
  /** The label whose value picks a team's target (`team`). */
  teamLabel: string;
  teams: Record<string, RouteTarget>;
  default: RouteTarget;
  policies: Record<string, PolicySettings>;
  schedules: Record<string, ScheduleSpec>;
  groups: Record<string, string[]>;
  actions: Record<string, ChatopsActionSettings>;
}

function matches(rule: RouteRule, d: AlertDetails): boolean {
  const m = rule.match;
  if (m.severity && !m.severity.includes(d.severity)) return false;
  if (m.origin && !m.origin.includes(d.origin)) return false;
  for (const [k, values] of Object.entries(m.labels ?? {})) {
    const v = d.labels[k];
    if (v === undefined || !values.includes(v)) return false;
  }
  return true;
}

/** The policy with the schedules its steps name, copied so later config edits cannot reach it. */
export function freezePolicy(settings: AlertsSettings, name: string | undefined): FrozenPolicy | undefined {
  const p = name ? settings.policies[name] : undefined;
  if (!p) return undefined;
  const schedules: Record<string, ScheduleSpec> = {};
  for (const step of p.steps)
    for (const t of step.targets)
      if (t.kind === 'schedule' && settings.schedules[t.schedule])
        schedules[t.schedule] = settings.schedules[t.schedule]!;
  return structuredClone({
    name: p.name,
    steps: p.steps,
    repeat: p.repeat,
    ...(p.ackTimeoutMs !== undefined ? { ackTimeoutMs: p.ackTimeoutMs } : {}),
    schedules,
  });
}

/**
 * Where an alert goes: the first route whose conditions all hold (the default config sends
 * `critical` to the incidents channel), else the team named by the team label, else the default.
 */
export function routeAlert(settings: AlertsSettings, d: AlertDetails, source: AlertSource): AlertRoute {
  const rule = settings.routes.find((r) => matches(r, d));
  const team = d.labels[settings.teamLabel];
  // The label comes from the sender: only configured teams count (`constructor` is not one).
  const teamTarget = team !== undefined && Object.hasOwn(settings.teams, team) ? settings.teams[team] : undefined;
  const [name, t] = rule
    ? [`route:${rule.name}`, rule]
    : teamTarget
      ? [`team:${team}`, teamTarget]
      : ['default', settings.default];
  const users = [...new Set(t.entitle.groups.flatMap((g) => settings.groups[g] ?? []))];
  const policy = t.webhook ? undefined : freezePolicy(settings, t.policy);
  return {
    rule: name,
    ...(t.webhook ? { webhook: t.webhook } : { channel: t.channel }),
    ...(policy ? { policy } : {}),
    resolvable: source === 'api' || t.resolvable === true,
    entitlement: { channelMembers: !t.webhook && t.entitle.channelMembers, users, groups: t.entitle.groups },
  };
}
