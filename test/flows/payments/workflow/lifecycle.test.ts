import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEntry } from '../../../../src/platform/audit/contract.js';
import {
  initiatePaymentSignal,
  paymentEventSignal,
  paymentStateQuery,
  type PaymentEvent,
  type PaymentInitiation,
  type PaymentLifecycleInput,
  type PaymentLifecycleState,
} from '../../../../src/flows/payments/contract.js';
import type { PostSlackMessageInput, UpdateSlackMessageInput } from '../../../../src/platform/slack/contract.js';
import type { paymentLifecycleWorkflow } from '../../../../src/flows/payments/workflow.js';
import { sharedBundle } from '../../../helpers/bundle.js';
import { testCodec, testDataConverter } from '../../../helpers/temporal.js';
import { decodePayloadsIn } from '../../../../src/platform/temporal/codec.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { scheduledActivities } from '../../../helpers/history.js';

/**
 * The workflow against the real Temporal dev server with in-memory activities: fast branch
 * coverage (ordering, dedup, timers, close) plus a replay of the recorded history, so a
 * determinism break fails here before it breaks running lifecycles.
 */
describe('paymentLifecycleWorkflow (mocked activities, real Temporal) + replay', () => {
  const taskQueue = `payment-wf-${randomUUID()}`;
  /** Every postSlackMessage call, retries and repeats included: what the workflow asked for. */
  const postCalls: PostSlackMessageInput[] = [];
  /** Distinct posts (the real activity is exactly-once per key; modelled so `ts` stays stable). */
  const posts: PostSlackMessageInput[] = [];
  const updates: UpdateSlackMessageInput[] = [];
  const audits: AuditEntry[] = [];
  const snapshots = new Map<string, PaymentLifecycleState>();
  let failFirstPost = true;
  /** Lifecycles whose first bookkeeping step stalls after writing (see recordPaymentStep). */
  const stallFirstStep = new Set<string>();
  /** recordPaymentStep attempts per lifecycle. */
  const stepCalls = new Map<string, number>();
  let worker: Worker;
  let running: Promise<void>;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;

  const activities = {
    postSlackMessage: async (i: PostSlackMessageInput) => {
      postCalls.push(i);
      if (failFirstPost) {
        failFirstPost = false;
        throw new Error('transient: first post fails');
      }
      const prior = posts.find((p) => p.idempotencyKey === i.idempotencyKey);
      if (!prior) posts.push(i);
      return { channel: i.channel, ts: `${posts.indexOf(prior ?? i) + 1}.000100`, deduplicated: !!prior };
    },
    updateSlackMessage: async (i: UpdateSlackMessageInput) => {
      updates.push(i);
    },
    postSlackEphemeral: async () => undefined,
    recordAudit: async (e: AuditEntry) => {
      if (audits.some((a) => a.idempotencyKey === e.idempotencyKey)) return false;
      audits.push(e);
      return true;
    },
    lookupPaymentRoutingFacts: async () => ({ payerHasCompletedInstallment: false }),
    resolvePaymentOwner: async ({ owner }: { owner: string }) => ({
      slackUserId: owner.startsWith('U') ? owner : undefined,
    }),
    savePaymentSnapshot: async (s: PaymentLifecycleState) => {
      const prev = snapshots.get(s.lifecycleId);
      if (!prev || prev.version <= s.version) snapshots.set(s.lifecycleId, s);
    },
    loadPaymentSnapshot: async ({ lifecycleId }: { lifecycleId: string }) => snapshots.get(lifecycleId),
    loadPaymentStart: async ({ lifecycleId }: { lifecycleId: string }) => ({
      snapshot: snapshots.get(lifecycleId),
      routingFacts: snapshots.get(lifecycleId)?.root ? undefined : { payerHasCompletedInstallment: false },
    }),
    recordPaymentStep: async (i: { audits: AuditEntry[]; snapshot?: PaymentLifecycleState }) => {
      const subject = i.audits[0]?.subject ?? `payment:${i.snapshot?.lifecycleId}`;
      stepCalls.set(subject, (stepCalls.get(subject) ?? 0) + 1);
      for (const e of i.audits) await activities.recordAudit(e);
      if (i.snapshot) await activities.savePaymentSnapshot(i.snapshot);
      // The writes landed, but this attempt's answer comes too late: past the local activity's
      // start-to-close bound and the workflow task's timeout (a stalled connection, a starved worker).
      if (stallFirstStep.delete(subject)) await new Promise((r) => setTimeout(r, 7_000));
    },
  };

  beforeAll(async () => {
    nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await sharedBundle(),
      activities,
      dataConverter: testDataConverter(),
    });
    running = worker.run();
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter() });
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await nativeConnection?.close();
    await connection?.close();
  });

  const input = (lifecycleId: string): PaymentLifecycleInput => ({
    lifecycleId,
    policy: { escalateAfterMs: 60_000, overdueAfterMs: 120_000, refundGraceMs: 1_000, initiationWaitMs: 200 },
    channels: { payments: 'C0PAYMENTS', partPayments: 'C0PARTPAY', escalations: 'C0ESCALATE' },
  });
  const initiation = (id: string): PaymentInitiation => ({
    lifecycleId: id,
    orderId: id,
    payerName: 'Replay Payer',
    amount: 1000,
    currency: 'JPY',
    paymentType: 'full',
    owner: 'U0ERIN',
    requestedBy: 'test',
    receivedAt: '2026-01-01T00:00:00.000Z',
  });
  const event = (kind: PaymentEvent['kind'], id: string): PaymentEvent => ({
    provider: 'razorpay',
    eventId: `razorpay:${id}`,
    kind,
    providerEventType: kind,
    occurredAt: '2026-01-01T00:00:00.000Z',
    orderId: 'x',
    paymentId: 'pay_x',
    amount: 1000,
    currency: 'JPY',
  });

  it('dedups repeated signals, keeps status forward-only, closes after the grace period, and replays deterministically', async () => {
    const id = `order_${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.signalWithStart<typeof paymentLifecycleWorkflow, [PaymentEvent]>(
      'paymentLifecycleWorkflow',
      {
        workflowId: `payment:${id}`,
        taskQueue,
        args: [input(id)],
        signal: paymentEventSignal,
        signalArgs: [event('captured', 'c1')],
      },
    );
    await handle.signal(paymentEventSignal, event('captured', 'c1'));
    await handle.signal(initiatePaymentSignal, initiation(id));
    await handle.signal(paymentEventSignal, event('authorized', 'a1'));
    await handle.signal(paymentEventSignal, event('authorized', 'a1'));
    const result = await handle.result();
    expect(result).toEqual({ lifecycleId: id, status: 'captured', closedReason: 'grace_elapsed' });

    // Counted after the workflow closed, per key: the root twice (the first attempt failed
    // transiently and was retried), every other step once. A repeated post would show here.
    const calls = new Map<string, number>();
    for (const c of postCalls.filter((p) => p.subject === `payment:${id}`))
      calls.set(c.idempotencyKey, (calls.get(c.idempotencyKey) ?? 0) + 1);
    expect(Object.fromEntries(calls)).toEqual({
      [`payment:${id}:root`]: 2,
      [`payment:${id}:event:razorpay:c1`]: 1,
      [`payment:${id}:event:razorpay:a1`]: 1,
    });
    const mine = posts.filter((p) => p.subject === `payment:${id}`);
    // The initiation arrived within the wait, so the root was posted with the payer's details.
    expect(mine[0]!.text).toContain('Replay Payer');
    expect(mine[0]!.text).toContain('¥1,000 JPY');
    const snap = snapshots.get(id)!;
    expect(snap.status).toBe('captured');
    expect(snap.timeline.map((t) => t.kind)).toEqual(['initiated', 'captured', 'authorized']);
    expect(audits.filter((a) => a.subject === `payment:${id}`).map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'payment.initiated',
        'payment.routed',
        'payment.captured',
        'payment.authorized',
        'payment.closed',
      ]),
    );

    // Decoded (through the codec) like every recorded fixture, so the committed file replays without keys.
    const history = await decodePayloadsIn(await handle.fetchHistory(), testCodec());
    // The bookkeeping above (five audit rows, the snapshots, the routing and snapshot lookups) ran
    // as local activities: the server scheduled only the Slack calls and the owner lookup.
    const scheduled = scheduledActivities(history.events ?? []);
    expect([...new Set(scheduled)].sort()).toEqual(['postSlackMessage', 'resolvePaymentOwner', 'updateSlackMessage']);
    expect(scheduled.filter((t) => t === 'postSlackMessage')).toHaveLength(3);
    await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, history, `payment:${id}`);
    await recordFixture('payment-lifecycle', history.events ?? []);
  });

  // A local activity that outlives its attempt bound and its workflow task: the task is
  // heartbeated (not timed out), the attempt is abandoned after DB_LOCAL_ACTIVITY_OPTIONS'
  // 5 s and retried, and the rows it already wrote are not written again.
  it('a bookkeeping step that stalls past its bound and the workflow task timeout is retried; nothing doubles', async () => {
    const id = `order_${randomUUID().slice(0, 8)}`;
    const workflowId = `payment:${id}`;
    stallFirstStep.add(workflowId);
    const handle = await client.workflow.signalWithStart<typeof paymentLifecycleWorkflow, [PaymentInitiation]>(
      'paymentLifecycleWorkflow',
      {
        workflowId,
        taskQueue,
        args: [input(id)],
        // The shortest task timeout Temporal accepts, well under the stalled attempt.
        workflowTaskTimeout: '2 seconds',
        signal: initiatePaymentSignal,
        signalArgs: [initiation(id)],
      },
    );
    await handle.signal(paymentEventSignal, event('captured', 'c9'));
    expect(await handle.result()).toMatchObject({ status: 'captured', closedReason: 'grace_elapsed' });

    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes)).toEqual(
      [],
    );
    // The stalled attempt, its retry and the later steps (captured, closed).
    expect(stepCalls.get(workflowId)).toBeGreaterThanOrEqual(4);
    expect(audits.filter((a) => a.subject === workflowId).map((a) => a.action)).toEqual([
      'payment.initiated',
      'payment.routed',
      'payment.captured',
      'payment.closed',
    ]);
    expect(snapshots.get(id)?.status).toBe('captured');
  });

  it('answers the state query while running', async () => {
    const id = `order_${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.signalWithStart<typeof paymentLifecycleWorkflow, [PaymentInitiation]>(
      'paymentLifecycleWorkflow',
      {
        workflowId: `payment:${id}`,
        taskQueue,
        args: [{ ...input(id), policy: { ...input(id).policy, refundGraceMs: 60_000 } }],
        signal: initiatePaymentSignal,
        signalArgs: [initiation(id)],
      },
    );
    let state: PaymentLifecycleState | undefined;
    for (let i = 0; i < 100 && !state?.root; i++) {
      state = await handle.query(paymentStateQuery);
      if (!state.root) await new Promise((r) => setTimeout(r, 50));
    }
    expect(state).toMatchObject({ status: 'initiated', root: { channel: 'C0PAYMENTS' }, ownerSlackId: 'U0ERIN' });
    await handle.terminate('test done');
  });
});
