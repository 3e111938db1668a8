import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { channelId, duration, optionalString } from '../../platform/config/index.js';
import { defineFlowConfig, type FlowConfigContext } from '../../platform/flow.js';
import type { EscalationTarget, ScheduleSpec, ShiftLength } from './contract.js';
import type {
  AlertsSettings,
  ChatopsActionSettings,
  PolicySettings,
  RouteRule,
  RouteTarget,
} from './domain/routing.js';
import { isTimeZone, parseLocalDateTime } from './domain/schedule.js';

/** Sandbox default of ALERTMANAGER_WEBHOOK_TOKEN (documented; set your own outside the sandbox). */
export const SANDBOX_ALERTMANAGER_TOKEN = 'tl_sandbox_alerts';
/** Sandbox default of ALERTS_ACTION_SIGNING_SECRET (signs ChatOps action requests). */
export const SANDBOX_ACTION_SIGNING_SECRET = 'threadline-sandbox-chatops-secret';
/** The emulator's ops-alerts channel: the sandbox's default and incidents channel for alerts. */
export const SANDBOX_ALERTS_CHANNEL = 'C0OPSALERT';

export interface AlertsConfig {
  /** Bearer token / basic-auth password Alertmanager sends; unset: the webhook answers 503. */
  alertmanagerToken: string | undefined;
  settings: AlertsSettings;
  /** Incoming-webhook URLs by name (secrets: activities read them, workflows see names only). */
  incomingWebhooks: Record<string, string>;
  /** HMAC key for ChatOps action requests (undefined: no actions are defined). */
  actionSigningSecret: string | undefined;
  reopenWindowMs: number;
}

// ─── ALERTS_CONFIG: routes, policies, schedules, groups, actions (JSON, validated here) ──────

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
/** `30s`, `5m`, `2h`, `1d`, `1w`. */
const span = z
  .string()
  .regex(/^\d{1,7}(ms|s|m|h|d|w)$/, 'a duration like 30s, 5m, 2h, 1d or 1w')
  .transform((v) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d|w)$/.exec(v)!;
    return Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  });
const userId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id like U0123ABCD');
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a lower-case name (a-z, 0-9, _ and -)');
const shift = z
  .string()
  .regex(/^\d{1,3}(h|d|w)$/, 'a shift length like 12h, 1d or 1w')
  .transform((v): ShiftLength => {
    const count = Number(v.slice(0, -1));
    const unit = ({ h: 'hour', d: 'day', w: 'week' } as const)[v.slice(-1) as 'h' | 'd' | 'w'];
    return { unit, count };
  })
  .refine((s) => s.count > 0, 'must be longer than zero');

const target = z.union([
  z.strictObject({ user: userId }).transform((t): EscalationTarget => ({ kind: 'user', user: t.user })),
  z.strictObject({ schedule: name }).transform((t): EscalationTarget => ({ kind: 'schedule', schedule: t.schedule })),
  z.strictObject({ channel: channelId }).transform((t): EscalationTarget => ({ kind: 'channel', channel: t.channel })),
]);

const routeTarget = z.strictObject({
  channel: channelId.optional(),
  webhook: name.optional(),
  policy: name.optional(),
  resolvable: z.boolean().optional(),
  entitle: z
    .strictObject({ channelMembers: z.boolean().default(true), groups: z.array(name).default([]) })
    .default({ channelMembers: true, groups: [] }),
});

const actionArg = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'an argument name like service or dry_run'),
  description: z.string().max(200).optional(),
  required: z.boolean().default(false),
  pattern: z
    .string()
    .max(200)
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'a valid regular expression')
    .optional(),
  values: z.array(z.string().min(1).max(100)).min(1).max(50).optional(),
  default: z.string().max(200).optional(),
  maxLength: z.number().int().min(1).max(500).default(100),
});

