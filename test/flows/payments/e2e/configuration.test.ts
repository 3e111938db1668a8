import { afterAll, describe, expect, it } from 'vitest';
import type { PaymentLifecycleInput } from '../../../../src/flows/payments/contract.js';
import type { RunningApi } from '../../../../src/api/server.js';
import { deliverRazorpay, razorpayEvent } from '../../../fixtures/razorpay/build.js';
import { startApiOnly } from '../../../helpers/api-only.js';
import { startInputOf, timerDurationsMs } from '../../../helpers/effects.js';
import { flowSuite, harnessOf } from '../../../helpers/flow-suite.js';
import { paymentsHarness } from './helpers.js';

/** docs/payments.md, "Configuration": what the durations and the webhook secret do. */
describe('payments configuration, end to end', () => {
  const apis: RunningApi[] = [];

  const suite = flowSuite({ PAYMENT_ESCALATE_AFTER: '10m', PAYMENT_OVERDUE_AFTER: '20m' });
  const h = harnessOf(suite, paymentsHarness);
  afterAll(async () => {
    for (const api of apis) await api.close();
  });

  const startInput = (workflowId: string) => startInputOf<PaymentLifecycleInput>(suite.temporal, workflowId);

  it('RAZORPAY_WEBHOOK_SECRET unset outside the sandbox: the webhook route answers 503 and verifies nothing', async () => {
    const { api } = await startApiOnly({ sandbox: false });
    apis.push(api);
    const { orderId, paymentId } = h.ids();
    const res = await deliverRazorpay(
      api.url,
      'any-secret',
      razorpayEvent('payment.captured', { orderId, paymentId, amount: 100 }),
      `evt_unconfigured_${orderId}`,
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'razorpay_not_configured' });
  });

  it('durations are fixed when a lifecycle starts: a changed PAYMENT_ESCALATE_AFTER applies to new lifecycles, never to running ones', async () => {
    // A second API on the same task queue with shorter durations (a redeploy with a new config).
    const { api: changed } = await startApiOnly({
      env: {
        TEMPORAL_TASK_QUEUE: suite.stack.taskQueue,
        PAYMENT_ESCALATE_AFTER: '1s',
        PAYMENT_OVERDUE_AFTER: '1h',
        PAYMENT_REFUND_GRACE: '1h',
      },
    });
    apis.push(changed);
    const running = h.ids();
    await h.expectAccepted(await h.initiate(h.initiation(running.orderId)));
    await h.settled(running.orderId);

    // The running lifecycle hears from the redeployed API; a new one is started by it.
    const secret = h.secret;
    const authorized = razorpayEvent('payment.authorized', { ...running, amount: 123450 });
    expect((await deliverRazorpay(changed.url, secret, authorized, `evt_auth_${running.orderId}`)).status).toBe(200);
    const fresh = h.ids();
    const res = await fetch(`${changed.url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` },
      body: JSON.stringify(h.initiation(fresh.orderId, { owner: 'U0BOB' })),
    });
    await h.expectAccepted(res);

    // The new lifecycle escalates after 1 s; that is the observable point to compare against.
    const root = await h.thread('C0PAYMENTS', fresh.orderId, 1, 30_000);
    expect(root.replies![0]!.text).toContain('no outcome');
    expect((await startInput(`payment:${fresh.orderId}`)).policy.escalateAfterMs).toBe(1000);

    const done = await h.settled(running.orderId);
    expect((await startInput(`payment:${running.orderId}`)).policy.escalateAfterMs).toBe(600_000);
    expect(done.replies.map((r) => r.text)).toEqual([expect.stringContaining('authorized')]);
    // Its pending SLA timer is still the one computed from 10 minutes.
    expect((await timerDurationsMs(suite.temporal, `payment:${running.orderId}`)).at(-1)).toBeGreaterThan(60_000);
  });
});
