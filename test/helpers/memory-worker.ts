import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { ActivityImplementations } from '../../src/platform/flow.js';
import { sharedBundle } from './bundle.js';
import './provided.js';

/**
 * A worker on its own task queue with in-memory activities, against the shared Temporal dev
 * server and the shared workflow bundle: for workflow tests that need real Temporal semantics
 * (signals, timers, continue-as-new, replay) but not the whole stack.
 */
export async function startMemoryWorker(activities: ActivityImplementations, name = 'memory') {
  const taskQueue = `${name}-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await sharedBundle(),
    activities,
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return {
    taskQueue,
    client: new Client({ connection }),
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}
