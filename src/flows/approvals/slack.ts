import type { FlowSlack } from '../../platform/flow.js';
import type { ApprovalsConfig } from './config.js';
import { approvalWorkflowId } from './contract.js';
import { buildCreateRequestModal } from './domain/blocks.js';
import { parseCreateSubmission } from './domain/create-modal.js';
import { approvalInput, newApprovalId, slackModalSpec } from './start.js';

/**
 * The approval flow in Slack: Approve / Reject buttons and the reason modal go through the
 * workflow's Update (its validator refuses non-approvers); `/threadline approval` opens the
 * new-request modal, whose submission starts the request.
 */
export const approvalsSlack: FlowSlack<ApprovalsConfig> = {
  actions: {
    'approval.approve': { mode: 'update' },
    'approval.reject': { mode: 'update' },
    'approval.reject_reason': {
      mode: 'update',
      requiredFields: [{ blockId: 'reason', actionId: 'reason', message: 'Please give a reason for rejecting.' }],
    },
    'approval.create': {
      mode: 'start',
      // The request id was minted when the modal opened (its private_metadata), so a repeated
      // submission joins the same workflow.
      start(req, workflowId, ctx) {
        const parsed = parseCreateSubmission(req.fields ?? {}, req.user);
        if (!parsed.ok) return { ok: false, errors: parsed.errors };
        const spec = slackModalSpec(ctx.flowConfig, workflowId.slice('approval:'.length), req.user, parsed.request);
        return { ok: true, workflowType: 'approvalWorkflow', args: [approvalInput(ctx.flowConfig, spec)] };
      },
    },
  },
  subcommands: {
    approval: {
      usage: '`/threadline approval`',
      description: 'ask for an approval (opens a form)',
      // The ingress never calls Slack: a short workflow opens the modal with the trigger (valid 3 s).
      handle: (cmd) => ({
        later: {
          kind: 'open_view',
          triggerId: cmd.triggerId,
          user: cmd.userId,
          view: buildCreateRequestModal(approvalWorkflowId(newApprovalId())),
          responseUrl: cmd.responseUrl,
        },
      }),
    },
  },
};
