import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { decodePayloadsIn } from '../../src/platform/temporal/codec.js';
import { testCodec } from './temporal.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One run of a workflow chain (continue-as-new links them), oldest first. */
export interface Run {
  runId: string;
  events: HistoryEvent[];
}

/** One run's events (the latest run of the handle's id unless it names a run), payloads decoded through the codec. */
export async function eventsOf(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return (await decodePayloadsIn(await handle.fetchHistory(), testCodec())).events ?? [];
}

/** The JSON value of a payload that was already decoded (see `eventsOf`). */
export function payloadJSON(p: { data?: Uint8Array | null } | undefined | null): unknown {
  return p?.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined;
}

/** Every run of `workflowId`, oldest first, following `continuedExecutionRunId` back from the latest. */
export async function runsOf(client: Client, workflowId: string): Promise<Run[]> {
  const runs: Run[] = [];
  let runId: string | undefined;
  for (;;) {
    const events = await eventsOf(client.workflow.getHandle(workflowId, runId));
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    const thisRun = runId ?? (await client.workflow.getHandle(workflowId).describe()).runId;
    runs.unshift({ runId: thisRun, events });
    runId = started?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

/** Activity types scheduled in `events`, in order. */
export function scheduledActivities(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    return a?.activityType?.name ? [a.activityType.name] : [];
  });
}

/** Activity types of the local activities recorded in `events` (their markers), in order. */
export function localActivities(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_local_activity') return [];
    const data = payloadJSON(m.details?.data?.payloads?.[0]) as { activity_type?: string } | undefined;
    return data?.activity_type ? [data.activity_type] : [];
  });
}

/** Inputs of every scheduled activity of `type`, decoded. */
export function activityInputs<T>(events: HistoryEvent[], type: string): T[] {
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    return a?.activityType?.name === type ? [payloadJSON(a.input?.payloads?.[0]) as T] : [];
  });
}

/** Signals named `name` in `events`, with their decoded first argument. */
export function signalArgs<T>(events: HistoryEvent[], name: string): T[] {
  return events.flatMap((e) => {
    const a = e.workflowExecutionSignaledEventAttributes;
    return a?.signalName === name ? [payloadJSON(a.input?.payloads?.[0]) as T] : [];
  });
}

/**
 * The Slack thread events signalled in these events, in order: each `slackThreadEvent`'s and each
 * of a `slackThreadEvents` batch's (the relay sends a thread's backlog as one batch signal).
 */
export function threadEventArgs<T>(events: HistoryEvent[]): T[] {
  return events.flatMap((e) => {
    const a = e.workflowExecutionSignaledEventAttributes;
    if (a?.signalName === 'slackThreadEvent') return [payloadJSON(a.input?.payloads?.[0]) as T];
    if (a?.signalName === 'slackThreadEvents') return payloadJSON(a.input?.payloads?.[0]) as T[];
    return [];
  });
}

/** Patch ids recorded as markers (the run took the patched branch). */
export function patchMarkers(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') return [];
    const id = payloadJSON(m.details?.['patch-data']?.payloads?.[0]) as { id?: string } | undefined;
    return id?.id ? [id.id] : [];
  });
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;

/** Event time in epoch ms. */
export const eventTimeMs = (e: HistoryEvent): number => ms(e.eventTime);

/**
 * When each timer started in `events` is due, as the workflow meant it: the time of the workflow
 * task that started it (the workflow's `Date.now()`) plus its duration, in epoch ms. Not the
 * TimerStarted event's time: that is when the task completed, which a loaded worker can make
 * seconds later (the server then fires that much later: `firesAtMs`).
 */
export function timerDeadlines(
  events: HistoryEvent[],
): { timerId: string; dueAtMs: number; firesAtMs: number; fired: boolean }[] {
  const fired = new Set(
    events.flatMap((e) => (e.timerFiredEventAttributes ? [e.timerFiredEventAttributes.timerId] : [])),
  );
  let taskTime: number | undefined;
  return events.flatMap((e) => {
    if (e.workflowTaskStartedEventAttributes) taskTime = eventTimeMs(e);
    const t = e.timerStartedEventAttributes;
    if (!t?.timerId) return [];
    const duration = ms(t.startToFireTimeout);
    const firesAtMs = eventTimeMs(e) + duration;
    return [
      { timerId: t.timerId, dueAtMs: (taskTime ?? eventTimeMs(e)) + duration, firesAtMs, fired: fired.has(t.timerId) },
    ];
  });
}

/**
 * Waits until the workflow has nothing in flight: no workflow task and no activity pending, seen
 * twice in a row (a signal between two polls would show as a pending task). Counting effects
 * before this point could miss a duplicate that is still on its way.
 */
export async function waitIdle(handle: WorkflowHandle, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    const d = await handle.describe();
    const raw = d.raw;
    const closed = d.status.name !== 'RUNNING';
    quiet = closed || (!raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0) ? quiet + 1 : 0;
    if (closed) return;
    if (Date.now() > deadline) throw new Error(`waitIdle: ${handle.workflowId} still busy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
