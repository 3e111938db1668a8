import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { flows } from '../../../src/flows/index.js';
import { migrate, migrationDirs } from '../../../src/platform/db/migrate.js';
import { createPool } from '../../../src/platform/db/pool.js';
import { startEmbeddedPostgres, type EmbeddedPg } from '../../../src/platform/infra/embedded-postgres.js';
import { ensureTemporalCli } from '../../../src/platform/infra/temporal-cli.js';
import { startTemporalDevServer, type DevServer } from '../../../src/platform/infra/temporal-dev-server.js';
import { connectClient } from '../../../src/platform/temporal/connection.js';
import { ensureNamespace } from '../../../src/platform/temporal/namespace.js';
import type { LoadOptions } from '../../helpers/chaos.js';
import { driveLoad } from '../../helpers/chaos.js';
import { scenarioRunner, startChaosRig, type ChaosRig } from '../../helpers/chaos-rig.js';
import { freePort } from '../../helpers/ports.js';

/**
 * The chaos suite: the API and two workers as separate OS processes against a Temporal dev server
 * of this file's own (file-backed, so it restarts on the same database) and Postgres (the shared
 * one; at full scale one of this file's own, so it can restart on the same data directory), a
 * mixed load (payments with Razorpay's webhooks, approvals, Jira tickets with Slack thread
 * replies, Alertmanager alerts) through the real endpoints, one fault per scenario, then
 * combined, and the table: events sent, effects expected, seen (Slack posts and Jira comments),
 * lost, duplicated, wrong end state, p99 time to effect. Every scenario asserts lost = 0,
 * duplicated = 0 and no wrong end state.
 * `npm run chaos` runs it at full scale (CHAOS_SCALE=full: a larger load, every fault on its own
 * too, the Postgres restart); `npm test` runs this short form.
 */
const FULL = process.env.CHAOS_SCALE === 'full';
const LOAD: LoadOptions = FULL
  ? { payments: 8, approvals: 4, tickets: 4, alerts: 4 }
  : { payments: 2, approvals: 1, tickets: 1, alerts: 1 };
const itFull = FULL ? it : it.skip;
const log = () => undefined;

describe('chaos: API + two worker processes under faults', () => {
  let dir: string;
  let cliPath: string;
  let temporalPort: number;
  let temporal: DevServer | undefined;
  let pgPort: number;
  let pg: EmbeddedPg | undefined;
  let rig: ChaosRig;
  let s: ReturnType<typeof scenarioRunner>;

  const startTemporal = async () => {
    temporal = await startTemporalDevServer({
      cliPath,
      dbFile: join(dir, 'temporal.db'),
      port: temporalPort,
      uiPort: 0,
      headless: true,
      namespace: 'default',
      log,
    });
  };
  const stopTemporal = async () => {
    await temporal?.stop();
    temporal = undefined;
  };
  const startPg = async () => {
    pg = await startEmbeddedPostgres({
      dir: join(dir, 'pg'),
      port: pgPort,
      persistent: true,
      log,
      dirVariable: 'TMPDIR',
    });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-chaos-'));
    cliPath = await ensureTemporalCli(log);
    [temporalPort, pgPort] = [await freePort(), await freePort()];
    await Promise.all([startTemporal(), FULL ? startPg() : Promise.resolve()]);
    const conn = await connectClient(loadConfig({}).temporal, temporal!.address);
    await ensureNamespace(conn, 'default', log, { setRetention: true });
    await conn.close();
    if (pg) {
      const pool = createPool(pg.databaseUrl);
      await migrate(pool, migrationDirs(flows));
      await pool.end();
    }
    rig = await startChaosRig({
      databaseUrl: pg?.databaseUrl ?? inject('databaseUrl'),
      temporalAddress: temporal!.address,
      workflowBundlePath: inject('workflowBundlePath'),
    });
    s = scenarioRunner(rig);
  }, 240_000);

  afterAll(async () => {
    await s?.print(FULL ? 'CHAOS_SCALE=full' : 'short form');
    await rig?.stop();
    await stopTemporal();
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
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
  it.fails(
    'Alertmanager resolved before firing ends resolved (known defect: it ends firing)',
    async () => {
      const row = await s.run(
        'reordered Alertmanager (known defect)',
        () => load({ payments: 0, approvals: 0, tickets: 0, reorder: true }),
        false,
      );
      expect(row.wrongState).toBe(0);
    },
    300_000,
  );

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

  // Full scale: each Slack fault on its own too.
  for (const [name, fault] of [
    ['Slack 429 ×10', { kind: 'ratelimit', retryAfter: 1, count: 10 }],
    ['Slack 503 ×10', { kind: 'status', status: 503, count: 10 }],
    ['Slack commit-then-timeout ×2', { kind: 'commit_then_timeout', count: 2 }],
  ] as const) {
    itFull(
      name,
      async () => {
        await rig.ctx.slack.injectFault({ method: 'chat.postMessage', ...fault });
        await s.run(name, () => load());
      },
      300_000,
    );
  }

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

  itFull(
    'kill -9 of a worker mid-stream, then restart',
    async () => {
      await s.run('worker kill -9 + restart', () => load({ midway: () => rig.restartWorker(0) }));
    },
    300_000,
  );

  it('kill -9 of the API with requests in flight, then restart', async () => {
    await s.run('API kill -9 + restart', () => load({ midway: () => rig.restartApi() }));
  }, 300_000);

  it('Temporal dev server restarted on the same database mid-stream', async () => {
    await s.run('Temporal restart (same database)', () =>
      load({
        midway: async () => {
          await stopTemporal();
          await startTemporal();
        },
      }),
    );
  }, 300_000);

  it('a Slack event delivered while Temporal is down is handed off once, with one effect', async () => {
    let down: Promise<void> | undefined;
    const since = rig.ctx.slackAttempts.length;
    const row = await s.run('Slack event while Temporal is down', () =>
      load({
        payments: 0,
        approvals: 0,
        alerts: 0,
        tickets: 1,
        aroundSlackReplies: async (deliver) => {
          // Temporal goes down once, after the thread exists; the replies are delivered into the outage.
          down ??= stopTemporal();
          await down;
          const delivering = deliver();
          await rig.ctx.slack.waitFor(() => rig.ctx.slackAttempts.length > since, 60_000);
          await startTemporal();
          await delivering;
        },
      }),
    );
    // The first attempt was answered while Temporal was down (refused for a retry, or acknowledged to be relayed).
    const answers = rig.ctx.slackAttempts.slice(since).map((a) => a.status);
    console.log(`[chaos] Slack event while Temporal is down: attempts answered ${answers.join(', ')}`);
    expect(answers.length).toBeGreaterThan(0);
    expect(row.jira).toEqual({ expected: 2, seen: 2 });
  }, 300_000);

  itFull(
    'Postgres restarted on the same data directory mid-stream',
    async () => {
      await s.run('Postgres restart (same data directory)', () =>
        load({
          midway: async () => {
            await pg!.stop();
            await startPg();
          },
        }),
      );
    },
    300_000,
  );

  it('combined: duplicates ×3, Slack 429s, a Jira 503 and a worker kill -9 in one run', async () => {
    await rig.ctx.slack.injectFault({ method: 'chat.postMessage', kind: 'ratelimit', retryAfter: 1, count: 5 });
    await rig.ctx.jira.injectFault({ method: await jiraCommentRoute(), kind: 'status', status: 503, count: 1 });
    await s.run('combined: dup ×3 + Slack 429 + Jira 503 + worker kill', () =>
      load({ copies: 3, midway: () => rig.restartWorker(1) }),
    );
  }, 300_000);
});
