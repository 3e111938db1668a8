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
import { driveLoad, type LoadOptions } from '../../helpers/chaos.js';
import { scenarioRunner, startChaosRig, type ChaosRig } from '../../helpers/chaos-rig.js';
import { freePort } from '../../helpers/ports.js';

/**
 * The chaos suite's engine faults: the rig of chaos.test.ts (API + two worker processes, both
 * emulators, the mixed load) against a Temporal dev server of this file's own, file-backed so it
 * restarts on the same database, and (full scale) a Postgres of its own, restarted on the same
 * data directory. Scenarios: Temporal restarted mid-stream, a Slack event delivered while
 * Temporal is down (answered either way, then handed off once with one effect), Postgres
 * restarted mid-stream. Asserts lost = 0, duplicated = 0, no wrong end state.
 * `npm test` runs the short form (shared Postgres; the Temporal scenarios); `npm run chaos` all.
 */
const FULL = process.env.CHAOS_SCALE === 'full';
const LOAD: LoadOptions = FULL
  ? { payments: 12, approvals: 6, tickets: 6, alerts: 6 }
  : { payments: 1, approvals: 1, tickets: 1, alerts: 1 };
const itFull = FULL ? it : it.skip;
const log = () => undefined;

describe('chaos: engines restart under the mixed load', () => {
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
    pg = await startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort, persistent: true, log, dirVariable: 'TMPDIR' });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-chaos-engines-'));
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
    await s?.print('engines (chaos-engines.test.ts)');
    await rig?.stop();
    await stopTemporal();
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const load = (over: Partial<LoadOptions> = {}) => driveLoad(rig.ctx, { ...LOAD, ...over });

  it('no fault (the baseline: what each lifecycle posts)', async () => {
    await s.run('no fault (own engines)', () => load());
    expect(Object.keys(s.baseline()!.ticket).length).toBeGreaterThan(0);
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
    expect(rig.ctx.slackAttempts.length).toBeGreaterThan(since);
    expect(row.jira).toEqual({ expected: 2, seen: 2 });
  }, 300_000);

  itFull('Postgres restarted on the same data directory mid-stream', async () => {
    await s.run('Postgres restart (same data directory)', () =>
      load({
        midway: async () => {
          await pg!.stop();
          await startPg();
        },
      }),
    );
  }, 300_000);
});
