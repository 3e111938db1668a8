import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RETRY_REFUSED, retryFailedDeliveryUpdate } from '../../../src/platform/ops/contract.js';
import { auditLogRepo } from '../../../src/platform/db/repositories.js';
import { flowSuite, harnessOf } from '../../helpers/flow-suite.js';
import { historyOf, tally, waitForIdle } from '../../helpers/effects.js';
import { recordFixture } from '../../helpers/fixtures.js';
import { paymentsHarness, WITHOUT_SLA_TIMERS } from '../../flows/payments/e2e/helpers.js';
import { consoleClient, retryFormOf } from '../helpers.js';

/**
 * README "Operator console", Retry: a step that failed for good is run again from the console once
 * the cause is fixed, in its lifecycle, with the same idempotency key; the real stack throughout
 * (console HTTP routes, Temporal, Postgres, the Slack emulator archiving a channel as a person would).
 */
describe('Retry a failed delivery from the console (real stack)', () => {
  const suite = flowSuite(WITHOUT_SLA_TIMERS);
  const h = harnessOf(suite, paymentsHarness);
  const CHANNEL = 'C0PAYMENTS';
  const fingerprint = () => createHash('sha256').update(h.apiKey).digest('hex').slice(0, 16);

  afterEach(async () => {
    const ch = (await h.slack.channels()).find((c) => c.id === CHANNEL);
    if (ch?.is_archived) await h.slack.unarchiveChannel(CHANNEL);
  });

  /** The `payment.slack_failed` row of a step whose name starts with `stepPrefix`, once the workflow wrote it. */
  const failure = (subject: string, stepPrefix: string) =>
    h.waitFor(async () => {
      const { rows } = await suite.pool.query<{ id: string; step: string }>(
        `SELECT id::text, details->>'step' AS step FROM audit_log
          WHERE subject = $1 AND action = 'payment.slack_failed' AND starts_with(details->>'step', $2) ORDER BY id`,
        [subject, stepPrefix],
      );
      return rows[0];
    }, 60_000);
  const audit = async (subject: string, action: string) =>
    (await auditLogRepo(suite.pool).bySubject(subject)).filter((r) => r.action === action);

  /** A payment whose captured reply (and root update) failed for good: its channel was archived meanwhile. Left archived. */
  async function failedReply() {
    const { orderId, paymentId } = h.ids();
    const subject = `payment:${orderId}`;
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    await h.waitFor(async () => (await h.roots(CHANNEL, orderId))[0]);
    await h.slack.archiveChannel(CHANNEL);
    expect((await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 })).res.status).toBe(200);
    const reply = await failure(subject, 'event:');
    const rootUpdate = await failure(subject, 'root_update:');
    await waitForIdle(suite.temporal, subject, 60_000);
    return { orderId, subject, reply, rootUpdate };
  }

  it('a reply into an archived channel fails for good; unarchived, Retry posts it once; a second Retry is refused and posts nothing', async () => {
    const { orderId, subject, reply, rootUpdate } = await failedReply();
    await h.slack.unarchiveChannel(CHANNEL);

    const c = await consoleClient(h.api, h.apiKey);
    const page = await c.get('/console/failures');
    expect(retryFormOf(page.html, reply.id)).toBe(true);
    // CSRF: no form token, or a post from another site, is refused before anything runs.
    expect((await c.post(`/console/failures/${reply.id}/retry`, { csrf: null })).status).toBe(403);
    expect((await c.post(`/console/failures/${reply.id}/retry`, { origin: 'https://attacker.example' })).status).toBe(
      403,
    );
    expect((await c.post('/console/failures/999999999999/retry')).status).toBe(404);

    const first = await c.post(`/console/failures/${reply.id}/retry`);
    expect(first.status, first.html).toBe(200);
    expect(first.html).toContain(`Retried step <code>${reply.step}</code>: delivered.`);
    expect(retryFormOf(first.html, reply.id), 'the retried failure offers no Retry any more').toBe(false);
    const second = await c.post(`/console/failures/${reply.id}/retry`);
    expect(second.status).toBe(409);
    expect(second.html).toContain('Not retried: This step has been delivered already.');
    // The lifecycle refuses on its own too (a second console replica, a stale page): nothing runs.
    await expect(
      suite.temporal.workflow
        .getHandle(subject)
        .executeUpdate(retryFailedDeliveryUpdate, { args: [{ step: reply.step, requestedBy: 'test' }] }),
    ).rejects.toMatchObject({ cause: { type: RETRY_REFUSED, message: expect.stringMatching(/delivered already/) } });
    // The root's update is the newest failed update and nothing newer succeeded: it can be retried too.
    const rootRetry = await c.post(`/console/failures/${rootUpdate.id}/retry`);
    expect(rootRetry.html).toContain(`Retried step <code>${rootUpdate.step}</code>: delivered.`);

    const done = await h.settled(orderId, 60_000);
    const key = `${subject}:${reply.step}`;
    expect(tally(done.posts.map((p) => p.key)).repeated, 'keys posted more than once in Slack').toEqual([]);
    expect(done.replies.filter((p) => p.key === key)).toHaveLength(1);
    // Scheduled twice in the workflow (the failed post, one retry): the refused retries ran nothing.
    expect(done.scheduledKeys.filter((k) => k === key)).toHaveLength(2);
    const root = await h.slack.message(CHANNEL, done.replies[0]!.threadTs!);
    expect(JSON.stringify(root.blocks)).toContain('Captured');

    const retried = await audit(subject, 'delivery.retried');
    expect(retried.map((r) => [r.details?.step, r.outcome, r.actor])).toEqual([
      [reply.step, 'ok', { kind: 'api_client', id: fingerprint() }],
      [rootUpdate.step, 'ok', { kind: 'api_client', id: fingerprint() }],
    ]);
    const requested = await audit(subject, 'delivery.retry_requested');
    expect(requested.map((r) => [r.details?.step, r.details?.answer, r.outcome, r.actor.id])).toEqual([
      [reply.step, 'delivered', 'ok', fingerprint()],
      [reply.step, 'refused', 'skipped', fingerprint()],
      [rootUpdate.step, 'delivered', 'ok', fingerprint()],
    ]);
  });

  it('a root post that failed: Retry starts the thread now, and later replies land in it (one root)', async () => {
    const { orderId, paymentId } = h.ids();
    const subject = `payment:${orderId}`;
    await h.slack.archiveChannel(CHANNEL);
    await h.expectAccepted(await h.initiate(h.initiation(orderId)));
    const root = await failure(subject, 'root');
    await waitForIdle(suite.temporal, subject, 60_000);
    await h.slack.unarchiveChannel(CHANNEL);

    const c = await consoleClient(h.api, h.apiKey);
    const answer = await c.post(`/console/failures/${root.id}/retry`);
    expect(answer.html).toContain(`Retried step <code>${root.step}</code>: delivered.`);
    // The workflow recorded the thread: the next event's reply goes under this root, no second root.
    expect((await h.webhook('payment.captured', { orderId, paymentId, amount: 123450 })).res.status).toBe(200);
    const thread = await h.thread(CHANNEL, orderId, 1);
    const done = await h.settled(orderId, 60_000);
    expect(done.posts.filter((p) => p.key === `${subject}:root`)).toHaveLength(1);
    expect(done.replies.map((r) => r.threadTs)).toEqual([thread.ts]);
    expect(tally(done.posts.map((p) => p.key)).repeated).toEqual([]);
    expect((await audit(subject, 'payment.routed')).map((r) => (r.after as { ts?: string }).ts)).toEqual([thread.ts]);
    // A history with an accepted retry in it (the update, the re-run post, the thread recorded after).
    await recordFixture('payment-lifecycle-root-retried', await historyOf(suite.temporal, subject));
  });

  it('a closed lifecycle: no Retry button, the reason on the page, and a forced post answers 409 with it, never a 500', async () => {
    const { orderId, subject, reply } = await failedReply();
    await suite.temporal.workflow.getHandle(subject).terminate('test: the lifecycle is over');
    await h.slack.unarchiveChannel(CHANNEL);

    const c = await consoleClient(h.api, h.apiKey);
    // Visibility catches up with the termination eventually: until then the page may still offer Retry.
    const page = await h.waitFor(async () => {
      const p = await c.get(`/console/failures?q=${encodeURIComponent(subject)}`);
      return p.html.includes('The lifecycle is closed') ? p : undefined;
    }, 60_000);
    expect(retryFormOf(page.html, reply.id)).toBe(false);
    const forced = await c.post(`/console/failures/${reply.id}/retry`);
    expect(forced.status).toBe(409);
    expect(forced.html).toContain('Not retried: The lifecycle is closed: nothing is left to retry it.');
    expect((await h.roots(CHANNEL, orderId))[0]!.replies ?? []).toEqual([]);
  });
});
