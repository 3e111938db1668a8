import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics } from '../../../src/platform/observability/metrics.js';
import { startWorker, type RunningWorker } from '../../../src/worker/run.js';
import { sharedBundle } from '../../helpers/bundle.js';
import { testDataConverter } from '../../helpers/temporal.js';

const HISTORIES = fileURLToPath(new URL('../../fixtures/histories/', import.meta.url));

/**
 * Determinism: histories recorded from earlier versions of each workflow (committed under
 * test/fixtures/histories) must replay against today's code. A change that reorders commands
 * fails here instead of in production, where running workflows would get stuck.
 */
describe('workflow replay', () => {
  it('every committed history replays against the current workflow code', async () => {
    const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    const bundle = await sharedBundle();
    for (const f of files) {
      const history = JSON.parse(await readFile(`${HISTORIES}/${f}`, 'utf8'));
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle, replayName: f }, history),
        `replaying ${f}`,
      ).resolves.toBeUndefined();
    }
  });

  describe('a fresh run', () => {
    const taskQueue = `replay-${randomUUID()}`;
    let worker: RunningWorker;
    let connection: Connection;
    beforeAll(async () => {
      worker = await startWorker({
        config: loadConfig({ THREADLINE_SANDBOX: 'true', TEMPORAL_TASK_QUEUE: taskQueue }),
        databaseUrl: inject('databaseUrl'),
        temporalAddress: inject('temporalAddress'),
        logger: createLogger({ level: 'silent' }),
        metrics: createMetrics(),
        workflowBundle: await sharedBundle(),
      });
      connection = await Connection.connect({ address: inject('temporalAddress') });
    });
    afterAll(async () => {
      await worker?.shutdown();
      await connection?.close();
    });

    it('replays, and a history with a tampered command is detected as non-deterministic', async () => {
      const client = new Client({ connection, dataConverter: testDataConverter() });
      const id = randomUUID();
      const handle = await client.workflow.start('pingWorkflow', {
        workflowId: `ping:${id}`,
        taskQueue,
        args: [{ id, requestedBy: 'replay-test' }],
      });
      await handle.result();
      const history = await handle.fetchHistory();
      const bundle = await sharedBundle();
      // The history is encrypted: replay with the product's data converter, as a production replay would.
      const replay = { workflowBundle: bundle, dataConverter: testDataConverter() };
      await Worker.runReplayHistory(replay, history);

      // Rename the scheduled activity in the recorded history: replay must refuse it.
      const tampered = structuredClone(history);
      const scheduled = tampered.events?.find((e) => e.activityTaskScheduledEventAttributes);
      scheduled!.activityTaskScheduledEventAttributes!.activityType = { name: 'someOtherActivity' };
      await expect(Worker.runReplayHistory(replay, tampered)).rejects.toThrow(/[Nn]ondetermin/);
    });
  });
});
