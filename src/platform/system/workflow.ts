import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createAuditActivities } from '../audit/activities.js';
import { DB_ACTIVITY_OPTIONS } from '../temporal/workflow/presets.js';
import { pingStatusQuery, type PingInput, type PingResult } from './contract.js';

const { recordAudit } = proxyActivities<ReturnType<typeof createAuditActivities>>(DB_ACTIVITY_OPTIONS);

/** Records one audit row and returns: proves worker, Temporal and Postgres are wired together. */
export async function pingWorkflow(input: PingInput): Promise<PingResult> {
  let status: 'started' | 'audited' = 'started';
  setHandler(pingStatusQuery, () => status);
  const info = workflowInfo();
  const auditWritten = await recordAudit({
    subject: `ping:${input.id}`,
    action: 'ping',
    actor: { kind: 'api_client', id: input.requestedBy },
    workflowId: info.workflowId,
    runId: info.runId,
    idempotencyKey: `${info.workflowId}:ping`,
    occurredAt: new Date(Date.now()).toISOString(),
  });
  status = 'audited';
  return { id: input.id, workflowId: info.workflowId, auditWritten, completedAt: new Date(Date.now()).toISOString() };
}
