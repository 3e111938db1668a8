import { Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Logger } from '../platform/observability/logger.js';

let installed = false;

/**
 * Routes the Temporal SDK's logs into our pino logger (once per process: the Runtime is a
 * singleton). The SDK's own INFO chatter (state changes) goes to debug.
 */
export function installTemporalRuntime(
  logger: Logger,
  opts: {
    /** `host:port` for the SDK's Prometheus exporter (the worker's /metrics reads it); absent: no SDK metrics. */
    prometheusBindAddress?: string;
  } = {},
): void {
  if (installed) return;
  installed = true;
  const log = logger.child({ component: 'temporal-sdk' });
  const at = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const fn = level === 'ERROR' ? 'error' : level === 'WARN' ? 'warn' : level === 'INFO' ? 'debug' : 'trace';
    log[fn](meta ?? {}, message);
  };
  try {
    Runtime.install({
      // Entry points own signal handling and shut down in order (API first, then the worker).
      shutdownSignals: [],
      ...(opts.prometheusBindAddress
        ? {
            telemetryOptions: {
              metrics: {
                metricPrefix: 'temporal_',
                prometheus: {
                  bindAddress: opts.prometheusBindAddress,
                  countersTotalSuffix: true,
                  useSecondsForDurations: true,
                },
              },
            },
          }
        : {}),
      logger: {
        log: at,
        trace: (m, meta) => at('TRACE', m, meta),
        debug: (m, meta) => at('DEBUG', m, meta),
        info: (m, meta) => at('INFO', m, meta),
        warn: (m, meta) => at('WARN', m, meta),
        error: (m, meta) => at('ERROR', m, meta),
      },
    });
  } catch {
    // Already instantiated by an earlier Worker in this process: keep its logger.
  }
}
