import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../emulators/slack/admin-client.js';
import { SANDBOX_RAZORPAY_WEBHOOK_SECRET } from '../../src/flows/payments/config.js';
import { deliverRazorpay, razorpayEvent } from '../../test/fixtures/razorpay/build.js';
import type { DemoContext } from '../demo.js';

/**
 * Payment lifecycle threads against the running sandbox: one payment initiated through the API,
 * then signed Razorpay webhooks (authorized, a failure, a capture delivered twice, a partial
 * refund), then the resulting Slack thread and the API's view of the lifecycle.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const secret = process.env.RAZORPAY_WEBHOOK_SECRET ?? SANDBOX_RAZORPAY_WEBHOOK_SECRET;
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const u = randomUUID().replace(/-/g, '').slice(0, 14);
  const orderId = `order_demo${u}`;
  const paymentId = `pay_demo${u}`;
  const auth = { authorization: `Bearer ${ctx.apiKey}` };

  ctx.log(`POST /v1/payments  order ${orderId}, ₹2,499.00, full payment, owner erin@example.com`);
  const res = await fetch(`${ctx.apiUrl}/v1/payments`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `demo-${u}` },
    body: JSON.stringify({
      orderId,
      paymentId,
      payerName: 'Asha Rao',
      amount: 249900,
      currency: 'INR',
      paymentType: 'full',
      owner: 'erin@example.com',
    }),
  });
  ctx.log(`  → ${res.status} ${await res.text()}`);
  if (res.status !== 202) throw new Error('initiation was not accepted');

  const send = async (type: string, eventId: string, extra: Record<string, unknown> = {}) => {
    const body = razorpayEvent(type, { orderId, paymentId, amount: 249900, ...extra });
    const r = await deliverRazorpay(ctx.apiUrl, secret, body, eventId);
    ctx.log(`POST /webhooks/razorpay  ${type.padEnd(17)} (event id ${eventId}) → ${r.status} ${await r.text()}`);
  };
  await send('payment.authorized', `evt_a_${u}`);
  await send('payment.failed', `evt_f_${u}`, { errorCode: 'GATEWAY_ERROR', errorDescription: 'Bank timed out' });
  await send('payment.captured', `evt_c_${u}`);
  await send('payment.captured', `evt_c_${u}`); // redelivery: acked as a duplicate, no second reply
  await send('refund.processed', `evt_r_${u}`, { refundId: `rfnd_demo${u}`, refundAmount: 49900 });

  const subject = `payment:${orderId}`;
  const root = await slack.waitFor(async () => {
    const all = await slack.channelMessages('C0PAYMENTS');
    const m = all.find((x) => (x.metadata?.event_payload as { subject?: string } | undefined)?.subject === subject);
    return m && (m.replies?.length ?? 0) >= 4 && m.text.includes('refunded') ? m : undefined;
  }, 60_000);

  ctx.log('');
  ctx.log(`Slack #payments (C0PAYMENTS), thread ${root.ts}:`);
  ctx.log(`  ┌ ${root.text}${root.history.length ? `   (edited ${root.history.length}×)` : ''}`);
  for (const r of root.replies ?? []) ctx.log(`  │ ${flatten(r)}`);
  ctx.log('  └');

  const state = (await (await fetch(`${ctx.apiUrl}/v1/payments/${orderId}`, { headers: auth })).json()) as {
    status: string;
    source: string;
    timeline: { at: string; statusAfter: string; summary: string }[];
  };
  ctx.log('');
  ctx.log(`GET /v1/payments/${orderId} → status ${state.status} (from ${state.source})`);
  for (const t of state.timeline) ctx.log(`  ${t.at}  ${t.statusAfter.padEnd(19)} ${t.summary}`);
}

function flatten(m: InspectedMessage): string {
  return m.text.replace(/\s+/g, ' ').slice(0, 160);
}
