import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin, type InspectedMessage } from '../emulators/slack/admin-client.js';
import { paymentsFlow } from '../src/flows/payments/flow.js';
import { flowConfigOf } from '../src/platform/flow.js';
import { deliverRazorpay, razorpayEvent } from '../test/fixtures/razorpay/build.js';
import type { BenchStack } from './harness.js';

/** Drives payment lifecycles through the API and watches their effects in the Slack emulator. */
export interface PaymentDriver {
  /** initiate → root post → `payment.captured` → reply and root update; answers the subject. */
  lifecycle(): Promise<string>;
  /** Lifecycles completed per second for `seconds` at `concurrency` (in-flight ones finish and count). */
  segment(seconds: number, concurrency: number): Promise<number>;
  /** Forgets what was seen (after `slack.reset()`). */
  clear(): void;
  slack: SlackEmulatorAdmin;
  stop(): Promise<void>;
}

const subjectOf = (m: InspectedMessage) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One poller for every lifecycle in flight (per-payment polling would load the 2 cores more than
 * the system under test). `waitMs` bounds each wait (a bound, not a figure). Webhook answers that
 * are not 200 are retried, as Razorpay does.
 */
export async function paymentDriver(bench: BenchStack, opts: { waitMs: number }): Promise<PaymentDriver> {
  const { stack, config } = bench;
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  await slack.setRateLimits(false);
  const api = stack.urls.api;
  const auth = `Bearer ${config.apiKeys[0]!}`;
  const secret = flowConfigOf(config, paymentsFlow).razorpayWebhookSecret!;
  const roots = new Map<string, InspectedMessage>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      for (const m of await slack.channelMessages('C0PAYMENTS').catch(() => [])) {
        const s = subjectOf(m);
        if (s) roots.set(s, m);
      }
      await sleep(100);
    }
  })();
  const waitRoot = async (subject: string, pred: (m: InspectedMessage) => boolean) => {
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const m = roots.get(subject);
      if (m && pred(m)) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${subject}`);
      await sleep(50);
    }
  };

  async function lifecycle(): Promise<string> {
    const u = randomUUID().replace(/-/g, '').slice(0, 16);
    const orderId = `order_d${u}`;
    const subject = `payment:${orderId}`;
    const res = await fetch(`${api}/v1/payments`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ orderId, payerName: `Bench ${u}`, amount: 100000, currency: 'INR', paymentType: 'full' }),
    });
    if (res.status !== 202) throw new Error(`initiate → ${res.status} ${await res.text()}`);
    await waitRoot(subject, () => true);
    const body = JSON.stringify(razorpayEvent('payment.captured', { orderId, paymentId: `pay_d${u}`, amount: 100000 }));
    let hook = await deliverRazorpay(api, secret, body, `evt_d${u}`);
    for (let i = 0; i < 10 && hook.status !== 200; i++) {
      await sleep(500);
      hook = await deliverRazorpay(api, secret, body, `evt_d${u}`);
    }
    if (hook.status !== 200) throw new Error(`webhook → ${hook.status} ${await hook.text()}`);
    await waitRoot(subject, (m) => (m.replies?.length ?? 0) >= 1 && (m.history?.length ?? 0) >= 1);
    return subject;
  }

  return {
    lifecycle,
    segment: (seconds, concurrency) => ratePer(lifecycle, seconds, concurrency),
    clear: () => roots.clear(),
    slack,
    async stop() {
      polling = false;
      await poller.catch(() => undefined);
    },
  };
}

/** `one()` completed per second for `seconds` by `concurrency` loops (in-flight ones finish and count). */
export async function ratePer(one: () => Promise<unknown>, seconds: number, concurrency: number): Promise<number> {
  let done = 0;
  const started = Date.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        await one();
        done++;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

/** Messages in the payments channel by subject (deleted ones included: a duplicate is a duplicate). */
export async function paymentPostsBySubject(slack: SlackEmulatorAdmin): Promise<Map<string, InspectedMessage[]>> {
  const out = new Map<string, InspectedMessage[]>();
  for (const m of await slack.channelMessages('C0PAYMENTS', { includeDeleted: true })) {
    const s = subjectOf(m);
    if (s) out.set(s, [...(out.get(s) ?? []), m]);
  }
  return out;
}
