import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { ApprovalsConfig } from './config.js';
import { approvalWorkflowId, type ApprovalRequestSpec, type ApprovalWorkflowInput } from './contract.js';
import type { CreateModalRequest } from './domain/create-modal.js';
import type { approvalWorkflow } from './workflow.js';

/** A new approval id: opaque, URL- and Slack-safe. */
export function newApprovalId(): string {
  return `apr_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
}

/** The workflow's input: SLA defaults and runtime knobs from config (workflows never read config). */
export function approvalInput(a: ApprovalsConfig, request: ApprovalRequestSpec): ApprovalWorkflowInput {
  return {
    request,
    runtime: {
      decidedGraceMs: a.decidedGraceMs,
      callback: {
        maxAttempts: a.callbackMaxAttempts,
        initialIntervalMs: a.callbackRetryInitialMs,
        maximumIntervalMs: a.callbackRetryMaxMs,
      },
    },
  };
}

/** Start options shared by the API and the Slack modal (ids are new, so a duplicate start is a bug: FAIL). */
export function approvalStartOperation(taskQueue: string, cfg: ApprovalsConfig, request: ApprovalRequestSpec) {
  return new WithStartWorkflowOperation<typeof approvalWorkflow>('approvalWorkflow', {
    workflowId: approvalWorkflowId(request.approvalId),
    taskQueue,
    args: [approvalInput(cfg, request)],
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
}

/** The request filed through the `/threadline approval` modal (ids come from Slack: nothing to look up by email). */
export function slackModalSpec(
  cfg: ApprovalsConfig,
  approvalId: string,
  user: string,
  m: CreateModalRequest,
): ApprovalRequestSpec {
  const expireAfterMs = m.expireAfterMs ?? cfg.expireAfterMs;
  return {
    approvalId,
    title: m.title,
    description: m.description,
    fields: [],
    requester: user,
    levels: [{ approvers: m.approvers, required: m.required }],
    channel: m.channel && /^[CG]/.test(m.channel) ? m.channel : undefined,
    sla: {
      remindAfterMs: cfg.remindAfterMs < expireAfterMs ? cfg.remindAfterMs : undefined,
      expireAfterMs,
    },
    source: 'slack',
    createdBy: user,
    receivedAt: new Date().toISOString(),
  };
}
