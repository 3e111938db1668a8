import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process, passed down explicitly (no global default registry, so tests that
 * build several apps in one process do not collide).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'threadline_' });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'threadline_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    inboundEvents: new Counter({
      name: 'threadline_inbound_events_total',
      help: 'Webhook deliveries by source and outcome (handed_off, duplicate, ignored, rejected, failed)',
      labelNames: ['source', 'type', 'outcome'] as const,
      registers: [registry],
    }),
    externalCalls: new Counter({
      name: 'threadline_external_calls_total',
      help: 'Calls to Slack/Jira/callbacks by system, method and outcome (ok, rate_limited, transient, permanent)',
      labelNames: ['system', 'method', 'outcome'] as const,
      registers: [registry],
    }),
    auditWrites: new Counter({
      name: 'threadline_audit_writes_total',
      help: 'Audit rows written',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
