import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALERT_LATE_FIRING_PATCH,
  ALERT_UNSEEN_RESOLVE_PATCH,
  alertNotificationSignal,
  alertStateQuery,
  type AlertNotification,
  type AlertState,
  type AlertWorkflowInput,
  type ChatopsRunInput,
  type ChatopsRunState,
} from '../../../../src/flows/alerts/contract.js';
import type { alertWorkflow } from '../../../../src/flows/alerts/workflow.js';
import { slackActionUpdate } from '../../../../src/platform/slack/contract.js';
import { CONTINUE_AS_NEW_IN_WAIT_PATCH } from '../../../../src/platform/temporal/workflow/continue-as-new.js';
import { sharedBundle } from '../../../helpers/bundle.js';
import { recordFixture } from '../../../helpers/fixtures.js';
import { eventsOf, patchMarkers, runsOf } from '../../../helpers/history.js';
import { memoryPlatformActivities, startMemoryWorker } from '../../../helpers/memory-worker.js';

/**
 * The alert and ChatOps workflows against the real Temporal dev server with in-memory activities:
 * a forced continue-as-new that carries the thread and its dedup ids, and replays of recorded
 * histories (committed as fixtures with THREADLINE_RECORD_HISTORIES=<name>, see test/helpers/fixtures.ts).
 */
