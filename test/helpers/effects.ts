import { Client, Connection, type WorkflowExecutionDescription } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import { THREADLINE_POST_EVENT_TYPE } from '../../src/platform/slack/contract.js';

/**
 * What a lifecycle actually did, read once its workflow is idle or closed: the posts the Slack
 * emulator holds for its subject (with their idempotency keys), the activities its history
 * scheduled, and Prometheus counters. "Exactly once" assertions count these; a row written with
 * `ON CONFLICT … DO NOTHING` or the first match of a `waitFor` can never show a duplicate.
 */

/**
 * A Temporal client for reading workflow state and history in a test (close it in afterAll). Give
 * it the stack's data converter when the stack encodes payloads, so it reads what the worker wrote.
 */
export async function temporalReader(
  address: string,
  dataConverter?: DataConverter,
): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, dataConverter }), close: () => connection.close() };
}

/**
 * Resolves once the workflow can do nothing more by itself: closed, or running with no pending
 * activity (retries in backoff count as pending) and no pending workflow task, so it waits only on
 * a timer or a signal. Call it after every input of the scenario has been accepted (their HTTP
 * answers received); then counts of effects are final until the next timer fires.
 */
export async function waitForIdle(
  client: Client,
  workflowId: string,
  timeoutMs = 30_000,
): Promise<WorkflowExecutionDescription> {
  const deadline = Date.now() + timeoutMs;
  const handle = client.workflow.getHandle(workflowId);
  for (;;) {
    const d = await handle.describe();
    const idle =
      d.status.name !== 'RUNNING' || ((d.raw.pendingActivities?.length ?? 0) === 0 && !d.raw.pendingWorkflowTask);
    if (idle) return d;
    if (Date.now() > deadline) throw new Error(`waitForIdle: ${workflowId} still busy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** History events of the workflow's latest run. */
export async function historyOf(client: Client, workflowId: string) {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

type HistoryEvent = Awaited<ReturnType<typeof historyOf>>[number];

/** When the server recorded a history event (epoch ms). */
export const eventTimeMs = (e: HistoryEvent): number => tsToMs(e.eventTime);

/** The (only) argument the latest run was started with, decoded with the client's data converter. */
export async function startInputOf<T>(client: Client, workflowId: string): Promise<T> {
  const [started] = await historyOf(client, workflowId);
  return decodeFromPayloadsAtIndex<T>(
    client.options.loadedDataConverter,
    0,
    started?.workflowExecutionStartedEventAttributes?.input?.payloads,
  );
}

/** Durations of the timers the latest run started, in ms, oldest first. */
export async function timerDurationsMs(client: Client, workflowId: string): Promise<number[]> {
  return (await historyOf(client, workflowId))
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout)
    .filter((t) => t !== undefined && t !== null)
    .map((t) => tsToMs(t));
}

export interface ScheduledActivity {
  type: string;
  /** The activity's first (and, by house style, only) argument, decoded with the client's data converter. */
  input: Record<string, unknown>;
}

/** Every activity the latest run scheduled, in order (retries are attempts of one scheduled activity, not new ones). */
export async function scheduledActivities(client: Client, workflowId: string): Promise<ScheduledActivity[]> {
  const events = await historyOf(client, workflowId);
  const out: ScheduledActivity[] = [];
  for (const e of events) {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) continue;
    const input = await decodeFromPayloadsAtIndex<Record<string, unknown>>(
      client.options.loadedDataConverter,
      0,
      a.input?.payloads,
    );
    out.push({ type: a.activityType?.name ?? '?', input });
  }
  return out;
}

/** Counts values; `repeated` lists those seen more than once (an empty list is the "exactly once" proof). */
export function tally(values: string[]): { counts: Record<string, number>; repeated: [string, number][] } {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return { counts, repeated: Object.entries(counts).filter(([, n]) => n > 1) };
}

/** Idempotency keys of the `postSlackMessage` activities a run scheduled (one per post the workflow decided). */
export async function scheduledPostKeys(client: Client, workflowId: string): Promise<string[]> {
  return (await scheduledActivities(client, workflowId))
    .filter((a) => a.type === 'postSlackMessage')
    .map((a) => String(a.input.idempotencyKey));
}

export interface EmulatorPost {
  channel: string;
  ts: string;
  threadTs?: string;
  key: string;
  text: string;
}

/**
 * Every message (top-level and thread replies, in every channel and DM) the Slack emulator holds
 * for `subject`, recognised by the metadata Threadline stamps on each post.
 */
export async function postsFor(slack: SlackEmulatorAdmin, subject: string): Promise<EmulatorPost[]> {
  const channels = await slack.channels();
  const posts: EmulatorPost[] = [];
  for (const c of channels) {
    for (const top of await slack.channelMessages(String(c.id))) {
      for (const m of [top, ...(top.replies ?? [])]) {
        const payload = m.metadata?.event_payload as { subject?: string; idempotency_key?: string } | undefined;
        if (m.metadata?.event_type !== THREADLINE_POST_EVENT_TYPE || payload?.subject !== subject) continue;
        posts.push({
          channel: String(c.id),
          ts: m.ts,
          ...(m.thread_ts && m.thread_ts !== m.ts ? { threadTs: m.thread_ts } : {}),
          key: payload.idempotency_key ?? '',
          text: m.text,
        });
      }
    }
  }
  return posts;
}

/** The value of one Prometheus counter sample (0 when the series does not exist yet). */
export async function counterValue(apiUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (want.every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}
