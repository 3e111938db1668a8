import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import './provided.js';
import { loadConfig } from '../../src/config.js';
import { migrate, migrationDirs } from '../../src/platform/db/migrate.js';
import { createPool } from '../../src/platform/db/pool.js';
import { startEmbeddedPostgres } from '../../src/platform/infra/embedded-postgres.js';
import { ensureTemporalCli } from '../../src/platform/infra/temporal-cli.js';
import { connectClient } from '../../src/platform/temporal/connection.js';
import { startTemporalDevServer } from '../../src/platform/infra/temporal-dev-server.js';
import { ensureNamespace } from '../../src/platform/temporal/namespace.js';
import { bundleWorkflows } from '../../src/worker/worker.js';
import { freePort } from './ports.js';
import { flows } from '../../src/flows/index.js';

/**
 * One Temporal dev server (in memory, headless, free port), one embedded Postgres (temp dir,
 * migrated) and one workflow bundle for the whole integration run. Tests isolate themselves with
 * unique workflow ids and task queues.
 */
export default async function setup(project: TestProject) {
  const log = (m: string) => console.log(`[global-setup] ${m}`);
  const started = Date.now();
  const cliPath = await ensureTemporalCli(log);
  const dir = await mkdtemp(join(tmpdir(), 'threadline-test-'));
  const [temporalPort, pgPort] = [await freePort(), await freePort()];
  const results = await Promise.allSettled([
    startTemporalDevServer({ cliPath, port: temporalPort, uiPort: 0, headless: true, namespace: 'default', log }),
    startEmbeddedPostgres({ dir: join(dir, 'pg'), port: pgPort, persistent: false, log, dirVariable: 'TMPDIR' }),
    bundleWorkflows(flows),
  ] as const);
  const [devR, pgR, bundleR] = results;
  if (devR.status === 'rejected' || pgR.status === 'rejected' || bundleR.status === 'rejected') {
    // Never leave a half-started server behind a failed setup.
    if (devR.status === 'fulfilled') await devR.value.stop();
    if (pgR.status === 'fulfilled') await pgR.value.stop();
    await rm(dir, { recursive: true, force: true });
    throw [devR, pgR, bundleR].find((r) => r.status === 'rejected')!.reason;
  }
  const [dev, pg, bundle] = [devR.value, pgR.value, bundleR.value];
  const conn = await connectClient(loadConfig({}).temporal, dev.address);
  await ensureNamespace(conn, 'default', log, { setRetention: true });
  await conn.close();
  const pool = createPool(pg.databaseUrl);
  await migrate(pool, migrationDirs(flows));
  await pool.end();
  const bundlePath = join(dir, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);
  project.provide('temporalAddress', dev.address);
  project.provide('databaseUrl', pg.databaseUrl);
  project.provide('workflowBundlePath', bundlePath);
  log(`ready in ${Date.now() - started}ms (temporal ${dev.address})`);

  // A server that fails to stop fails the run instead of being forgotten.
  return async () => {
    const stopped = await Promise.allSettled([dev.stop(), pg.stop()]);
    await rm(dir, { recursive: true, force: true });
    const failed = stopped.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length) throw new Error(`global teardown: ${failed.map(String).join('; ')}`, { cause: failed[0] });
  };
}
