import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pingWorkflowId } from '../../../src/platform/system/contract.js';
import type { PingInput, PingResult } from '../../../src/platform/system/contract.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../src/platform/db/repositories.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics } from '../../../src/platform/observability/metrics.js';
import { startWorker, type RunningWorker } from '../../../src/worker/run.js';
import { sharedBundle } from '../../helpers/bundle.js';
import { testDataConverter } from '../../helpers/temporal.js';

describe('pingWorkflow through a real worker, Temporal and Postgres', () => {
  const taskQueue = `ping-${randomUUID()}`;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  let pool: Pool;

  beforeAll(async () => {
    const config = loadConfig({ THREADLINE_SANDBOX: 'true', TEMPORAL_TASK_QUEUE: taskQueue });
    worker = await startWorker({
      config,
      databaseUrl: inject('databaseUrl'),
      temporalAddress: inject('temporalAddress'),
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics(),
      workflowBundle: await sharedBundle(),
    });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter(config.temporal) });
    pool = createPool(inject('databaseUrl'));
  });

  afterAll(async () => {
    await worker?.shutdown();
    await connection?.close();
    await pool?.end();
  });

  it('writes exactly one audit row per run, even when the same workflow id is executed again', async () => {
    const id = randomUUID();
    const input: PingInput = { id, requestedBy: 'test' };
    const result = await client.workflow.execute<(i: PingInput) => Promise<PingResult>>('pingWorkflow', {
      workflowId: pingWorkflowId(id),
      taskQueue,
      args: [input],
    });
    expect(result).toMatchObject({ id, workflowId: `ping:${id}`, auditWritten: true });
    const rows = await auditLogRepo(pool).bySubject(`ping:${id}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'ping',
      actor: { kind: 'api_client', id: 'test' },
      workflowId: `ping:${id}`,
    });

    // Same workflow id again (a second run): the idempotency key is per workflow id + step, so no second row.
    const again = await client.workflow.execute<(i: PingInput) => Promise<PingResult>>('pingWorkflow', {
      workflowId: pingWorkflowId(id),
      taskQueue,
      args: [input],
    });
    expect(again.auditWritten).toBe(false);
    expect(await auditLogRepo(pool).bySubject(`ping:${id}`)).toHaveLength(1);
  });
});
