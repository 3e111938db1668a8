import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { AuditEntry } from '../../src/platform/audit/contract.js';
import type { ActivityImplementations } from '../../src/platform/flow.js';
import type { PostSlackMessageInput, UpdateSlackMessageInput } from '../../src/platform/slack/contract.js';
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

/**
 * The platform's Slack and audit activities in memory, with what they were asked to do: posts
 * are exactly-once per idempotency key (a repeat answers the first post's ts), audit rows once per key.
 */
export function memoryPlatformActivities() {
  const posts: PostSlackMessageInput[] = [];
  const updates: UpdateSlackMessageInput[] = [];
  const audits: AuditEntry[] = [];
  return {
    posts,
    updates,
    audits,
    activities: {
      postSlackMessage: async (i: PostSlackMessageInput) => {
        const prior = posts.findIndex((p) => p.idempotencyKey === i.idempotencyKey);
        if (prior < 0) posts.push(i);
        const n = prior < 0 ? posts.length : prior + 1;
        return { channel: i.channel, ts: `1700000000.${String(n).padStart(6, '0')}`, deduplicated: prior >= 0 };
      },
      updateSlackMessage: async (i: UpdateSlackMessageInput) => {
        updates.push(i);
      },
      postSlackEphemeral: async () => undefined,
      recordAudit: async (e: AuditEntry) => {
        if (audits.some((a) => a.idempotencyKey === e.idempotencyKey)) return false;
        audits.push(e);
        return true;
      },
    },
  };
}
