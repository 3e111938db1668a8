/**
 * Workflow-id builders: business keys make `signalWithStart` idempotent and let webhooks find
 * their lifecycle. History stores these strings: never change a format in place.
 */
export const pingWorkflowId = (id: string): string => `ping:${id}`;
export const paymentWorkflowId = (lifecycleId: string): string => `payment:${lifecycleId}`;
export const approvalWorkflowId = (approvalId: string): string => `approval:${approvalId}`;
export const ticketWorkflowId = (issueKey: string): string => `ticket:${issueKey}`;

/** Default task queue (overridable with TEMPORAL_TASK_QUEUE). */
export const DEFAULT_TASK_QUEUE = 'threadline';
