import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { expect } from 'vitest';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../../emulators/slack/admin-client.js';
import type { TestStack } from '../../../helpers/stack.js';
import { testDataConverter } from '../../../helpers/temporal.js';
import type { ReportRunRow } from '../../../../src/flows/reports/repo.js';

/** A window as `GET /v1/reports/:id/runs` lists it. */
export type RunView = ReportRunRow;

/** Real HTTP into the API, the Slack emulator to read what was posted, Temporal to wait for runs. */
export async function reportsHarness(stack: TestStack) {
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const api = stack.urls.api;
  const auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };
  const connection = await Connection.connect({ address: stack.urls.temporal });
  const temporal = new Client({ connection, dataConverter: testDataConverter() });

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${api}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function ok<T = Record<string, unknown>>(res: Response, status = 200): Promise<T> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    return JSON.parse(text) as T;
  }

  const created: string[] = [];
  async function create(def: Record<string, unknown>): Promise<string> {
    const r = await ok<{ reportId: string }>(await call('POST', '/v1/reports', def), 201);
    created.push(r.reportId);
    return r.reportId;
  }

  async function push(dataset: string, records: unknown[]) {
    for (let i = 0; i < records.length; i += 1000)
      await ok(await call('POST', `/v1/datasets/${dataset}/records`, { records: records.slice(i, i + 1000) }));
  }

  async function runs(id: string): Promise<RunView[]> {
    return (await ok<{ items: RunView[] }>(await call('GET', `/v1/reports/${id}/runs?limit=100`))).items;
  }

  /** Waits for `n` finished runs, then for each run's workflow to close (effects are counted after that). */
  async function finishedRuns(id: string, n: number, timeoutMs = 60_000): Promise<RunView[]> {
    const done = await slack.waitFor(async () => {
      const rs = await runs(id);
      return rs.filter((r) => r.status !== 'running').length >= n ? rs : undefined;
    }, timeoutMs);
    for (const r of done) await temporal.workflow.getHandle(r.workflowId).result();
    return done;
  }

  /**
   * Every run the report's schedule started (scheduled, triggered, backfilled: its recent actions),
   * once at least `n` exist, each awaited until its workflow closed.
   */
  async function scheduleRuns(id: string, n: number, timeoutMs = 60_000) {
    const handle = temporal.schedule.getHandle(`report:${id}`);
    const actions = await slack.waitFor(async () => {
      // A describe that times out on a loaded server is asked again (the wait itself is bounded).
      const d = await handle.describe().catch(() => undefined);
      return d && d.info.recentActions.length >= n ? d.info.recentActions : undefined;
    }, timeoutMs);
    return Promise.all(
      actions.map(async (a) => ({
        workflowId: a.action.workflow.workflowId,
        // A window backfilled again reuses the run's workflow id: read each run by its own run id.
        result: (await temporal.workflow
          .getHandle(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId)
          .result()) as { outcome: string },
      })),
    );
  }

  /** Top-level messages of one report in a channel (by the subject our posts carry in metadata). */
  async function digests(channel: string, id: string): Promise<InspectedMessage[]> {
    return (await slack.channelMessages(channel)).filter(
      (m) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === `report:${id}`,
    );
  }

  const dataset = () => `ds_${randomUUID().slice(0, 8)}`;

  return {
    slack,
    temporal,
    call,
    ok,
    create,
    push,
    runs,
    finishedRuns,
    scheduleRuns,
    digests,
    dataset,
    /** Deletes every report this file created (their schedules live in the shared dev server) and disconnects. */
    async close() {
      for (const id of created) await call('DELETE', `/v1/reports/${id}`).catch(() => undefined);
      await connection.close();
    },
  };
}

/** What a person sees of a message (text plus blocks). */
export const seen = (m: InspectedMessage) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`;
