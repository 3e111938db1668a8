import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    slackParkedEvents: new Counter({
      name: 'threadline_slack_parked_events_total',
      help: 'Slack thread events whose root is ours but not recorded yet, by outcome (parked, duplicate, full, released, unreadable, expired)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    externalCalls: new Counter({
      name: 'threadline_external_calls_total',
      help: 'Calls to Slack/Jira/callbacks by system, method and outcome (ok, rate_limited, transient, permanent)',
      labelNames: ['system', 'method', 'outcome'] as const,
      registers: [registry],
    }),
    externalCallDuration: new Histogram({
      name: 'threadline_external_call_duration_seconds',
      help: 'Latency of calls to Slack/Jira by system, method and outcome',
      labelNames: ['system', 'method', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    externalCallErrors: new Counter({
      name: 'threadline_external_call_errors_total',
      help: "Failed calls to Slack/Jira by system, method and the platform's error code (ratelimited, http_503, channel_not_found, …)",
      labelNames: ['system', 'method', 'code'] as const,
      registers: [registry],
    }),
    slackRetries: new Counter({
      name: 'threadline_slack_retries_total',
      help: 'Slack redeliveries received (x-slack-retry-num, x-slack-retry-reason): each one is a first delivery we did not acknowledge in time',
      labelNames: ['reason', 'num'] as const,
      registers: [registry],
    }),
    ackBudgetExceeded: new Counter({
      name: 'threadline_ack_budget_exceeded_total',
      help: 'Webhook requests answered 503 because a dependency did not answer within the request budget, by source and step',
      labelNames: ['source', 'step'] as const,
      registers: [registry],
    }),
    unackedRequests: new Counter({
      name: 'threadline_unacked_requests_total',
      help: 'Webhook requests still unanswered when the ack watchdog fired (Slack had already given up on them)',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    slackFollowUps: new Counter({
      name: 'threadline_slack_follow_ups_total',
      help: 'Answers to a click started after its update (in_time, after_ack when they missed the budget, failed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    statusLookups: new Counter({
      name: 'threadline_status_lookups_total',
      help: '/threadline status answers (answered, answered_from_audit, refused, not_found); refused and not_found look the same to the person',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    slackInstallations: new Counter({
      name: 'threadline_slack_installation_events_total',
      help: 'Slack installation changes: installed, reinstalled, revoked (app_uninstalled / tokens_revoked), user_tokens_revoked, install_failed',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    slackPostAs: new Counter({
      name: 'threadline_slack_post_as_total',
      help: "Posts meant to be made as a connected person (SLACK_POST_AS): posted as the person, fell back to the bot (reason: no_user_token, or Slack's code), or an edit their dead token refused (update_refused)",
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    slackTokenRotations: new Counter({
      name: 'threadline_slack_token_rotations_total',
      help: 'Rotating Slack tokens refreshed (rotated), refused for good (failed) or to be retried (transient)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    socketModeConnections: new Counter({
      name: 'threadline_socket_mode_connection_events_total',
      help: 'Socket Mode connection events: connected, reconnecting, disconnected, and disconnect frames by reason',
      labelNames: ['event', 'reason'] as const,
      registers: [registry],
    }),
    socketModeEnvelopes: new Counter({
      name: 'threadline_socket_mode_envelopes_total',
      help: 'Socket Mode envelopes by type and outcome (acked, not_acked: left for Slack to redeliver, ack_failed)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    pacingQueueDepth: new Gauge({
      name: 'threadline_slack_pacing_queue_depth',
      help: 'Slack posts in this process waiting for their per-channel slot (src/platform/pacing)',
      registers: [registry],
    }),
    pacingWaitSeconds: new Histogram({
      name: 'threadline_slack_pacing_wait_seconds',
      help: 'How long an admitted Slack post waited for its per-channel slot',
      buckets: [0, 0.25, 0.5, 1, 2, 4, 8, 12],
      registers: [registry],
    }),
    pacingDeferrals: new Counter({
      name: 'threadline_slack_pacing_deferrals_total',
      help: 'Slack post attempts deferred because the channel queue was longer than one attempt may wait (retried later)',
      registers: [registry],
    }),
    // ─── The relay (src/platform/relay): recorded deliveries handed to Temporal after the ack ───
    relayLag: new Histogram({
      name: 'threadline_relay_lag_seconds',
      help: 'From a delivery recorded (acked) to it handed off to its workflow by the relay, by source',
      labelNames: ['source'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    relayHandOffs: new Counter({
      name: 'threadline_relay_handoffs_total',
      help: 'Relay attempts by source and outcome (handed_off, ignored: lifecycle ended, retry: Temporal unavailable, failed: can never succeed)',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    relayCalls: new Counter({
      name: 'threadline_relay_calls_total',
      help: "Temporal calls the relay made: rows=one (one delivery) or rows=batch (a batch signal carrying a subject's backlog)",
      labelNames: ['rows'] as const,
      registers: [registry],
    }),
    relayBatchedRows: new Counter({
      name: 'threadline_relay_batched_rows_total',
      help: 'Deliveries handed off inside batch signals (with threadline_relay_calls_total{rows="batch"}: the mean batch size)',
      registers: [registry],
    }),
    relayBacklog: new Gauge({
      name: 'threadline_relay_backlog',
      help: 'Deliveries recorded but not yet handed off (this deployment)',
      registers: [registry],
    }),
    relayOldest: new Gauge({
      name: 'threadline_relay_oldest_unrelayed_seconds',
      help: 'Age of the oldest delivery recorded but not yet handed off (0 when none)',
      registers: [registry],
    }),
    auditWrites: new Counter({
      name: 'threadline_audit_writes_total',
      help: 'Audit rows written',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    // Issue 15: escalations (counted by flows through the platform's workflow sink), deliveries
    // refused by reason, Jira write pacing.
    escalations: new Counter({
      name: 'threadline_escalations_total',
      help: 'Escalations fired, by lifecycle kind (SLA passed, policy step, Escalate pressed)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    inboundRejected: new Counter({
      name: 'threadline_inbound_rejected_total',
      help: 'Inbound deliveries refused with a 4xx, by route and the error code answered (invalid_signature, stale_timestamp, invalid_json, …)',
      labelNames: ['route', 'reason', 'status'] as const,
      registers: [registry],
    }),
    jiraPacingDeferrals: new Counter({
      name: 'threadline_jira_pacing_deferrals_total',
      help: 'Jira call attempts deferred because the issue (or the site, after a 429) was booked further out than one attempt may wait',
      labelNames: ['target'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A counter owned by the code that counts (a flow, the ops reporter), registered on the process's
 * registry once: several workers (tests, the dev stack) may compose their activities on one
 * registry, and the second gets the first's counter.
 */
export function registeredCounter<L extends string>(
  registry: Registry,
  opts: { name: string; help: string; labelNames: readonly L[] },
): Counter<L> {
  return (
    (registry.getSingleMetric(opts.name) as Counter<L> | undefined) ??
    new Counter({ name: opts.name, help: opts.help, labelNames: opts.labelNames, registers: [registry] })
  );
}
