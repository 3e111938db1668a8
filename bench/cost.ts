import { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../src/platform/config/index.js';
import { connectClient } from '../src/platform/temporal/connection.js';
import { percentile } from './stats.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What one workflow run cost the Temporal server, counted from its recorded history. */
export interface RunCost {
  /** Activities the server scheduled, dispatched and recorded (three events and a task each). */
  activities: number;
  /** Local activities (one marker each; no server task of their own). */
  localActivities: number;
  /** Workflow tasks completed: each is a poll, a history write and a sticky-cache round trip. */
  workflowTasks: number;
  events: number;
  byType: Record<string, number>;
}

/** Counts a history's activities, local activities and workflow tasks (by event type, not by reading code). */
export function costOf(events: HistoryEvent[]): RunCost {
  const byType: Record<string, number> = {};
  let localActivities = 0;
  let workflowTasks = 0;
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) byType[scheduled] = (byType[scheduled] ?? 0) + 1;
    if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      localActivities++;
      byType['(local)'] = (byType['(local)'] ?? 0) + 1;
    }
    if (e.workflowTaskCompletedEventAttributes) workflowTasks++;
  }
  const activities = Object.entries(byType)
    .filter(([k]) => k !== '(local)')
    .reduce((n, [, v]) => n + v, 0);
  return { activities, localActivities, workflowTasks, events: events.length, byType };
}

/** Median cost per lifecycle over `workflowIds` (their current runs), read from the real histories. */
export async function medianCost(input: {
  config: Config;
  address: string;
  workflowIds: readonly string[];
}): Promise<RunCost & { n: number }> {
  const connection = await connectClient(input.config.temporal, input.address);
  try {
    const client = new Client({ connection, namespace: input.config.temporal.namespace });
    const costs: RunCost[] = [];
    for (const id of input.workflowIds) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      costs.push(costOf(history.events ?? []));
    }
    const med = (f: (c: RunCost) => number) => percentile(costs.map(f), 50);
    const types = [...new Set(costs.flatMap((c) => Object.keys(c.byType)))].sort();
    return {
      n: costs.length,
      activities: med((c) => c.activities),
      localActivities: med((c) => c.localActivities),
      workflowTasks: med((c) => c.workflowTasks),
      events: med((c) => c.events),
      byType: Object.fromEntries(types.map((t) => [t, med((c) => c.byType[t] ?? 0)])),
    };
  } finally {
    await connection.close();
  }
}

/**
 * Why a lifecycle the bench waited for is stuck, from its history: how many workflow tasks timed
 * out or failed (a worker that lost its task lease, e.g. to a local activity outliving the task),
 * activities that timed out, and the last few event types. Read-only; never throws.
 */
export async function describeStuck(input: { config: Config; address: string; workflowId: string }): Promise<string> {
  const connection = await connectClient(input.config.temporal, input.address).catch(() => undefined);
  if (!connection) return 'history unavailable (no connection)';
  try {
    const client = new Client({ connection, namespace: input.config.temporal.namespace });
    const events = (await client.workflow.getHandle(input.workflowId).fetchHistory()).events ?? [];
    const count = (k: keyof HistoryEvent) => events.filter((e) => e[k]).length;
    const tail = events.slice(-6).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? '?');
    return [
      `${events.length} events`,
      `workflow tasks timed out ${count('workflowTaskTimedOutEventAttributes')}`,
      `failed ${count('workflowTaskFailedEventAttributes')}`,
      `activities timed out ${count('activityTaskTimedOutEventAttributes')}`,
      `last: ${tail.map((t) => t.replace(/EventAttributes$/, '')).join(', ')}`,
    ].join('; ');
  } catch (err) {
    return `history unavailable (${(err as Error).message})`;
  } finally {
    await connection.close();
  }
}

/** One line: `activities 9 (+0 local), workflow tasks 8, events 52 — recordAudit 3, …`. */
export function fmtCost(c: RunCost): string {
  const types = Object.entries(c.byType)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `activities ${c.activities} (+${c.localActivities} local), workflow tasks ${c.workflowTasks}, events ${c.events} — ${types}`;
}
