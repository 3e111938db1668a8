import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LoadOptions } from '../../helpers/chaos.js';
import { driveLoad } from '../../helpers/chaos.js';
import { scenarioRunner, startChaosRig, type ChaosRig } from '../../helpers/chaos-rig.js';

/**
 * The chaos suite: the API and two workers as separate OS processes against the shared Temporal
 * and Postgres, a mixed load (payments with Razorpay's webhooks, approvals, Jira tickets with
 * Slack thread replies, Alertmanager alerts) through the real endpoints, one fault per scenario,
 * then combined, and the table: events sent, effects expected, seen (Slack posts and Jira
 * comments), lost, duplicated, wrong end state, p99 time to effect. Every scenario asserts lost =
 * 0, duplicated = 0 and no wrong end state. The engines' own restarts are in chaos-engines.test.ts.
 * `npm run chaos` runs it at full scale (CHAOS_SCALE=full, every fault on its own too); `npm test`
 * runs this short form (small load, Slack's three faults in one scenario).
 */
const FULL = process.env.CHAOS_SCALE === 'full';
const LOAD: LoadOptions = FULL
  ? { payments: 12, approvals: 6, tickets: 6, alerts: 6 }
  : { payments: 2, approvals: 1, tickets: 1, alerts: 1 };
const itFull = FULL ? it : it.skip;

describe('chaos: API + two worker processes under faults', () => {
  let rig: ChaosRig;
  let s: ReturnType<typeof scenarioRunner>;

  beforeAll(async () => {
    rig = await startChaosRig({
      databaseUrl: inject('databaseUrl'),
      temporalAddress: inject('temporalAddress'),
      workflowBundlePath: inject('workflowBundlePath'),
    });
    s = scenarioRunner(rig);
  }, 180_000);

  afterAll(async () => {
    await s?.print('faults (chaos.test.ts)');
    await rig?.stop();
  });

  const load = (over: Partial<LoadOptions> = {}) => driveLoad(rig.ctx, { ...LOAD, ...over });
  /** The route key of our Jira comment write (the emulator's fault registry names routes by template). */
  const jiraCommentRoute = async () =>
    (await rig.ctx.jira.faults()).routeKeys.find((k) => k.startsWith('POST ') && k.endsWith('/comment'))!;

  it('no fault (the baseline: what each lifecycle posts)', async () => {
    await s.run('no fault', () => load());
    for (const kind of ['payment', 'approval', 'ticket', 'alert'] as const)
      expect(Object.keys(s.baseline()![kind]).length, kind).toBeGreaterThan(0);
  }, 300_000);

  it('every input delivered 3 times at once', async () => {
    await s.run('duplicates ×3', () => load({ copies: 3 }));
  }, 300_000);

  it('every source out of order: Razorpay captured before authorized, Jira newest first, Slack replies last first', async () => {
    await s.run('reordered (Razorpay, Jira, Slack)', () => load({ alerts: 0, reorder: true }));
  }, 300_000);

  // Known defect (found by this suite): Alertmanager's resolved, handed off before its firing,
  // finds no workflow and is dropped; the late firing then opens the alert, which stays open
  // (and pages) although Alertmanager said it ended. Passes while the defect lasts; once fixed,
  // move alerts back into the reordered load above.
  it.fails('Alertmanager resolved before firing ends resolved (known defect: it ends firing)', async () => {
    const row = await s.run(
      'reordered Alertmanager (known defect)',
      () => load({ payments: 0, approvals: 0, tickets: 0, reorder: true }),
      false,
    );
    expect(row.wrongState).toBe(0);
  }, 300_000);

  it('Slack 429s, 5xx and commit-then-timeout on chat.postMessage', async () => {
    const n = FULL ? 10 : 4;
    for (const f of [
      { kind: 'ratelimit', retryAfter: 1, count: n },
      { kind: 'status', status: 503, count: n },
      { kind: 'commit_then_timeout', count: 2 },
    ] as const)
      await rig.ctx.slack.injectFault({ method: 'chat.postMessage', ...f });
    await s.run(`Slack 429 ×${n} + 503 ×${n} + commit-then-timeout ×2`, () => load());
  }, 300_000);

  itFull('Slack 429 storm on chat.postMessage', async () => {
    await rig.ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter: 1, count: 10 });
    await s.run('Slack 429 ×10', () => load());
  }, 300_000);

  itFull('Slack 5xx burst', async () => {
    await rig.ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'status', status: 503, count: 10 });
    await s.run('Slack 503 ×10', () => load());
  }, 300_000);

  itFull('Slack commits then times out', async () => {
    await rig.ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', count: 2 });
    await s.run('Slack commit-then-timeout ×2', () => load());
  }, 300_000);

  it('Jira 429, 5xx and commit-then-timeout on the comment write', async () => {
    const method = await jiraCommentRoute();
    const n = Math.max(1, LOAD.tickets);
    await rig.ctx.jira.injectFault([
      { method, kind: 'ratelimit', retryAfter: 1, count: n },
      { method, kind: 'status', status: 503, count: n },
      { method, kind: 'commit_then_timeout', count: n },
    ]);
    await s.run(`Jira 429 ×${n} + 503 ×${n} + commit-then-timeout ×${n}`, () => load());
  }, 300_000);

  itFull('kill -9 of a worker mid-stream, then restart', async () => {
    await s.run('worker kill -9 + restart', () => load({ midway: () => rig.restartWorker(0) }));
  }, 300_000);

  it('kill -9 of the API with requests in flight, then restart', async () => {
    await s.run('API kill -9 + restart', () => load({ midway: () => rig.restartApi() }));
  }, 300_000);

  it('combined: duplicates ×3, Slack 429s, a Jira 503 and a worker kill -9 in one run', async () => {
    await rig.ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter: 1, count: 5 });
    await rig.ctx.jira.injectFault({ method: await jiraCommentRoute(), kind: 'status', status: 503, count: 1 });
    await s.run('combined: dup ×3 + Slack 429 + Jira 503 + worker kill', () =>
      load({ copies: 3, midway: () => rig.restartWorker(1) }),
    );
  }, 300_000);
});
