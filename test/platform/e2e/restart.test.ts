import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../dev/stack.js';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { deliverRazorpay, razorpayEvent } from '../../fixtures/razorpay/build.js';
import { freePort } from '../../helpers/ports.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';

/**
 * `npm start` twice on the same data directory: the embedded Temporal (SQLite file), the embedded
 * Postgres and the emulator snapshots persist, so a lifecycle that was waiting resumes.
 */
describe('restart keeps workflows and data', () => {
  let dataDir: string;
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a payment waiting for its webhook before the restart completes after it, in the same thread', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'threadline-restart-'));
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      THREADLINE_SANDBOX: 'true',
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      SLACK_EMULATOR_PORT: String(await freePort()),
      JIRA_EMULATOR_PORT: String(await freePort()),
    };
    const start = () =>
      startStack({
        config: loadConfig(env),
        logger: createLogger({ level: 'silent' }),
        log: () => undefined,
        emulatorRateLimits: false,
      });

    stack = await start();
    const orderId = `order_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const config = loadConfig(env);
    const res = await fetch(`${stack.urls.api}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${config.apiKeys[0]}` },
      body: JSON.stringify({
        orderId,
        payerName: 'Restart Test',
        amount: 250000,
        currency: 'INR',
        paymentType: 'full',
      }),
    });
    expect(res.status).toBe(202);
    let slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    const subjectOf = (m: { metadata?: { event_payload: unknown } }) =>
      (m.metadata?.event_payload as { subject?: string } | undefined)?.subject;
    const root = await slack.waitFor(async () => {
      const ms = await slack.channelMessages('C0PAYMENTS');
      return ms.find((m) => subjectOf(m) === `payment:${orderId}`);
    }, 20_000);
    await stack.stop();
    stack = undefined;

    stack = await start();
    slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    const hook = await deliverRazorpay(
      stack.urls.api,
      flowConfigOf(config, paymentsFlow).razorpayWebhookSecret!,
      JSON.stringify(
        razorpayEvent('payment.captured', { orderId, paymentId: `pay_${orderId.slice(6)}`, amount: 250000 }),
      ),
      `evt_${randomUUID().slice(0, 12)}`,
    );
    expect(hook.status).toBe(200);
    const after = await slack.waitFor(async () => {
      const ms = await slack.channelMessages('C0PAYMENTS');
      const m = ms.find((x) => subjectOf(x) === `payment:${orderId}`);
      return m && (m.replies?.length ?? 0) >= 1 ? m : undefined;
    }, 30_000);
    // Same root message (same ts, from the snapshot), now with the captured reply in its thread.
    expect(after.ts).toBe(root.ts);
    expect(after.replies).toHaveLength(1);
    expect(after.replies![0]!.text).toMatch(/captured/i);
    const got = await fetch(`${stack.urls.api}/v1/payments/${orderId}`, {
      headers: { authorization: `Bearer ${config.apiKeys[0]}` },
    });
    expect(await got.json()).toMatchObject({ status: 'captured' });
  });
});
