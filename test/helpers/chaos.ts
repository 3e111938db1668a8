import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import { approvalWorkflowId } from '../../src/flows/approvals/contract.js';
import { paymentWorkflowId } from '../../src/flows/payments/contract.js';
import { THREADLINE_POST_EVENT_TYPE } from '../../src/platform/slack/contract.js';
import { deliverRazorpay, razorpayEvent } from '../fixtures/razorpay/build.js';
import { scheduledPostKeys, waitForIdle } from './effects.js';

/**
 * The chaos suite's load and its accounting. A scenario drives payments (initiation through
 * `/v1/payments`, then Razorpay's capture webhook) and approvals (`/v1/approvals`) through the
 * real endpoints, with a fault applied by the caller, then waits until every lifecycle is idle
 * and compares what the Slack emulator holds with what should be there:
 * - expected: for each lifecycle, the posts a fault-free lifecycle of its kind makes (the
 *   baseline's key suffixes) plus any the workflow itself scheduled;
 * - seen: distinct idempotency keys in Slack; lost: expected keys missing; duplicated: Slack
 *   messages beyond one per key, plus keys the workflow scheduled more than once;
 * - p99: from the lifecycle's last input being answered to its last post's `ts`.
 */
export interface ChaosContext {
  api: () => string;
  apiKey: string;
  razorpaySecret: string;
  slack: SlackEmulatorAdmin;
  client: Client;
}

export interface ScenarioRow {
  scenario: string;
  events: number;
  expected: number;
  seen: number;
  lost: number;
  duplicated: number;
  p99Ms: number;
  /** A few of the lost keys (diagnostics). */
  missing?: string[];
}

interface Lifecycle {
  kind: 'payment' | 'approval';
  workflowId: string;
  answeredAt: number;
}

/** Key suffixes (after `<workflow id>:`) a fault-free lifecycle of each kind posts; set by the baseline. */
export type Baseline = Record<Lifecycle['kind'], string[]>;

/** Retries an input until the API accepts it, as the platforms and API clients do (5xx and network errors). */
async function accepted(send: () => Promise<Response>, what: string, timeoutMs = 120_000): Promise<Response> {
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
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Drives the load: `payments` payments and `approvals` approvals, each input sent `copies` times
 * at once (duplicates), `midway` run once half the lifecycles have their inputs in.
 */
export async function driveLoad(
  ctx: ChaosContext,
  opts: { payments: number; approvals: number; copies?: number; midway?: () => Promise<void> },
): Promise<{ lifecycles: Lifecycle[]; events: number }> {
  const copies = opts.copies ?? 1;
  const auth = { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' };
  const times = <T>(fn: () => Promise<T>) => Promise.all(Array.from({ length: copies }, fn));
  const jobs: (() => Promise<Lifecycle>)[] = [];
  let events = 0;
  for (let i = 0; i < opts.payments; i++) {
    const u = randomUUID().replace(/-/g, '').slice(0, 14);
    const orderId = `order_${u}`;
    events += 2;
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
      const capture = razorpayEvent('payment.captured', { orderId, paymentId: `pay_${u}`, amount: 123450 });
      await times(() =>
        accepted(() => deliverRazorpay(ctx.api(), ctx.razorpaySecret, capture, `evt_${u}`), `capture ${orderId}`),
      );
      return { kind: 'payment', workflowId: paymentWorkflowId(orderId), answeredAt: Date.now() };
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

/** Waits until every lifecycle is idle, then counts (see the module comment). `baseline` absent: this run defines it. */
export async function account(
  ctx: ChaosContext,
  scenario: string,
  run: { lifecycles: Lifecycle[]; events: number },
  baseline: Baseline | undefined,
  idleTimeoutMs = 180_000,
): Promise<{ row: ScenarioRow; baseline: Baseline }> {
  for (const l of run.lifecycles) await waitForIdle(ctx.client, l.workflowId, idleTimeoutMs);
  const posts = await postsBySubject(ctx.slack);
  const learned: Baseline = baseline ?? { payment: [], approval: [] };
  // A key after `<workflow id>:`, with the lifecycle's own unique token (also in its event ids) generalized.
  const token = (l: Lifecycle) => l.workflowId.split(/[:_]/).pop()!;
  const suffix = (l: Lifecycle, key: string) => key.slice(l.workflowId.length + 1).replaceAll(token(l), '<id>');
  if (!baseline) {
    for (const l of run.lifecycles) {
      const mine = (posts.get(l.workflowId) ?? []).map((p) => suffix(l, p.key));
      learned[l.kind] = [...new Set([...learned[l.kind], ...mine])].sort();
    }
  }
  let expected = 0;
  let seen = 0;
  let lost = 0;
  let duplicated = 0;
  const missing: string[] = [];
  const latencies: number[] = [];
  for (const l of run.lifecycles) {
    const mine = posts.get(l.workflowId) ?? [];
    const scheduled = await scheduledPostKeys(ctx.client, l.workflowId);
    const want = new Set([
      ...learned[l.kind].map((s) => `${l.workflowId}:${s.replaceAll('<id>', token(l))}`),
      ...scheduled,
    ]);
    const keys = new Set(mine.map((p) => p.key));
    expected += want.size;
    seen += keys.size;
    const gone = [...want].filter((k) => !keys.has(k));
    lost += gone.length;
    missing.push(...gone);
    duplicated += mine.length - keys.size + (scheduled.length - new Set(scheduled).size);
    const last = Math.max(...mine.map((p) => Number(p.ts) * 1000));
    if (Number.isFinite(last)) latencies.push(Math.max(0, last - l.answeredAt));
  }
  latencies.sort((a, b) => a - b);
  const p99Ms = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)] ?? 0;
  return {
    row: {
      scenario,
      events: run.events,
      expected,
      seen,
      lost,
      duplicated,
      p99Ms,
      ...(missing.length ? { missing: missing.slice(0, 10) } : {}),
    },
    baseline: learned,
  };
}

/** The scenario table, one row per scenario. */
export function formatTable(rows: ScenarioRow[]): string {
  const head = ['scenario', 'events sent', 'effects expected', 'effects seen', 'lost', 'duplicated', 'p99 to effect'];
  const body = rows.map((r) => [
    r.scenario,
    String(r.events),
    String(r.expected),
    String(r.seen),
    String(r.lost),
    String(r.duplicated),
    `${(r.p99Ms / 1000).toFixed(1)} s`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}
