import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { ALERT_LATE_FIRING_PATCH } from '../../../src/flows/alerts/contract.js';
import { APPROVAL_PATCHES } from '../../../src/flows/approvals/contract.js';
import { PAYMENT_PATCHES } from '../../../src/flows/payments/contract.js';
import { TICKET_PATCHES } from '../../../src/flows/tickets/contract.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { createMetrics } from '../../../src/platform/observability/metrics.js';
import { FailureType } from '../../../src/platform/temporal/failure-types.js';
import { CONTINUE_AS_NEW_IN_WAIT_PATCH } from '../../../src/platform/temporal/workflow/continue-as-new.js';
import { startWorker, type RunningWorker } from '../../../src/worker/run.js';
import { flows } from '../../../src/flows/index.js';
import { workflowBuildId, workflowModules } from '../../../src/worker/worker.js';
import { sharedBundle } from '../../helpers/bundle.js';
import { testDataConverter } from '../../helpers/temporal.js';
import { activityInputs, patchMarkers, scheduledActivities } from '../../helpers/history.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const HISTORIES = fileURLToPath(new URL('../../fixtures/histories/', import.meta.url));

/**
 * Every workflow type the worker serves (the exported workflow functions of the modules it bundles,
 * from the flow registry): each must have committed histories, so a new flow cannot ship without.
 */
async function servedWorkflowTypes(): Promise<string[]> {
  const modules = await Promise.all(workflowModules(flows).map((p) => import(pathToFileURL(p).href)));
  const names = modules.flatMap((m: Record<string, unknown>) =>
    Object.entries(m).flatMap(([name, v]) => (typeof v === 'function' && name.endsWith('Workflow') ? [name] : [])),
  );
  return [...new Set(names)].sort();
}

interface Fixture {
  file: string;
  type: string;
  events: HistoryEvent[];
}

async function fixtures(): Promise<Fixture[]> {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const history = historyFromJSON(JSON.parse(await readFile(`${HISTORIES}/${file}`, 'utf8')));
      const events = history.events ?? [];
      const type = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
      return { file, type, events };
    }),
  );
}

/** What a set of histories exercises, as facts read from the events themselves. */
function exercised(events: HistoryEvent[]) {
  const failures = events.flatMap((e) => {
    const f = e.activityTaskFailedEventAttributes?.failure;
    return f?.applicationFailureInfo?.type ? [f.applicationFailureInfo.type] : [];
  });
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const input = JSON.parse(Buffer.from(started?.input?.payloads?.[0]?.data ?? '{}').toString('utf8')) as {
    carried?: unknown;
  };
  return {
    timerFired: events.some((e) => e.timerFiredEventAttributes),
    continuedAsNew: events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes),
    startedFromCarriedState: input.carried !== undefined,
    permanentSlackFailure: failures.includes(FailureType.Permanent),
    failedExecution: events.some((e) => e.workflowExecutionFailedEventAttributes),
    updates: events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length,
    patches: patchMarkers(events),
    audits: activityInputs<{ action: string }>(events, 'recordAudit').map((a) => a.action),
    activities: scheduledActivities(events),
  };
}

/**
 * Determinism: histories recorded from earlier versions of each workflow (committed under
 * test/fixtures/histories, described in its README) must replay against today's code. A change
 * that reorders commands without `patched()` fails here instead of in production, where running
 * workflows would get stuck.
 */