export const alertsSettingsSchema = z.strictObject({
  routes: z
    .array(
      routeTarget.extend({
        name,
        match: z.strictObject({
          severity: z
            .array(
              z
                .string()
                .min(1)
                .transform((s) => s.toLowerCase()),
            )
            .min(1)
            .optional(),
          labels: z.record(z.string().min(1), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
          origin: z.array(z.string().min(1)).min(1).optional(),
        }),
      }),
    )
    .max(100)
    .default([]),
  teamLabel: z.string().min(1).default('team'),
  teams: z.record(z.string().min(1), routeTarget).default({}),
  default: routeTarget.optional(),
  policies: z
    .record(
      name,
      z.strictObject({
        steps: z
          .array(z.strictObject({ delay: span, targets: z.array(target).min(1).max(20) }))
          .min(1)
          .max(10),
        repeat: z.number().int().min(0).max(10).default(0),
        ackTimeout: span.optional(),
      }),
    )
    .default({}),
  schedules: z
    .record(
      name,
      z.strictObject({
        timeZone: z.string().refine(isTimeZone, 'an IANA time zone like Europe/Berlin'),
        rotations: z
          .array(
            z.strictObject({
              people: z.array(userId).min(1).max(100),
              start: z
                .string()
                .refine((s) => parseLocalDateTime(s) !== undefined, 'a local time YYYY-MM-DDTHH:mm (the handoff time)'),
              length: shift,
            }),
          )
          .min(1)
          .max(10),
        overrides: z
          .array(
            z
              .strictObject({
                user: userId,
                from: z.iso.datetime({ offset: true }),
                to: z.iso.datetime({ offset: true }),
              })
              .refine((o) => Date.parse(o.from) < Date.parse(o.to), {
                message: 'from must be before to',
                path: ['to'],
              }),
          )
          .max(200)
          .default([]),
      }),
    )
    .default({}),
  groups: z.record(name, z.array(userId).min(1).max(500)).default({}),
  actions: z
    .record(
      name,
      z.strictObject({
        description: z.string().min(1).max(200),
        channels: z.array(channelId).default([]),
        people: z.array(userId).default([]),
        groups: z.array(name).default([]),
        args: z.array(actionArg).max(10).default([]),
        url: z.url({ protocol: /^https?$/ }).max(2000),
        timeout: span.default(10_000),
        maxAttempts: z.number().int().min(1).max(10).default(3),
        approval: z
          .strictObject({
            approvers: z.array(userId).min(1).max(25),
            required: z.number().int().min(1).max(25).default(1),
            expireAfter: span.default(3_600_000),
            channel: channelId.optional(),
          })
          .optional(),
      }),
    )
    .default({}),
});
type RawSettings = z.infer<typeof alertsSettingsSchema>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** Cross-references zod cannot see (names that must exist), as problems naming the path. */
function toSettings(
  raw: RawSettings,
  defaults: { channel: string | undefined; inUse: boolean },
  ctx: FlowConfigContext,
  webhooks: Record<string, string>,
): AlertsSettings {
  const problem = (path: string, message: string) => ctx.problem(`ALERTS_CONFIG: ${path}: ${message}`);
  const target = (path: string, t: z.infer<typeof routeTarget>): RouteTarget => {
    // The built-in default of a deployment that does not use alerts has no channel: said above, if at all.
    if (!t.channel && !t.webhook && (path !== 'default' || raw.default)) problem(path, 'needs a channel or a webhook');
    if (t.channel && t.webhook) problem(path, 'has both a channel and a webhook (pick one)');
    if (t.webhook && !webhooks[t.webhook])
      problem(`${path}.webhook`, `no incoming webhook "${t.webhook}" in ALERTS_INCOMING_WEBHOOK_SECRETS`);
    if (t.webhook && t.policy)
      problem(`${path}.policy`, 'incoming-webhook routes are notification only (no escalation)');
    if (t.policy && !raw.policies[t.policy]) problem(`${path}.policy`, `no policy "${t.policy}"`);
    for (const g of t.entitle.groups) if (!raw.groups[g]) problem(`${path}.entitle.groups`, `no group "${g}"`);
    return {
      ...(t.channel ? { channel: t.channel } : {}),
      ...(t.webhook ? { webhook: t.webhook } : {}),
      ...(t.policy ? { policy: t.policy } : {}),
      ...(t.resolvable !== undefined ? { resolvable: t.resolvable } : {}),
      entitle: t.entitle,
    };
  };
  const routes: RouteRule[] = raw.routes.map((r, i) => ({
    ...target(`routes.${i}`, r),
    name: r.name,
    match: {
      ...(r.match.severity ? { severity: r.match.severity } : {}),
      ...(r.match.origin ? { origin: r.match.origin } : {}),
      ...(r.match.labels
        ? {
            labels: Object.fromEntries(Object.entries(r.match.labels).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
          }
        : {}),
    },
  }));
  const teams = Object.fromEntries(Object.entries(raw.teams).map(([k, t]) => [k, target(`teams.${k}`, t)]));
  const fallback = raw.default ?? { channel: defaults.channel, entitle: { channelMembers: true, groups: [] } };
  // A deployment that does not use alerts (no token, no ALERTS_CONFIG) must not need their channel.
  if (!fallback.channel && !fallback.webhook && defaults.inUse)
    ctx.problem('SLACK_CHANNEL_OPS_ALERTS: required (the default alert channel) unless ALERTS_CONFIG sets default');
  const policies: Record<string, PolicySettings> = {};
  for (const [n, p] of Object.entries(raw.policies)) {
    p.steps.forEach((s, i) =>
      s.targets.forEach((t, j) => {
        if (t.kind === 'schedule' && !raw.schedules[t.schedule])
          problem(`policies.${n}.steps.${i}.targets.${j}.schedule`, `no schedule "${t.schedule}"`);
      }),
    );
    policies[n] = {
      name: n,
      steps: p.steps.map((s) => ({ delayMs: s.delay, targets: s.targets })),
      repeat: p.repeat,
      ...(p.ackTimeout !== undefined ? { ackTimeoutMs: p.ackTimeout } : {}),
    };
  }
  const schedules: Record<string, ScheduleSpec> = Object.fromEntries(
    Object.entries(raw.schedules).map(([n, s]) => [
      n,
      {
        name: n,
        timeZone: s.timeZone,
        rotations: s.rotations.map((r) => ({ people: r.people, start: r.start, shift: r.length })),
        overrides: s.overrides.map((o) => ({ user: o.user, fromMs: Date.parse(o.from), toMs: Date.parse(o.to) })),
      },
    ]),
  );
  const actions: Record<string, ChatopsActionSettings> = {};
  for (const [n, a] of Object.entries(raw.actions)) {
    const host = new URL(a.url).hostname;
    if (!a.url.startsWith('https:') && !(ctx.sandbox && LOOPBACK.test(host)))
      problem(`actions.${n}.url`, 'must be https (plain http only to a loopback address in sandbox mode)');
    for (const g of a.groups) if (!raw.groups[g]) problem(`actions.${n}.groups`, `no group "${g}"`);
    if (!a.people.length && !a.groups.length) problem(`actions.${n}`, 'needs people or groups allowed to run it');
    if (a.approval && a.approval.required > a.approval.approvers.length)
      problem(`actions.${n}.approval.required`, 'more than its approvers');
    actions[n] = {
      name: n,
      description: a.description,
      channels: a.channels,
      people: a.people,
      groups: a.groups,
      args: a.args,
      url: a.url,
      timeoutMs: a.timeout,
      maxAttempts: a.maxAttempts,
      ...(a.approval
        ? {
            approval: {
              approvers: a.approval.approvers,
              required: a.approval.required,
              expireAfterMs: a.approval.expireAfter,
              ...(a.approval.channel ? { channel: a.approval.channel } : {}),
            },
          }
        : {}),
    };
  }
  return {
    routes,
    teamLabel: raw.teamLabel,
    teams,
    default: target('default', fallback),
    policies,
    schedules,
    groups: raw.groups,
    actions,
  };
}

/**
 * The sandbox's settings when ALERTS_CONFIG is unset: critical alerts page the `primary`
 * rotation (Bob and Carol, daily at 09:00 London), then Alice and #escalations; everything goes to
 * the ops-alerts channel. Outside the sandbox the default is routing only (no people to page).
 */
function defaultRawSettings(channel: string | undefined, sandbox: boolean): unknown {
  const base = {
    routes: channel
      ? [
          {
            name: 'critical',
            match: { severity: ['critical', 'page'] },
            channel,
            ...(sandbox ? { policy: 'default' } : {}),
          },
        ]
      : [],
  };
  if (!sandbox) return base;
  return {
    ...base,
    policies: {
      default: {
        steps: [
          { delay: '5m', targets: [{ schedule: 'primary' }] },
          { delay: '10m', targets: [{ user: 'U0ALICE' }, { channel: 'C0ESCALATE' }] },
        ],
        repeat: 1,
        ackTimeout: '30m',
      },
    },
    schedules: {
      primary: {
        timeZone: 'Europe/London',
        rotations: [{ people: ['U0BOB', 'U0CAROL'], start: '2026-01-05T09:00', length: '1d' }],
      },
    },
    groups: { sre: ['U0ALICE'] },
  };
}

function parseWebhooks(value: string | undefined, ctx: FlowConfigContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    const url = entry.slice(eq + 1);
    // The URL is a secret: problems name the entry, never echo it.
    if (eq <= 0 || !name.safeParse(key).success) {
      ctx.problem('ALERTS_INCOMING_WEBHOOK_SECRETS: entries are name=https://hooks.slack.com/services/…');
      continue;
    }
    if (!z.url({ protocol: /^https?$/ }).safeParse(url).success || (!url.startsWith('https:') && !ctx.sandbox)) {
      ctx.problem(`ALERTS_INCOMING_WEBHOOK_SECRETS: "${key}" is not an https URL`);
      continue;
    }
    out[key] = url;
  }
  return out;
}

export const alertsConfig = defineFlowConfig(
  {
    ALERTMANAGER_WEBHOOK_TOKEN: optionalString,
    SLACK_CHANNEL_OPS_ALERTS: channelId.optional(),
    ALERTS_CONFIG: optionalString,
    ALERTS_CONFIG_FILE: optionalString,
    ALERTS_INCOMING_WEBHOOK_SECRETS: optionalString,
    ALERTS_ACTION_SIGNING_SECRET: optionalString,
    ALERT_REOPEN_WINDOW: duration('24h'),
  },
  (e, ctx): AlertsConfig => {
    const channel = e.SLACK_CHANNEL_OPS_ALERTS ?? (ctx.sandbox ? SANDBOX_ALERTS_CHANNEL : undefined);
    let raw: unknown = defaultRawSettings(channel, ctx.sandbox);
    if (e.ALERTS_CONFIG !== undefined && e.ALERTS_CONFIG_FILE !== undefined)
      ctx.problem('ALERTS_CONFIG / ALERTS_CONFIG_FILE: set one or the other');
    const text =
      e.ALERTS_CONFIG ?? (e.ALERTS_CONFIG_FILE !== undefined ? readConfigFile(e.ALERTS_CONFIG_FILE, ctx) : undefined);
    if (text !== undefined) {
      try {
        raw = JSON.parse(text);
      } catch (err) {
        ctx.problem(`ALERTS_CONFIG: not valid JSON (${(err as Error).message})`);
      }
    }
    const webhooks = parseWebhooks(e.ALERTS_INCOMING_WEBHOOK_SECRETS, ctx);
    const parsed = alertsSettingsSchema.safeParse(raw);
    let settings: AlertsSettings = {
      routes: [],
      teamLabel: 'team',
      teams: {},
      default: { entitle: { channelMembers: true, groups: [] } },
      policies: {},
      schedules: {},
      groups: {},
      actions: {},
    };
    if (!parsed.success) {
      for (const i of parsed.error.issues) ctx.problem(`ALERTS_CONFIG: ${i.path.join('.') || '(root)'}: ${i.message}`);
    } else
      settings = toSettings(
        parsed.data,
        {
          channel,
          inUse:
            e.ALERTMANAGER_WEBHOOK_TOKEN !== undefined ||
            e.ALERTS_CONFIG !== undefined ||
            e.ALERTS_CONFIG_FILE !== undefined,
        },
        ctx,
        webhooks,
      );
    const hasActions = Object.keys(settings.actions).length > 0;
    const secret = e.ALERTS_ACTION_SIGNING_SECRET ?? (ctx.sandbox ? SANDBOX_ACTION_SIGNING_SECRET : undefined);
    if (hasActions && !secret)
      ctx.problem('ALERTS_ACTION_SIGNING_SECRET: required (signs ChatOps action requests) when actions are defined');
    return {
      alertmanagerToken: e.ALERTMANAGER_WEBHOOK_TOKEN ?? (ctx.sandbox ? SANDBOX_ALERTMANAGER_TOKEN : undefined),
      settings,
      incomingWebhooks: webhooks,
      actionSigningSecret: secret,
      reopenWindowMs: e.ALERT_REOPEN_WINDOW,
    };
  },
);

function readConfigFile(path: string, ctx: FlowConfigContext): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    ctx.problem(`ALERTS_CONFIG_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}
