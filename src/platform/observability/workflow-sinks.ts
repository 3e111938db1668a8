import type { InjectedSinks } from '@temporalio/worker';
import type { PlatformSinks } from '../temporal/workflow/metrics.js';
import type { Metrics } from './metrics.js';

/**
 * The worker side of the platform's workflow sinks: counters on this process's registry. Not
 * called during replay, so a lifecycle replayed after a restart is not counted again.
 */
export function platformSinks(metrics: Metrics): InjectedSinks<PlatformSinks> {
  return {
    threadlineMetrics: {
      escalated: { fn: (_info, kind) => metrics.escalations.inc({ kind }), callDuringReplay: false },
    },
  };
}
