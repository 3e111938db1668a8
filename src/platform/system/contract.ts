import { defineQuery } from '@temporalio/workflow';

/** Input of `pingWorkflow`: a trivial round trip through Temporal and Postgres (smoke test, /v1/system/ping). */
export interface PingInput {
  id: string;
  requestedBy: string;
}

export interface PingResult {
  id: string;
  workflowId: string;
  /** True when the audit row was written by this run (false if an earlier attempt already had). */
  auditWritten: boolean;
  completedAt: string;
}

/** Wire name `pingStatus`. */
export const pingStatusQuery = defineQuery<'started' | 'audited'>('pingStatus');

export const pingWorkflowId = (id: string): string => `ping:${id}`;
