import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { JiraEmulatorAdmin } from '../../emulators/jira/admin-client.js';
import type { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import { alertmanagerAlertId, alertWorkflowId } from '../../src/flows/alerts/contract.js';
import { approvalWorkflowId } from '../../src/flows/approvals/contract.js';
import { paymentWorkflowId } from '../../src/flows/payments/contract.js';
import { ticketWorkflowId } from '../../src/flows/tickets/contract.js';
import { computeSlackSignature } from '../../src/integrations/slack/signature.js';
import { THREADLINE_POST_EVENT_TYPE } from '../../src/platform/slack/contract.js';
import { amPayload, fingerprint } from '../flows/alerts/e2e/helpers.js';
import { deliverRazorpay, razorpayEvent } from '../fixtures/razorpay/build.js';
import type { CapturedHook } from './chaos-capture.js';
import { scheduledPostKeys, waitForIdle } from './effects.js';

/**
 * The chaos suite's load and its accounting. A scenario drives four kinds of lifecycle through
 * the real endpoints, with a fault applied by the caller:
 * - payment: `POST /v1/payments`, then Razorpay's `payment.authorized` and `payment.captured`;
 * - approval: `POST /v1/approvals`;
 * - ticket: a person creates, transitions and comments an issue in the Jira emulator (its
 *   webhooks), then replies twice in the issue's Slack thread (Slack's Events API), each reply to
 *   become one Jira comment;
 * - alert: Alertmanager's firing, then resolved, notification.
 * Jira's webhooks and Slack's events are produced by the emulators and captured
 * (chaos-capture.ts); the load delivers every input itself, retrying connection errors and 5xx
 * as the platforms do, `copies` times at once (duplicates) and, with `reorder`, in the wrong
 * order. Then it waits until every lifecycle is idle and compares what the emulators hold with
 * what should be there:
 * - Slack, per lifecycle: the posts a fault-free lifecycle of its kind makes (learned by the
 *   baseline, as labels: the idempotency key after `<workflow id>:` with the lifecycle's own ids
 *   generalized) plus labels the workflow scheduled that the baseline never had (timers);
 * - Jira, per ticket: one comment per Slack reply, found by its `threadline.origin` property;
 * - seen: distinct keys (Slack) and replies with a comment (Jira); lost: expected and missing;
 *   duplicated: messages beyond one per key, keys beyond the expected count per label, keys
 *   scheduled twice, and Jira comments beyond one per reply;
 * - wrong end state: lifecycles whose state (the API's view) is not the one the inputs imply;
 * - p99: from the lifecycle's last input being answered to its last effect.
 */
export interface ChaosContext {
  api: () => string;
  apiKey: string;
  razorpaySecret: string;
  slackSigningSecret: string;
  alertmanagerToken: string;
  slack: SlackEmulatorAdmin;
  jira: JiraEmulatorAdmin;
  /** The Jira project synced to the ticket channel (a key of this run's own). */
  jiraProject: string;
  ticketChannel: string;
  /** Webhooks the emulators sent, not yet delivered (see chaos-capture.ts). */
  captured: CapturedHook[];
  /** Every attempt to deliver a Slack event, with its answer (`error`: no answer, e.g. the API was down). */
  slackAttempts: { eventTs: string; status: number | 'error' }[];
  client: Client;
}

export interface ScenarioRow {
  scenario: string;
  events: number;
  expected: number;
  seen: number;
  lost: number;
  duplicated: number;
  /** Of which Jira-side (comments written for Slack replies). */
  jira: { expected: number; seen: number };
  wrongState: number;
  p99Ms: number;
  /** A few of the lost keys and wrong states (diagnostics). */
  missing?: string[];
}

type Kind = 'payment' | 'approval' | 'ticket' | 'alert';

export interface Lifecycle {
  kind: Kind;
  workflowId: string;
  answeredAt: number;
  /** Ticket: the issue key and the Slack replies (ts) each to become one Jira comment. */
  issueKey?: string;
  slackReplies?: string[];
  /** What the API must show once idle: a path under /v1 and the expected value at `field`. */
  endState?: { path: string; field: (view: Record<string, unknown>) => unknown; want: unknown };
}

/** Labels (see the module comment) a fault-free lifecycle of each kind posts, with their counts; set by the baseline. */
export type Baseline = Record<Kind, Record<string, number>>;

export interface LoadOptions {
  payments: number;
  approvals: number;
  tickets: number;
  alerts: number;
  /** Every input delivered this many times at once. */
  copies?: number;
  /** Every source's inputs in the wrong order (see driveLoad). */
  reorder?: boolean;
  /** Run once half the lifecycles have their inputs answered, while the rest are in flight. */
  midway?: () => Promise<void>;
  /** Wraps each ticket's delivery of its Slack thread replies (e.g. to take Temporal down around it). */
  aroundSlackReplies?: (deliver: () => Promise<void>) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends an input until the API accepts it, as the platforms and API clients do: connection
 * errors (the API killed mid-request), 5xx and 409 `idempotency_key_in_progress` are retried.
 */
async function accepted(send: () => Promise<Response>, what: string, timeoutMs = 180_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await send().catch(() => undefined);
    // A concurrent duplicate of an API request is told to retry shortly (409 idempotency_key_in_progress).
    const inProgress = res?.status === 409 && (await res.clone().text()).includes('idempotency_key_in_progress');
    if (res && res.status < 500 && !inProgress) {
      if (res.status >= 400) throw new Error(`${what}: ${res.status} ${await res.text()}`);
      return res;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not accepted within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Waits for (and removes from the capture) the hooks `match` selects, once `ready` says all were sent. */
async function takeCaptured(
  ctx: ChaosContext,
  match: (h: CapturedHook) => boolean,
  count: () => Promise<number>,
  what: string,
): Promise<CapturedHook[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const want = await count();
    const mine = ctx.captured.filter(match);
    if (want > 0 && mine.length >= want) {
      for (const h of mine) ctx.captured.splice(ctx.captured.indexOf(h), 1);
      return mine;
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${mine.length} of ${want} webhooks captured`);
    await sleep(50);
  }
}

/** A captured Jira webhook delivered to our endpoint as Jira sends it (same identifier and signature). */
const deliverJira = (ctx: ChaosContext, h: CapturedHook) =>
  fetch(`${ctx.api()}/webhooks/jira`, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(h.headers).filter(([k]) => k === 'content-type' || k.startsWith('x-'))),
    body: h.body,
  });

/** A captured Events API callback, signed afresh on every attempt as Slack's retries are. */
const deliverSlack = async (ctx: ChaosContext, h: CapturedHook, attempt: number) => {
  const ts = String(Math.floor(Date.now() / 1000));
  const eventTs = String((h.json.event as { ts?: string } | undefined)?.ts);
  const res = await fetch(`${ctx.api()}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': computeSlackSignature(ctx.slackSigningSecret, ts, h.body),
      ...(attempt > 0 ? { 'x-slack-retry-num': String(attempt), 'x-slack-retry-reason': 'http_error' } : {}),
    },
    body: h.body,
  }).catch((err: unknown) => {
    ctx.slackAttempts.push({ eventTs, status: 'error' });
    throw err;
  });
  ctx.slackAttempts.push({ eventTs, status: res.status });
  return res;
};

/**
 * The ticket's Slack thread root, once Threadline has recorded it (its API shows it). A person
 * replying to a root Slack shows before Threadline has recorded it is not followed (see
 * docs/guarantees.md, "Known defects"); the load replies after, as a person a second later would.
 */
async function recordedRoot(ctx: ChaosContext, key: string): Promise<string> {
  return ctx.slack.waitFor(async () => {
    const res = await fetch(`${ctx.api()}/v1/tickets/${key}`, {
      headers: { authorization: `Bearer ${ctx.apiKey}` },
    }).catch(() => undefined);
    if (res?.status !== 200) return undefined;
    return ((await res.json()) as { slack?: { ts?: string } | null }).slack?.ts;
  }, 180_000);
}

/**
 * Drives the load (see the module comment). With `reorder`: Razorpay's captured before its
 * authorized, Jira's deliveries of an issue newest first (updated and commented before created),
 * Alertmanager's resolved before its firing, and the two Slack thread replies last first.
 */
export async function driveLoad(
  ctx: ChaosContext,
  opts: LoadOptions,
): Promise<{ lifecycles: Lifecycle[]; events: number }> {
  const copies = opts.copies ?? 1;
  const order = <T>(items: T[]) => (opts.reorder ? [...items].reverse() : items);
  const auth = { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' };
  const times = <T>(fn: () => Promise<T>) => Promise.all(Array.from({ length: copies }, fn));
  /** Each input in turn (the order is the point), every one `copies` times at once. */
  const inTurn = async (sends: { send: (attempt: number) => Promise<Response>; what: string }[]) => {
    for (const s of sends) {
      await times(() => {
        let attempt = 0;
        return accepted(() => s.send(attempt++), s.what);
      });
    }
  };
  const jobs: (() => Promise<Lifecycle>)[] = [];
  let events = 0;
  for (let i = 0; i < opts.payments; i++) {
    const u = randomUUID().replace(/-/g, '').slice(0, 14);
    const orderId = `order_${u}`;
    events += 3;
    jobs.push(async () => {
      const key = `chaos-${u}`;
      const body = JSON.stringify({
        orderId,
        payerName: `Payer ${u.slice(-6)}`,
        amount: 123450,
        currency: 'INR',
        paymentType: 'full',
        owner: 'erin@example.com',
      });
      await times(() =>
        accepted(
          () =>
            fetch(`${ctx.api()}/v1/payments`, { method: 'POST', headers: { ...auth, 'idempotency-key': key }, body }),
          `payment ${orderId}`,
        ),
      );
      const ids = { orderId, paymentId: `pay_${u}`, amount: 123450 };
      await inTurn(
        order([
          { type: 'payment.authorized', id: `evt_a${u}` },
          { type: 'payment.captured', id: `evt_c${u}` },
        ]).map((e) => ({
          send: () => deliverRazorpay(ctx.api(), ctx.razorpaySecret, razorpayEvent(e.type, ids), e.id),
          what: `${e.type} ${orderId}`,
        })),
      );
      return {
        kind: 'payment',
        workflowId: paymentWorkflowId(orderId),
        answeredAt: Date.now(),
        endState: { path: `/v1/payments/${orderId}`, field: (v) => v.status, want: 'captured' },
      };
    });
  }
  for (let i = 0; i < opts.approvals; i++) {
    const key = `chaos-apr-${randomUUID()}`;
    events += 1;
    jobs.push(async () => {
      const body = JSON.stringify({
        title: `Deploy ${key.slice(-6)} to production`,
        requester: 'alice@example.com',
        approvers: ['U0BOB'],
        channel: 'C0APPROVAL',
      });
      const answers = await times(() =>
        accepted(
          () =>
            fetch(`${ctx.api()}/v1/approvals`, { method: 'POST', headers: { ...auth, 'idempotency-key': key }, body }),
          `approval ${key}`,
        ),
      );
      const { approvalId } = (await answers[0]!.json()) as { approvalId: string };
      return { kind: 'approval', workflowId: approvalWorkflowId(approvalId), answeredAt: Date.now() };
    });
  }
  for (let i = 0; i < opts.tickets; i++) {
    const u = randomUUID().slice(0, 8);
    events += 6; // created, transitioned (issue_updated), commented (comment_created + issue_updated), 2 Slack replies
    jobs.push(async () => {
      const { key } = await ctx.jira.createIssue({
        as: 'alice@example.com',
        project: ctx.jiraProject,
        summary: `Refund stuck ${u}`,
        issuetype: 'Bug',
        priority: 'High',
        assignee: 'dave@example.com',
      });
      await ctx.jira.transitionIssue(key, 'dave@example.com', 'In Progress');
      await ctx.jira.addComment(key, 'bob@example.com', `Looking into ${u}`);
      const ofIssue = (p: Record<string, unknown>) => (p.issue as { key?: string } | undefined)?.key === key;
      const hooks = await takeCaptured(
        ctx,
        (h) => h.source === 'jira' && ofIssue(h.json),
        async () => {
          const mine = (await ctx.jira.deliveries()).filter((d) => ofIssue(d.payload));
          return mine.every((d) => !d.pending) ? mine.length : 0;
        },
        `jira ${key}`,
      );
      await inTurn(order(hooks).map((h) => ({ send: () => deliverJira(ctx, h), what: `jira ${key}` })));
      const subject = ticketWorkflowId(key);
      const rootTs = await recordedRoot(ctx, key);
      const replies: string[] = [];
      for (const n of [1, 2]) {
        const posted = await ctx.slack.postMessage({
          user: 'U0ALICE',
          channel: ctx.ticketChannel,
          thread_ts: rootTs,
          text: `Customer update ${n} for ${u}`,
        });
        replies.push(posted.ts);
      }
      const slackHooks = await takeCaptured(
        ctx,
        (h) => h.source === 'slack' && replies.includes(String((h.json.event as { ts?: string } | undefined)?.ts)),
        () => Promise.resolve(replies.length),
        `slack replies ${key}`,
      );
      const deliver = () =>
        inTurn(order(slackHooks).map((h) => ({ send: (n) => deliverSlack(ctx, h, n), what: `slack ${key}` })));
      await (opts.aroundSlackReplies ?? ((d) => d()))(deliver);
      return {
        kind: 'ticket',
        workflowId: subject,
        answeredAt: Date.now(),
        issueKey: key,
        slackReplies: replies,
        endState: {
          path: `/v1/tickets/${key}`,
          field: (v) => (v.issue as { status?: { name?: string } } | undefined)?.status?.name,
          want: 'In Progress',
        },
      };
    });
  }
  for (let i = 0; i < opts.alerts; i++) {
    const fp = fingerprint();
    events += 2;
    jobs.push(async () => {
      const startsAt = new Date(Date.now() - 60_000).toISOString();
      const firing = JSON.stringify(amPayload({ fp, startsAt, summary: `Replica lag ${fp}` }));
      const resolved = JSON.stringify(amPayload({ fp, startsAt, status: 'resolved', summary: `Replica lag ${fp}` }));
      await inTurn(
        order([firing, resolved]).map((body) => ({
          send: () =>
            fetch(`${ctx.api()}/webhooks/alertmanager`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.alertmanagerToken}` },
              body,
            }),
          what: `alert ${fp}`,
        })),
      );
      const alertId = alertmanagerAlertId(fp);
      return {
        kind: 'alert',
        workflowId: alertWorkflowId(alertId),
        answeredAt: Date.now(),
        endState: { path: `/v1/alerts/${alertId}`, field: (v) => v.status, want: 'resolved' },
      };
    });
  }
  const half = Math.ceil(jobs.length / 2);
  const first = await Promise.all(jobs.slice(0, half).map((j) => j()));
  const rest = jobs.slice(half).map((j) => j());
  await opts.midway?.();
  return { lifecycles: [...first, ...(await Promise.all(rest))], events };
}

/** Every Threadline post in the emulator, by subject: key and ts. */
async function postsBySubject(slack: SlackEmulatorAdmin): Promise<Map<string, { key: string; ts: string }[]>> {
  const out = new Map<string, { key: string; ts: string }[]>();
  for (const c of await slack.channels()) {
    for (const top of await slack.channelMessages(String(c.id))) {
      for (const m of [top, ...(top.replies ?? [])]) {
        const p = m.metadata?.event_payload as { subject?: string; idempotency_key?: string } | undefined;
        if (m.metadata?.event_type !== THREADLINE_POST_EVENT_TYPE || !p?.subject) continue;
        out.set(p.subject, [...(out.get(p.subject) ?? []), { key: p.idempotency_key ?? '', ts: m.ts }]);
      }
    }
  }
  return out;
}

/**
 * A post's label: its key after `<workflow id>:` with the lifecycle's own token generalized. A
 * ticket's steps are named after Jira's event and comment ids (`change:<delivery>:<event>`,
 * `comment:<id>`), unique per lifecycle, so its label is the step's kind.
 */
function labelOf(l: Lifecycle, key: string): string {
  const token = l.workflowId.split(/[:_]/).pop()!;
  const suffix = key.slice(l.workflowId.length + 1);
  return l.kind === 'ticket' ? suffix.split(':')[0]! : suffix.replaceAll(token, '<id>');
}

const countBy = (labels: string[]) => {
  const out: Record<string, number> = {};
  for (const x of labels) out[x] = (out[x] ?? 0) + 1;
  return out;
};

/** Jira comments our tracker wrote for a Slack reply, by the reply's ts (their `threadline.origin` property). */
async function jiraCommentsByReply(jira: JiraEmulatorAdmin, key: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const c of (await jira.issue(key)).comments) {
    const origin = c.properties.find((p) => p.key === 'threadline.origin')?.value as { ts?: string } | undefined;
    if (origin?.ts) out.set(origin.ts, (out.get(origin.ts) ?? 0) + 1);
  }
  return out;
}

/** Waits until every lifecycle is idle, then counts (see the module comment). `baseline` absent: this run defines it. */
export async function account(
  ctx: ChaosContext,
  scenario: string,
  run: { lifecycles: Lifecycle[]; events: number },
  baseline: Baseline | undefined,
  idleTimeoutMs = 180_000,
): Promise<{ row: ScenarioRow; baseline: Baseline }> {
  // A Slack reply may be handed to its workflow after Slack's delivery was acknowledged (the
  // inbound relay): wait for the Jira comments (bounded; a missing one is counted as lost).
  const deadline = Date.now() + 60_000;
  for (const l of run.lifecycles.filter((x) => x.issueKey)) {
    while (Date.now() < deadline) {
      const got = await jiraCommentsByReply(ctx.jira, l.issueKey!);
      if (l.slackReplies!.every((ts) => got.has(ts))) break;
      await sleep(100);
    }
  }
  for (const l of run.lifecycles) await waitForIdle(ctx.client, l.workflowId, idleTimeoutMs);
  const posts = await postsBySubject(ctx.slack);
  const learned: Baseline = baseline ?? { payment: {}, approval: {}, ticket: {}, alert: {} };
  if (!baseline) {
    for (const l of run.lifecycles) {
      const mine = countBy([...new Set((posts.get(l.workflowId) ?? []).map((p) => p.key))].map((k) => labelOf(l, k)));
      for (const [label, n] of Object.entries(mine)) learned[l.kind][label] = Math.max(learned[l.kind][label] ?? 0, n);
    }
  }
  const row: ScenarioRow = {
    scenario,
    events: run.events,
    expected: 0,
    seen: 0,
    lost: 0,
    duplicated: 0,
    jira: { expected: 0, seen: 0 },
    wrongState: 0,
    p99Ms: 0,
  };
  const missing: string[] = [];
  const latencies: number[] = [];
  for (const l of run.lifecycles) {
    const mine = posts.get(l.workflowId) ?? [];
    // Read after the posts: every post's key is among them (a timer firing in between adds to both).
    const scheduled = await scheduledPostKeys(ctx.client, l.workflowId);
    const keys = new Set(mine.map((p) => p.key));
    const got = countBy([...keys].map((k) => labelOf(l, k)));
    const extra = countBy([...new Set(scheduled)].map((k) => labelOf(l, k)));
    const want: Record<string, number> = { ...learned[l.kind] };
    for (const [label, n] of Object.entries(extra)) if (!(label in learned[l.kind])) want[label] = n;
    for (const label of new Set([...Object.keys(want), ...Object.keys(got)])) {
      const w = want[label] ?? 0;
      const g = got[label] ?? 0;
      row.expected += w;
      if (g < w) {
        row.lost += w - g;
        missing.push(`${l.workflowId} ${label}: ${g} of ${w}`);
      }
      if (g > w) row.duplicated += g - w;
    }
    row.seen += keys.size;
    row.duplicated += mine.length - keys.size + (scheduled.length - new Set(scheduled).size);
    let lastMs = Math.max(...mine.map((p) => Number(p.ts) * 1000));
    if (l.issueKey) {
      const comments = await jiraCommentsByReply(ctx.jira, l.issueKey);
      for (const ts of l.slackReplies!) {
        row.jira.expected += 1;
        row.expected += 1;
        const n = comments.get(ts) ?? 0;
        if (n === 0) {
          row.lost += 1;
          missing.push(`${l.issueKey} Jira comment for Slack reply ${ts}`);
        } else {
          row.jira.seen += 1;
          row.seen += 1;
          row.duplicated += n - 1;
        }
      }
      // A comment for a reply nobody wrote is a stray write.
      for (const [ts, n] of comments) if (!l.slackReplies!.includes(ts)) row.duplicated += n;
      // Jira comments carry no creation time in the admin view; the latest reply's answer bounds them.
      lastMs = Math.max(lastMs, l.answeredAt);
    }
    if (Number.isFinite(lastMs)) latencies.push(Math.max(0, lastMs - l.answeredAt));
    if (l.endState) {
      const res = await fetch(`${ctx.api()}${l.endState.path}`, { headers: { authorization: `Bearer ${ctx.apiKey}` } });
      const view = res.ok ? ((await res.json()) as Record<string, unknown>) : {};
      const is = l.endState.field(view);
      if (is !== l.endState.want) {
        row.wrongState += 1;
        missing.push(`${l.workflowId}: ${String(is)} instead of ${String(l.endState.want)}`);
      }
    }
  }
  latencies.sort((a, b) => a - b);
  row.p99Ms = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)] ?? 0;
  if (missing.length) row.missing = missing.slice(0, 10);
  return { row, baseline: learned };
}

/** The scenario table, one row per scenario. */
export function formatTable(rows: ScenarioRow[]): string {
  const head = [
    'scenario',
    'events sent',
    'effects expected',
    'effects seen',
    'of which Jira',
    'lost',
    'duplicated',
    'wrong end state',
    'p99 to effect',
  ];
  const body = rows.map((r) => [
    r.scenario,
    String(r.events),
    String(r.expected),
    String(r.seen),
    `${r.jira.seen}/${r.jira.expected}`,
    String(r.lost),
    String(r.duplicated),
    String(r.wrongState),
    `${(r.p99Ms / 1000).toFixed(1)} s`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}
