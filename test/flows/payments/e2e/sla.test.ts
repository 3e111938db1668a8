import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { testDataConverter } from '../../../helpers/temporal.js';
import { paymentsHarness, seen } from './helpers.js';

describe('payment SLA and late refunds, end to end (short configured durations)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof paymentsHarness>;
  let pool: Pool;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    stack = await startTestStack({
      PAYMENT_ESCALATE_AFTER: '1s',
      PAYMENT_OVERDUE_AFTER: '2s',
      PAYMENT_REFUND_GRACE: '2s',
      PAYMENT_INITIATION_WAIT: '300ms',
    });
    h = paymentsHarness(stack);
    pool = createPool(inject('databaseUrl'));
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter(stack.config.temporal) });
  });
  afterAll(async () => {
    await connection?.close();
    await pool?.end();
    await stack?.stop();
  });

  it('no outcome: escalates in the thread (mentioning the owner) and to the escalation channel, then marks overdue; a late capture still wins', async () => {
    const { orderId, paymentId } = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(orderId, { owner: 'U0BOB' })));
    const root = await h.thread('C0PAYMENTS', orderId, 2, 15_000);
    expect(seen(root.replies![0]!)).toContain('<@U0BOB>');
    expect(root.replies![0]!.text).toContain('no outcome');
    expect(root.replies![1]!.text).toContain('overdue');
    const alerts = await h.slack.waitFor(async () => {
      const all = await h.slack.channelMessages('C0ESCALATE');
      const mine = all.filter((m) => m.text.includes(orderId));
      return mine.length > 0 ? mine : undefined;
    });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toContain('<@U0BOB>');
    await h.waitForStatus(orderId, 'overdue');
    await h.slack.waitFor(async () => seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Overdue'));

    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    const captured = await h.slack.waitFor(async () => {
      const m = await h.slack.message('C0PAYMENTS', root.ts);
      return seen(m).includes('Captured') ? m : undefined;
    });
    expect(captured.replies).toHaveLength(3);
    const actions = (await auditLogRepo(pool).bySubject(`payment:${orderId}`)).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['payment.escalated', 'payment.overdue', 'payment.captured']));
    // Exactly one escalation each, even though the workflow kept running.
    expect(actions.filter((a) => a === 'payment.escalated')).toHaveLength(1);
  });

  it('a refund after the lifecycle closed restarts it into the same thread; GET falls back to the DB once closed', async () => {
    const { orderId, paymentId } = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    const handle = client.workflow.getHandle(`payment:${orderId}`);
    // The grace period (2 s) elapses without activity: the workflow completes.
    expect(await handle.result()).toMatchObject({ status: 'captured', closedReason: 'grace_elapsed' });
    const closed = await h.getPayment(orderId);
    expect(closed.body).toMatchObject({ status: 'captured', source: 'database' });

    await h.webhook('refund.processed', { orderId, paymentId, amount: 123450, refundAmount: 23450 });
    const root = await h.thread('C0PAYMENTS', orderId, 2);
    expect(root.replies![1]!.text).toContain('Refund processed');
    expect(await h.roots('C0PAYMENTS', orderId)).toHaveLength(1);
    await h.slack.waitFor(async () =>
      seen(await h.slack.message('C0PAYMENTS', root.ts)).includes('Partially refunded'),
    );
    const state = await h.slack.waitFor(async () => {
      const p = await h.getPayment(orderId);
      return p.body.status === 'partially_refunded' ? p.body : undefined;
    });
    expect(state.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'refund_processed', statusAfter: 'partially_refunded' }),
      ]),
    );
  });
});
