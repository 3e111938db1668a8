import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ServiceError,
  type Client,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';

/** gRPC status INVALID_ARGUMENT (the SDK's transport is not a dependency of ours). */
const GRPC_INVALID_ARGUMENT = 3;

/**
 * Temporal Schedules as the API uses them (creating, updating and deleting them is an API-side
 * concern: the worker only runs what they start).
 */

/**
 * Why the server refused a schedule's spec (a cron expression it cannot parse, an unknown time
 * zone), or undefined when the error is something else. The SDK turns "Invalid schedule spec"
 * answers into a TypeError; other INVALID_ARGUMENT answers stay ServiceErrors.
 */
export function invalidScheduleSpec(err: unknown): string | undefined {
  if (err instanceof TypeError) return err.message.slice(0, 300);
  if (err instanceof ServiceError) {
    const cause = err.cause as { code?: number; details?: string } | undefined;
    if (cause?.code === GRPC_INVALID_ARGUMENT) return (cause.details ?? err.message).slice(0, 300);
  }
  return undefined;
}

export const isScheduleNotFound = (err: unknown): boolean => err instanceof ScheduleNotFoundError;

/**
 * Creates the schedule, or brings an existing one in line with `opts` (spec, action, policies).
 * Its paused state and note are kept unless `opts.state` says otherwise, so a paused report stays
 * paused through an edit. Safe to call at every start: the id is the schedule's identity.
 */
export async function upsertSchedule<W extends Workflow>(
  client: Client,
  opts: ScheduleOptions<ScheduleOptionsStartWorkflowAction<W>>,
): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create(opts);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(opts.scheduleId).update<W>((prev) => ({
    spec: opts.spec,
    action: opts.action,
    policies: opts.policies,
    state: {
      paused: opts.state?.paused ?? prev.state.paused,
      note: opts.state?.note ?? prev.state.note,
      remainingActions: opts.state?.remainingActions,
    },
  }));
  return 'updated';
}
