/** Who caused a transition. */
export interface Actor {
  kind: 'user' | 'system' | 'provider' | 'slack_user' | 'jira_user' | 'api_client';
  id?: string;
}

/**
 * One row of the append-only audit trail (input of the `recordAudit` activity).
 * `idempotencyKey` is derived from the workflow id and step, so an activity retry writes once.
 */
export interface AuditEntry {
  subject: string;
  action: string;
  actor: Actor;
  sourceSystem?: string;
  targetSystem?: string;
  before?: unknown;
  after?: unknown;
  ruleId?: string;
  ruleVersion?: string;
  workflowId?: string;
  runId?: string;
  outcome?: 'ok' | 'failed' | 'skipped';
  details?: Record<string, unknown>;
  idempotencyKey: string;
  /**
   * `business` (default): something a person or a lifecycle did. `maintenance`: a repair or check
   * the system made on its own (reconciliation), kept apart so the trail shows which is which.
   */
  category?: 'business' | 'maintenance';
  /** Ties the rows of one decision or request together (e.g. a routing decision's id). */
  correlationId?: string;
  /** ISO time of the transition (workflow time); defaults to the insert time. */
  occurredAt?: string;
}
