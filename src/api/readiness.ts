import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

// CommonJS package: named ESM imports fail under plain node (tsx hides that).
const { temporal } = proto;
import { pendingMigrations } from '../platform/db/migrate.js';
import type { Pool } from '../platform/db/pool.js';
import { createBudget } from '../platform/http/budget.js';
import type { RelayStats } from '../platform/relay/relay.js';

export type CheckResult = { ok: true; detail?: string } | { ok: false; error: string };
export type Readiness = () => Promise<Record<string, CheckResult>>;

/** Each check's bound: a probe must answer before an orchestrator's own probe timeout gives up on it. */
const CHECK_TIMEOUT_MS = 2_000;

async function check(fn: () => Promise<string | undefined>, what: string): Promise<CheckResult> {
  try {
    const detail = await createBudget(CHECK_TIMEOUT_MS).within(what, fn());
    return detail === undefined ? { ok: true } : { ok: true, detail };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message.slice(0, 300) : String(err) };
  }
}

/**
 * /readyz: Temporal reachable, Postgres reachable, migrations applied, a worker polling our task
 * queue (seen by the server within the last minute), so "ready" means work will actually run, and
 * (with `relay`) the relay not stuck: a delivery acked but not handed off for longer than
 * `stuckAfterMs` while Temporal answers means no relay is sending (or every call fails).
 */
export function createReadiness(deps: {
  client: Client;
  pool: Pool;
  namespace: string;
  taskQueue: string;
  migrationDirs: string[];
  relay?: { stats(): Promise<RelayStats>; lastError(): string | undefined; stuckAfterMs: number };
}): Readiness {
  // A gRPC deadline too, so a check abandoned at its bound also stops retrying on its own.
  const bounded = <T>(fn: () => Promise<T>) => deps.client.withDeadline(Date.now() + CHECK_TIMEOUT_MS, fn);
  return async (): Promise<Record<string, CheckResult>> => {
    const [temporalCheck, postgres, migrations, worker] = await Promise.all([
      check(async () => {
        await bounded(() => deps.client.workflowService.getSystemInfo({}));
        return undefined;
      }, 'temporal'),
      check(async () => {
        await deps.pool.query('SELECT 1');
        return undefined;
      }, 'postgres'),
      check(async () => {
        const pending = await pendingMigrations(deps.pool, deps.migrationDirs);
        if (pending.length > 0) throw new Error(`pending migrations: ${pending.join(', ')}`);
        return undefined;
      }, 'migrations'),
      check(async () => {
        const res = await bounded(() =>
          deps.client.workflowService.describeTaskQueue({
            namespace: deps.namespace,
            taskQueue: { name: deps.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          }),
        );
        const recent = (res.pollers ?? []).filter((p) => {
          const s = Number(p.lastAccessTime?.seconds ?? 0);
          return Date.now() / 1000 - s < 60;
        });
        if (recent.length === 0) throw new Error(`no worker is polling task queue ${deps.taskQueue}`);
        return `${recent.length} poller(s)`;
      }, 'worker'),
    ]);
    const relay = deps.relay;
    if (!relay) return { temporal: temporalCheck, postgres, migrations, worker };
    const relayCheck = await check(async () => {
      const s = await relay.stats();
      const oldest = `${s.backlog} queued, oldest ${Math.round(s.oldestMs / 1000)}s`;
      // With Temporal down the backlog is expected (and the temporal check already says so).
      if (s.oldestMs > relay.stuckAfterMs && temporalCheck.ok) {
        const last = relay.lastError();
        throw new Error(
          `relay stuck: ${oldest} (over ${relay.stuckAfterMs / 1000}s)${last ? `; last error: ${last}` : ''}`,
        );
      }
      return oldest;
    }, 'relay');
    return { temporal: temporalCheck, postgres, migrations, worker, relay: relayCheck };
  };
}
