import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { flows } from '../../../src/flows/index.js';
import { paymentWorkflowId } from '../../../src/flows/payments/contract.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../src/platform/db/repositories.js';
import { bundleWorkflows } from '../../../src/worker/worker.js';
import { paymentsHarness, seen } from '../../flows/payments/e2e/helpers.js';
import { eventsOf } from '../../helpers/history.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { QUIET_PAYMENTS_ENV, activityRuns, keyOf, paymentWithRoot, waitIdle } from './helpers.js';

const OPS = 'C0OPSALERT';

/**
 * A step that will not happen is loud and never stalls the lifecycle: through the payments flow,
 * the real worker and the real `tolerant` / `reportPermanentFailure`, with Slack posts bounded to
 * 3 quick attempts by a test interceptor (production: 15 minutes). Each case asserts the audit
 * row, the metric, the ops-channel alert (exactly one, counted once the workflow is idle), and
 * that the next event of the same lifecycle still posts.
 */
describe('loud failures: permanent or exhausted Slack steps are audited, counted, alerted once', () => {
  let stack: TestStack;
  let h: ReturnType<typeof paymentsHarness>;
  let connection: Connection;
  let client: Client;
  let pool: Pool;
  let dropAuditOutage: (() => Promise<void>) | undefined;
  let workflowBundle: Awaited<ReturnType<typeof bundleWorkflows>>;

  beforeAll(async () => {
    workflowBundle = await bundleWorkflows(flows, {
      workflowInterceptorModules: [fileURLToPath(new URL('./short-slack-bounds.ts', import.meta.url))],
    });
    stack = await startTestStack(
      {
        ...QUIET_PAYMENTS_ENV,
      },
      { workflowBundle },
    );
    h = paymentsHarness(stack);
    connection = await Connection.connect({ address: stack.urls.temporal });
    client = new Client({ connection });
    pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await dropAuditOutage?.();
    await pool?.end();
    await connection?.close();
    await stack?.stop();
  });
  afterEach(async () => {
    await h.slack.clearFaults();
  });

  /** A counter's value from the stack's /metrics (the worker and the API share one registry here). */
  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(`${stack.urls.api}/metrics`)).text();
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && want.every((w) => l.slice(0, l.indexOf('}')).includes(w)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  const permanentFailures = (system: string, method: string, type: string) =>
    metric('threadline_permanent_failures_total', { system, method, type });

  const alertsFor = async (workflowId: string) =>
    (await h.slack.channelMessages(OPS)).filter((m) => keyOf(m)?.startsWith(`${workflowId}:ops_alert:`));
  const runsOf = async (workflowId: string, activityType: string) =>
    (await activityRuns(client, workflowId)).filter((r) => r.activityType === activityType);
  const audits = async (workflowId: string, action: string) =>
    (await auditLogRepo(pool).bySubject(workflowId)).filter((r) => r.action === action);

  /** The lifecycle goes on: the next provider event still gets its reply in the same thread. */
  async function nextEventStillPosts(p: { orderId: string; paymentId: string; workflowId: string }, replies: number) {
    const { eventId } = await h.webhook('refund.processed', {
      orderId: p.orderId,
      paymentId: p.paymentId,
      amount: 123450,
      refundId: `rfnd_${p.orderId}`,
      refundAmount: 123450,
    });
    const root = await h.thread('C0PAYMENTS', p.orderId, replies);
    expect(root.replies!.some((r) => keyOf(r)?.endsWith(eventId))).toBe(true);
  }

  it('a persistent 5xx on a reply: retries run out, then audit + metric + one ops alert, and the lifecycle goes on', async () => {
    const p = await paymentWithRoot(h, client);
    const before = await permanentFailures('slack', 'chat.postMessage', 'retries_exhausted');
    await h.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'status',
      status: 503,
      count: 1000,
      channel: 'C0PAYMENTS',
    });
    const { eventId } = await h.webhook('payment.captured', { ...p, amount: 123450 });

    await h.slack.waitFor(async () => (await alertsFor(p.workflowId)).length > 0, 30_000);
    await waitIdle(client, p.workflowId);

    const [alert, ...more] = await alertsFor(p.workflowId);
    expect(more).toHaveLength(0);
    const text = seen(alert!);
    expect(text).toContain(p.workflowId); // the subject
    expect(text).toContain(eventId); // the step
    expect(text).toContain('http_503'); // the error
    expect(text).toContain('failed after every retry');
    expect(text).toContain('Not delivered:* a Slack message');

    const [row, ...moreRows] = await audits(p.workflowId, 'payment.slack_failed');
    expect(moreRows).toHaveLength(0);
    expect(row).toMatchObject({
      outcome: 'failed',
      targetSystem: 'slack',
      details: {
        reason: 'retries_exhausted',
        retryState: 'MAXIMUM_ATTEMPTS_REACHED',
        method: 'chat.postMessage',
        error: 'http_503',
      },
    });
    expect(String(row!.details!.step)).toContain(eventId);
    expect(await permanentFailures('slack', 'chat.postMessage', 'retries_exhausted')).toBe(before + 1);

    // History: the reply ran out of its 3 attempts; it was reported exactly once.
    const failedPosts = (await runsOf(p.workflowId, 'postSlackMessage')).filter((r) => r.outcome === 'failed');
    expect(failedPosts.map((r) => r.attempt)).toEqual([3]);
    expect(await runsOf(p.workflowId, 'reportPermanentFailure')).toMatchObject([{ outcome: 'completed', attempt: 1 }]);
    expect(await h.roots('C0PAYMENTS', p.orderId).then((r) => r[0]!.replies ?? [])).toHaveLength(0);

    await h.slack.clearFaults();
    await nextEventStillPosts(p, 1);
  });

  it('an unknown Slack error code is permanent: one attempt, reported at once (alert exactly once though its first answer is lost), the lifecycle goes on', async () => {
    const p = await paymentWithRoot(h, client);
    const before = await permanentFailures('slack', 'chat.postMessage', 'permanent');
    await h.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'brand_new_error_2031',
      channel: 'C0PAYMENTS',
    });
    // The alert's own post commits and its answer is lost: the report retries and must find it.
    await h.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', channel: OPS });
    await h.webhook('payment.captured', { ...p, amount: 123450 });

    await h.slack.waitFor(async () => (await alertsFor(p.workflowId)).length > 0, 30_000);
    await waitIdle(client, p.workflowId);

    const alerts = await alertsFor(p.workflowId);
    expect(alerts).toHaveLength(1);
    expect(seen(alerts[0]!)).toContain('brand_new_error_2031');
    expect(seen(alerts[0]!)).toContain('failed permanently');
    expect(await audits(p.workflowId, 'payment.slack_failed')).toMatchObject([
      { details: { reason: 'permanent', error: 'brand_new_error_2031', retryState: 'NON_RETRYABLE_FAILURE' } },
    ]);
    expect(await permanentFailures('slack', 'chat.postMessage', 'permanent')).toBe(before + 1);
    // Not retried: the failed post has exactly one attempt in history.
    const failedPosts = (await runsOf(p.workflowId, 'postSlackMessage')).filter((r) => r.outcome === 'failed');
    expect(failedPosts.map((r) => r.attempt)).toEqual([1]);
    // The report needed a second attempt, found its alert by metadata, and counted the failure once.
    expect(await runsOf(p.workflowId, 'reportPermanentFailure')).toMatchObject([{ outcome: 'completed', attempt: 2 }]);

    await nextEventStillPosts(p, 1);
  });

  it('an alert that cannot be posted is audited and counted once, never reported again (no loop)', async () => {
    const p = await paymentWithRoot(h, client);
    const since = new Date().toISOString();
    const before = await metric('threadline_ops_alert_failures_total', { error: 'not_in_channel' });
    await h.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'is_archived',
      channel: 'C0PAYMENTS',
    });
    await h.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'not_in_channel',
      count: 100,
      channel: OPS,
    });
    await h.webhook('payment.captured', { ...p, amount: 123450 });

    await h.slack.waitFor(async () => (await audits(p.workflowId, 'ops.alert_failed')).length > 0, 30_000);
    await waitIdle(client, p.workflowId);

    expect(await audits(p.workflowId, 'payment.slack_failed')).toMatchObject([
      { details: { reason: 'permanent', error: 'is_archived' } },
    ]);
    expect(await audits(p.workflowId, 'ops.alert_failed')).toMatchObject([
      { outcome: 'failed', details: { error: 'is_archived', alertError: 'not_in_channel', opsChannel: OPS } },
    ]);
    expect(await metric('threadline_ops_alert_failures_total', { error: 'not_in_channel' })).toBe(before + 1);
    // One report, one alert attempt: the failed alert is not retried and not reported.
    expect(await runsOf(p.workflowId, 'reportPermanentFailure')).toMatchObject([{ outcome: 'completed', attempt: 1 }]);
    const opsPosts = (await h.slack.calls()).filter(
      (c) => c.at >= since && c.method === 'chat.postMessage' && c.args.channel === OPS,
    );
    expect(opsPosts).toHaveLength(1);
    expect(await alertsFor(p.workflowId)).toHaveLength(0);

    await h.slack.clearFaults();
    await nextEventStillPosts(p, 1);
  });

  it('an audit row that cannot be written (Postgres refuses it past its bound) is reported and the lifecycle goes on', async () => {
    // A real database failure, scoped to this test's subjects so parallel files are unaffected.
    const prefix = `order_auditdown${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    const fn = `test_audit_outage_${prefix}`;
    await pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.subject LIKE 'payment:${prefix}%' THEN RAISE EXCEPTION 'audit store unavailable (test)'; END IF;
        RETURN NEW;
      END $$`);
    await pool.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    dropAuditOutage = async () => {
      await pool.query(`DROP TRIGGER IF EXISTS ${fn} ON audit_log`);
      await pool.query(`DROP FUNCTION IF EXISTS ${fn}()`);
    };
    const before = await permanentFailures('postgres', 'recordAudit', 'retries_exhausted');
    const orderId = `${prefix}_1`;
    const workflowId = paymentWorkflowId(orderId);
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));

    // The lifecycle goes on: its thread is posted although no audit row can be written.
    await h.slack.waitFor(async () => (await h.roots('C0PAYMENTS', orderId))[0], 30_000);
    // Local bookkeeping retries inside the workflow task (no pending activity to see): wait for its
    // observable end, the alerts, before the workflow counts as idle.
    await h.slack.waitFor(async () => ((await alertsFor(workflowId)).length >= 2 ? true : undefined), 60_000);
    await waitIdle(client, workflowId);
    expect(await auditLogRepo(pool).bySubject(workflowId)).toHaveLength(0);

    // One alert per lost row, each naming it: `initiated` and `routed` were the lifecycle's rows so far.
    const alerts = await alertsFor(workflowId);
    expect(alerts.map(keyOf).sort()).toEqual([
      `${workflowId}:ops_alert:audit:initiated`,
      `${workflowId}:ops_alert:audit:routed`,
    ]);
    const initiated = seen(alerts.find((m) => keyOf(m)!.endsWith(':audit:initiated'))!);
    expect(initiated).toContain('Not delivered:* the audit row "payment.initiated"');
    expect(initiated).toContain('postgres');
    expect(await permanentFailures('postgres', 'recordAudit', 'retries_exhausted')).toBe(before + 2);
    expect(
      (await runsOf(workflowId, 'recordAudit')).filter((r) => r.outcome === 'failed').map((r) => r.attempt),
    ).toEqual([3, 3]);

    // Its history replays: a local activity's final failure is recorded without its ActivityFailure
    // wrapper (sdk-core#449), and a workflow that handled it live must handle it on replay too.
    const history = { events: await eventsOf(client.workflow.getHandle(workflowId)) };
    await expect(Worker.runReplayHistory({ workflowBundle, replayName: workflowId }, history)).resolves.toBeUndefined();
  });
});
