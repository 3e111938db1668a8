import type { Client } from '@temporalio/client';
import { Gauge, type Registry } from 'prom-client';

/** A scrape reuses the last counts for this long: visibility is asked at most once per window. */
export const OPEN_LIFECYCLES_TTL_MS = 30_000;
/** One scrape waits this long for visibility; past it, the last counts (or none) are exported. */
export const OPEN_LIFECYCLES_DEADLINE_MS = 2_000;

/**
 * `threadline_open_lifecycles{kind}`: running lifecycles of this app's task queue by kind, read
 * from Temporal visibility (`ThreadlineKind`, one count per kind) when `/metrics` is scraped,
 * never per request. Counts are cached for `ttlMs` and each refresh is bounded by `deadlineMs`;
 * a refresh that fails keeps the previous values and sets `threadline_open_lifecycles_up` to 0.
 */
export function registerOpenLifecycles(deps: {
  registry: Registry;
  temporal: Client;
  taskQueue: string;
  /** Every lifecycle kind the app runs (the flows' `kinds`). */
  kinds: readonly string[];
  ttlMs?: number;
  deadlineMs?: number;
  now?: () => number;
}): void {
  const ttlMs = deps.ttlMs ?? OPEN_LIFECYCLES_TTL_MS;
  const deadlineMs = deps.deadlineMs ?? OPEN_LIFECYCLES_DEADLINE_MS;
  const now = deps.now ?? Date.now;
  let last: { atMs: number; counts: Map<string, number> } | undefined;
  let inFlight: Promise<void> | undefined;
  let up = 0;

  const refresh = async () => {
    const counts = new Map<string, number>();
    await deps.temporal.connection.withDeadline(now() + deadlineMs, async () => {
      for (const kind of deps.kinds) {
        const r = await deps.temporal.workflow.count(
          `TaskQueue = '${deps.taskQueue}' AND ExecutionStatus = 'Running' AND ThreadlineKind = '${kind}'`,
        );
        counts.set(kind, r.count);
      }
    });
    return counts;
  };
  /** Both gauges of one scrape wait for the same refresh (prom-client collects them concurrently). */
  const fresh = (): Promise<void> => {
    if (last && now() - last.atMs < ttlMs) return inFlight ?? Promise.resolve();
    inFlight ??= refresh()
      .then(
        (counts) => {
          last = { atMs: now(), counts };
          up = 1;
        },
        () => {
          // Keep the previous counts; the next try waits a window too, so a dead visibility costs
          // one bounded call per window, not one per scrape.
          last = { atMs: now(), counts: last?.counts ?? new Map<string, number>() };
          up = 0;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  for (const name of ['threadline_open_lifecycles', 'threadline_open_lifecycles_up'])
    if (deps.registry.getSingleMetric(name)) deps.registry.removeSingleMetric(name);
  new Gauge({
    name: 'threadline_open_lifecycles',
    help: 'Running lifecycles by kind (Temporal visibility, cached per scrape window)',
    labelNames: ['kind'] as const,
    registers: [deps.registry],
    async collect() {
      await fresh();
      this.reset();
      for (const [kind, n] of last?.counts ?? []) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'threadline_open_lifecycles_up',
    help: 'Whether the last read of open lifecycles from Temporal visibility succeeded',
    registers: [deps.registry],
    async collect() {
      await fresh();
      this.set(up);
    },
  });
}