describe('alertWorkflow / chatopsActionWorkflow (in-memory activities, real Temporal) + replay', () => {
  const platform = memoryPlatformActivities();
  const { posts, audits } = platform;
  const snapshots = new Map<string, AlertState>();
  let mem: Awaited<ReturnType<typeof startMemoryWorker>>;
  let client: Client;
  let taskQueue: string;

  beforeAll(async () => {
    mem = await startMemoryWorker(
      {
        ...platform.activities,
        saveAlertSnapshot: async ({ workflowId, state }: { workflowId: string; state: AlertState }) => {
          const prev = snapshots.get(workflowId);
          if (!prev || prev.version <= state.version) snapshots.set(workflowId, state);
        },
        loadAlertSnapshot: async ({ workflowId }: { workflowId: string }) => snapshots.get(workflowId) ?? null,
        listAlertChannelMembers: async () => ({ members: ['U0DAVE'], truncated: false }),
        postAlertIncomingWebhook: async () => ({ status: 200 }),
        invokeChatopsAction: async () => ({ httpStatus: 200, attempt: 1, output: 'done' }),
      },
      'alert-wf',
    );
    client = mem.client;
    taskQueue = mem.taskQueue;
  });
  afterAll(() => mem?.stop());

  const notification = (
    eventId: string,
    status: 'firing' | 'resolved',
    startsAt = '2026-11-30T08:12:41.512Z',
    endsAt?: string,
  ): AlertNotification => ({
    eventId,
    status,
    occurrenceId: `fp@${startsAt}`,
    startsAt,
    ...(endsAt ? { endsAt } : {}),
    receivedAt: startsAt,
    ...(status === 'firing'
      ? {
          details: {
            origin: 'alertmanager',
            title: 'PostgresReplicationLag',
            summary: 'Replica lag above 30 s',
            severity: 'critical',
            labels: { team: 'data' },
            links: [],
          },
          route: {
            rule: 'route:critical',
            channel: 'C0OPSALERT',
            resolvable: false,
            entitlement: { channelMembers: true, users: [], groups: [] },
            policy: {
              name: 'p',
              steps: [{ delayMs: 3_600_000, targets: [{ kind: 'user', user: 'U0BOB' }] }],
              repeat: 0,
              schedules: {},
            },
          },
        }
      : {}),
  });
  const start = (id: string, runtime: AlertWorkflowInput['runtime'], first: AlertNotification) =>
    client.workflow.signalWithStart<typeof alertWorkflow, [AlertNotification]>('alertWorkflow', {
      workflowId: `alert:am:${id}`,
      taskQueue,
      args: [{ alertId: `am:${id}`, source: 'alertmanager', runtime }],
      signal: alertNotificationSignal,
      signalArgs: [first],
    });
  /** Waits are bounds, not speed (the loaded full suite slows every workflow task): by the clock. */
  const WAIT_MS = 90_000;
  async function until(handle: WorkflowHandle, ok: (s: AlertState) => boolean): Promise<AlertState> {
    for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline;) {
      const s = await handle.query(alertStateQuery);
      if (ok(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`state not reached within ${WAIT_MS} ms`);
  }
  /** The steps `alert:am:<id>` posted, in order (its idempotency keys without the workflow id). */
  const stepsPosted = (id: string) =>
    posts.filter((p) => p.subject === `alert:am:${id}`).map((p) => p.idempotencyKey.replace(`alert:am:${id}:`, ''));
  const ack = (handle: WorkflowHandle, user: string) =>
    handle.executeUpdate(slackActionUpdate, {
      args: [{ interactionId: randomUUID(), verb: 'alert.ack', user, value: 'o1' }],
      updateId: randomUUID(),
    });

  it('fire → ack → resolve → close after the reopen window; replays deterministically', async () => {
    const id = randomUUID().replace(/-/g, '').slice(0, 16);
    const handle = await start(id, { reopenWindowMs: 500 }, notification('e1', 'firing'));
    await until(handle, (s) => s.root !== undefined && s.current?.membersLoaded === true);
    await expect(ack(handle, 'U0ERIN')).rejects.toThrow(); // not entitled: refused by the validator
    await ack(handle, 'U0DAVE'); // a channel member
    await until(handle, (s) => s.status === 'acknowledged');
    await handle.signal(alertNotificationSignal, notification('e2', 'resolved'));
    const result = await handle.result();
    expect(result).toEqual({ alertId: `am:${id}`, status: 'resolved', occurrences: 1 });
    const mine = stepsPosted(id);
    expect(mine).toEqual(['root', 'o1:page:1:U0BOB', 'o1:ack:0', 'o1:resolved']);
    expect(audits.filter((a) => a.subject === `alert:am:${id}`).map((a) => a.action)).toEqual([
      'alert.fired',
      'alert.acknowledged',
      'alert.resolved',
      'alert.closed',
    ]);
    const events = await eventsOf(handle);
    await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, { events }, `alert:am:${id}`);
    await recordFixture('alert', events);
  });

  it('continues as new (forced) carrying the thread, the escalation and the dedup ids; nothing is posted twice', async () => {
    const id = randomUUID().replace(/-/g, '').slice(0, 16);
    // The threshold must lie above what the start alone writes (root post, members, audit,
    // snapshot, search attributes: 38 to 42 events, by how activity completions batch into
    // workflow tasks) and below what the repeats add (at least one event each). At 40 the start
    // alone sometimes handed over before any repeat: the second run then took all 30 repeats in one
    // task, stayed under 40 and waited for its hour-long escalation timer, never handing over.
    const repeats = 60;
    const handle = await start(id, { reopenWindowMs: 500, continueAsNewAfterEvents: 60 }, notification('r0', 'firing'));
    // The run signalWithStart started (describing later could already name its successor).
    const firstRun = handle.signaledRunId;
    const before = await until(handle, (s) => s.root !== undefined && s.current?.membersLoaded === true);
    // Repeats grow history without posting; the threshold makes the run hand over.
    for (let i = 1; i <= repeats; i++) await handle.signal(alertNotificationSignal, notification(`r${i}`, 'firing'));
    const after = await (async () => {
      for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline;) {
        const d = await handle.describe();
        if (d.runId !== firstRun) return handle.query(alertStateQuery);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`did not continue as new within ${WAIT_MS} ms`);
    })();
    expect(after.root).toEqual(before.root);
    expect(after.current?.escalation?.nextAtMs).toBe(before.current?.escalation?.nextAtMs);
    expect(after.processedEventIds).toEqual(expect.arrayContaining(['r0', 'r1']));
    // A repeat of an id processed by the first run is still recognised (a no-op).
    await handle.signal(alertNotificationSignal, notification('r0', 'firing'));
    await ack(client.workflow.getHandle(`alert:am:${id}`), 'U0BOB');
    await until(client.workflow.getHandle(`alert:am:${id}`), (s) => s.status === 'acknowledged');
    await client.workflow.getHandle(`alert:am:${id}`).signal(alertNotificationSignal, notification('end', 'resolved'));
    const result = await client.workflow.getHandle(`alert:am:${id}`).result();
    expect(result.status).toBe('resolved');
    const keys = posts.filter((p) => p.subject === `alert:am:${id}`).map((p) => p.idempotencyKey);
    expect(keys.filter((k) => k.endsWith(':root'))).toHaveLength(1);
    expect(keys.filter((k) => k.includes(':page:'))).toHaveLength(1);

    // Every run of the chain replays; the first one ends by continuing as new, the last starts
    // from carried state, and both took the platform's continue-as-new check (its patch marker).
    const runs = await runsOf(client, `alert:am:${id}`);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs[0]!.events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(true);
    for (const r of runs) {
      expect(patchMarkers(r.events)).toContain(CONTINUE_AS_NEW_IN_WAIT_PATCH);
      await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, { events: r.events }, r.runId);
    }
    await recordFixture('alert-continue-as-new', runs[0]!.events);
    await recordFixture('alert-carried', runs.at(-1)!.events);
  }, 240_000);

  it('a resolve that overtook its firing starts the run; the late firing is shown resolved (root + one reply, nobody paged); replays deterministically', async () => {
    const id = randomUUID().replace(/-/g, '').slice(0, 16);
    // A reopen window long enough for the firing to land before the run would close.
    const handle = await start(
      id,
      { reopenWindowMs: 3_000 },
      notification('e-resolved', 'resolved', undefined, '2026-11-30T08:20:41.512Z'),
    );
    await until(handle, (s) => s.lastResolvedOccurrenceId !== undefined);
    await handle.signal(alertNotificationSignal, notification('e-firing', 'firing'));
    const result = await handle.result();
    expect(result).toEqual({ alertId: `am:${id}`, status: 'resolved', occurrences: 1 });
    const mine = stepsPosted(id);
    expect(mine).toEqual(['root', 'o1:resolved']);
    // The occurrence's two rows (written in parallel: any order), then the close.
    const actions = audits.filter((a) => a.subject === `alert:am:${id}`).map((a) => a.action);
    expect(actions.slice(0, 2).sort()).toEqual(['alert.fired', 'alert.resolved']);
    expect(actions.at(-1)).toBe('alert.closed');
    const events = await eventsOf(handle);
    expect(patchMarkers(events)).toEqual(expect.arrayContaining([ALERT_UNSEEN_RESOLVE_PATCH, ALERT_LATE_FIRING_PATCH]));
    await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, { events }, `alert:am:${id}`);
    await recordFixture('alert-late-firing', events);
  });

  it('a ChatOps run (no approval) posts, calls once, reports; replays deterministically', async () => {
    const runId = randomUUID().replace(/-/g, '').slice(0, 24);
    const input: ChatopsRunInput = {
      runId,
      action: { name: 'restart', description: 'Restart a service', timeoutMs: 5000, maxAttempts: 2 },
      args: { service: 'checkout' },
      invokedBy: 'U0BOB',
      channel: 'C0OPSALERT',
      requestedAt: '2026-12-01T00:00:00.000Z',
    };
    const handle = await client.workflow.start('chatopsActionWorkflow', {
      workflowId: `chatops:${runId}`,
      taskQueue,
      args: [input],
    });
    const state = (await handle.result()) as ChatopsRunState;
    expect(state).toMatchObject({ status: 'succeeded', result: { httpStatus: 200, output: 'done' } });
    const events = await eventsOf(handle);
    await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, { events }, `chatops:${runId}`);
    await recordFixture('chatops-action', events);
  });
});