describe('workflow replay', () => {
  it('every committed history replays against the current workflow code', async () => {
    const all = await fixtures();
    expect(all.length).toBeGreaterThan(0);
    const bundle = await sharedBundle();
    for (const f of all) {
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle, replayName: f.file }, { events: f.events }),
        `replaying ${f.file}`,
      ).resolves.toBeUndefined();
    }
  });

  it('the committed histories cover every workflow type, version and the behaviours that change commands', async () => {
    const all = await fixtures();
    const of = (type: string) => all.filter((f) => f.type === type);
    const types = await servedWorkflowTypes();
    expect(types).toEqual(expect.arrayContaining(['pingWorkflow', 'paymentLifecycleWorkflow', 'approvalWorkflow']));
    for (const type of types) expect(of(type).length, `${type} has replay fixtures`).toBeGreaterThan(0);

    for (const type of ['paymentLifecycleWorkflow', 'approvalWorkflow']) {
      const facts = of(type).map((f) => ({ file: f.file, ...exercised(f.events) }));
      const some = (what: string, p: (x: (typeof facts)[number]) => boolean) =>
        expect(facts.some(p), `${type}: a fixture with ${what}`).toBe(true);
      some('a timer firing', (x) => x.timerFired);
      some('a continue-as-new', (x) => x.continuedAsNew);
      some('a run started from carried state', (x) => x.startedFromCarriedState);
      some('a permanent Slack failure the lifecycle survived', (x) => x.permanentSlackFailure && !x.failedExecution);
      some('the continue-as-new-in-wait patch', (x) => x.patches.includes(CONTINUE_AS_NEW_IN_WAIT_PATCH));
    }
    const alerts = of('alertWorkflow').map((f) => exercised(f.events));
    expect(alerts.some((x) => x.timerFired && x.audits.includes('alert.closed'))).toBe(true);
    expect(alerts.some((x) => x.continuedAsNew && x.patches.includes(CONTINUE_AS_NEW_IN_WAIT_PATCH))).toBe(true);
    expect(alerts.some((x) => x.startedFromCarriedState)).toBe(true);
    expect(alerts.some((x) => x.updates >= 1 && x.audits.includes('alert.acknowledged'))).toBe(true);
    expect(alerts.some((x) => x.patches.includes(ALERT_LATE_FIRING_PATCH))).toBe(true);

    const payments = of('paymentLifecycleWorkflow').map((f) => exercised(f.events));
    expect(
      payments.some((x) => x.patches.length === 0),
      'payments: a history from before any patch',
    ).toBe(true);
    for (const patch of Object.values(PAYMENT_PATCHES))
      expect(
        payments.some((x) => x.patches.includes(patch)),
        `payments: a history with ${patch}`,
      ).toBe(true);
    expect(payments.some((x) => x.audits.includes('payment.escalated'))).toBe(true);
    expect(payments.some((x) => x.audits.includes('payment.overdue'))).toBe(true);
    expect(payments.some((x) => x.audits.includes('payment.closed'))).toBe(true);

    const approvals = of('approvalWorkflow').map((f) => exercised(f.events));
    expect(
      approvals.some((x) => x.updates >= 3),
      'approvals: clicks (updates)',
    ).toBe(true);
    for (const action of [
      'approval.vote',
      'approval.level_advanced',
      'approval.decided',
      'approval.reminded',
      'approval.escalated',
      'approval.expired',
      'approval.slack_failed',
    ])
      expect(
        approvals.some((x) => x.audits.includes(action)),
        `approvals: ${action}`,
      ).toBe(true);

    for (const patch of Object.values(APPROVAL_PATCHES))
      expect(
        approvals.some((x) => x.patches.includes(patch)),
        `approvals: ${patch}`,
      ).toBe(true);

    const tickets = of('ticketWorkflow').map((f) => exercised(f.events));
    expect(
      tickets.some((x) => x.patches.includes(TICKET_PATCHES.leanBookkeeping)),
      `tickets: ${TICKET_PATCHES.leanBookkeeping}`,
    ).toBe(true);

    const responses = of('slackResponseWorkflow').map((f) => exercised(f.events));
    expect(responses.some((x) => x.activities.includes('lookupSubjectStatus'))).toBe(true);
    expect(
      responses.some((x) => x.activities.includes('openSlackView') && x.activities.includes('respondToSlack')),
    ).toBe(true);
  });

  it('a history that took a patched branch does not replay as if unpatched (the marker is what decides)', async () => {
    const canFixture = (await fixtures()).find(
      (f) => f.type === 'paymentLifecycleWorkflow' && exercised(f.events).continuedAsNew,
    )!;
    const renamed = structuredClone(canFixture.events);
    for (const e of renamed) {
      const p = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0];
      if (!p?.data) continue;
      const data = JSON.parse(Buffer.from(p.data).toString('utf8')) as { id: string };
      if (data.id === CONTINUE_AS_NEW_IN_WAIT_PATCH)
        p.data = Buffer.from(JSON.stringify({ ...data, id: 'some-other-change' }));
    }
    await expect(
      Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, { events: renamed }),
    ).rejects.toThrow(/[Nn]ondetermin/);
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

      // Each completed workflow task names the code that ran it: the worker's build id.
      const completed = (history.events ?? []).flatMap((e) =>
        e.workflowTaskCompletedEventAttributes ? [e.workflowTaskCompletedEventAttributes] : [],
      );
      expect(completed.length).toBeGreaterThan(0);
      for (const c of completed) expect(JSON.stringify(c)).toContain(workflowBuildId(bundle));

      // Rename the scheduled activity in the recorded history: replay must refuse it.
      const tampered = structuredClone(history);
      const scheduled = tampered.events?.find((e) => e.activityTaskScheduledEventAttributes);
      scheduled!.activityTaskScheduledEventAttributes!.activityType = { name: 'someOtherActivity' };
      await expect(Worker.runReplayHistory(replay, tampered)).rejects.toThrow(/[Nn]ondetermin/);
    });
  });
});
