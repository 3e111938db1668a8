import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAuditActivities } from '../../../platform/audit/activities.js';
import type { SlackActivities } from '../../../platform/slack/activities.js';
import { subjectStatusQuery } from '../../../platform/slack/contract.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../../platform/temporal/failure-types.js';
import { createAuditor, createTolerant, upsertLifecycleStatus } from '../../../platform/temporal/workflow/lifecycle.js';
import { DB_ACTIVITY_OPTIONS, SLACK_ACTIVITY_OPTIONS } from '../../../platform/temporal/workflow/presets.js';
import {
  approvalWorkflowId,
  type ApprovalWorkflowInput,
  type ApprovalWorkflowResult,
} from '../../approvals/contract.js';
import type { AlertActivities } from '../activities.js';
import { threadReplier } from './thread.js';
import { chatopsRunStateQuery, type ChatopsRunInput, type ChatopsRunState } from '../contract.js';
import { buildRunMessage, describeArgs } from '../domain/chatops.js';

const slack = proxyActivities<SlackActivities>(SLACK_ACTIVITY_OPTIONS);
const store = proxyActivities<ReturnType<typeof createAuditActivities>>(DB_ACTIVITY_OPTIONS);

/**
 * One `/threadline run <action>`: a message in the channel it was invoked from, optionally an
 * approval (the approvals flow's own workflow, started as a child through its documented
 * contract: `approvalWorkflow(ApprovalWorkflowInput) → ApprovalWorkflowResult`), then one signed,
 * retried request to the action's endpoint; the outcome is posted in the run's thread and the
 * message is edited to show it. Nothing is called unless the approval came back `approved`.
 */
export async function chatopsActionWorkflow(input: ChatopsRunInput): Promise<ChatopsRunState> {
  const wfId = workflowInfo().workflowId;
  const approval = input.action.approval;
  let state: ChatopsRunState = {
    runId: input.runId,
    action: input.action.name,
    status: approval ? 'awaiting_approval' : 'running',
  };
  setHandler(chatopsRunStateQuery, () => state);
  setHandler(subjectStatusQuery, () => ({
    subject: wfId,
    kind: 'chatops',
    status: state.status,
    summary: `${input.action.name} by <@${input.invokedBy}>: ${state.status}`,
    updatedAt: input.requestedAt,
    // The invoker and the approvers may ask about the run wherever they are.
    participants: [input.invokedBy, ...(input.action.approval?.approvers ?? [])],
  }));
  const audit = createAuditor(store.recordAudit, { actorId: 'chatops-workflow' });
  const tolerant = createTolerant(audit, 'chatops');
  const actor = { kind: 'slack_user' as const, id: input.invokedBy };
  upsertLifecycleStatus('chatops', state.status);

  const render = () => buildRunMessage(state, input);
  const first = render();
  const root = await tolerant('root', () =>
    slack.postSlackMessage({
      subject: wfId,
      channel: input.channel,
      text: first.text,
      blocks: first.blocks,
      purpose: 'chatops_root',
      idempotencyKey: `${wfId}:root`,
    }),
  );
  if (root) state = { ...state, root: { channel: root.channel, ts: root.ts } };
  await audit('chatops.requested', 'requested', {
    actor,
    sourceSystem: 'slack',
    details: { action: input.action.name, args: input.args, channel: input.channel, approval: approval !== undefined },
  });

  const reply = threadReplier({ workflowId: wfId, purpose: 'chatops_reply', root: () => state.root, tolerant, slack });
  const update = (step: string) => {
    const m = render();
    return state.root
      ? tolerant(step, () =>
          slack.updateSlackMessage({
            channel: state.root!.channel,
            ts: state.root!.ts,
            text: m.text,
            blocks: m.blocks,
          }),
        )
      : undefined;
  };
  const finish = async (step: string, text: string) => {
    upsertLifecycleStatus('chatops', state.status);
    await Promise.all([
      update(step),
      reply(step, text),
      audit(`chatops.${state.status}`, step, {
        actor,
        outcome: state.status === 'succeeded' ? 'ok' : state.status === 'running' ? 'ok' : 'failed',
        details: { action: input.action.name, approvalId: state.approvalId ?? null, result: state.result ?? null },
      }),
    ]);
    return state;
  };

  if (approval) {
    // The requester cannot approve their own request (the approvals flow refuses it): leave them out.
    const approvers = approval.approvers.filter((u) => u !== input.invokedBy);
    const approvalId = `act_${input.runId}`;
    state = { ...state, approvalId };
    const request: ApprovalWorkflowInput = {
      request: {
        approvalId,
        title: `Run ${input.action.name}`.slice(0, 150),
        description: `<@${input.invokedBy}> asked to run \`${input.action.name}${Object.keys(input.args).length ? ` ${describeArgs(input.args)}` : ''}\` in <#${input.channel}>: ${input.action.description}`,
        fields: Object.entries(input.args).map(([label, value]) => ({ label, value })),
        requester: input.invokedBy,
        levels: [{ approvers, required: approval.required }],
        ...(approval.channel ? { channel: approval.channel } : {}),
        sla: { expireAfterMs: approval.expireAfterMs },
        source: 'slack',
        createdBy: input.invokedBy,
        receivedAt: input.requestedAt,
      },
      // No grace after the decision: the run waits for the approval's result, not for late clicks.
      runtime: { decidedGraceMs: 0, callback: { maxAttempts: 1, initialIntervalMs: 1000, maximumIntervalMs: 1000 } },
    };
    await Promise.all([
      update('approval:asked'),
      reply(
        'approval:asked',
        `:hourglass_flowing_sand: Asked ${approvers.map((u) => `<@${u}>`).join(', ') || 'nobody'} for approval (\`${approvalId}\`${approval.required > 1 ? `, ${approval.required} needed` : ''}). It runs only once approved.`,
      ),
    ]);
    let outcome: ApprovalWorkflowResult['status'] | 'failed';
    try {
      const result = await executeChild<(i: ApprovalWorkflowInput) => Promise<ApprovalWorkflowResult>>(
        'approvalWorkflow',
        {
          workflowId: approvalWorkflowId(approvalId),
          args: [request],
          // The approval outlives a terminated run (its buttons still close it properly).
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        },
      );
      outcome = result.status;
    } catch (err) {
      if (!(err instanceof ChildWorkflowFailure)) throw err;
      outcome = 'failed';
    }
    state = { ...state, approvalStatus: outcome };
    if (outcome !== 'approved') {
      state = { ...state, status: outcome === 'invalid' || outcome === 'failed' ? 'approval_failed' : 'rejected' };
      return finish(
        'outcome',
        outcome === 'invalid' || outcome === 'failed'
          ? `:warning: The approval could not be opened (no eligible approver?); \`${input.action.name}\` was not run.`
          : `:no_entry: The approval was ${outcome}; \`${input.action.name}\` was not run.`,
      );
    }
    state = { ...state, status: 'running' };
    await update('approval:approved');
  }

  // The run's own retry policy: `timeout` per attempt, `maxAttempts` in all, bounded overall.
  const actions = proxyActivities<Pick<AlertActivities, 'invokeChatopsAction'>>({
    startToCloseTimeout: input.action.timeoutMs + 5_000,
    scheduleToCloseTimeout: (input.action.timeoutMs + 5_000) * input.action.maxAttempts + 10 * 60_000,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: input.action.maxAttempts,
      nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
    },
  });
  try {
    const res = await actions.invokeChatopsAction({
      runId: input.runId,
      action: input.action.name,
      args: input.args,
      invokedBy: input.invokedBy,
      channel: input.channel,
      ...(state.approvalId ? { approvalId: state.approvalId } : {}),
      requestedAt: input.requestedAt,
      timeoutMs: input.action.timeoutMs,
    });
    state = {
      ...state,
      status: 'succeeded',
      result: { httpStatus: res.httpStatus, attempts: res.attempt, output: res.output },
    };
    return await finish(
      'outcome',
      `:white_check_mark: \`${input.action.name}\` succeeded (HTTP ${res.httpStatus}${res.attempt > 1 ? `, attempt ${res.attempt}` : ''})${res.output ? `: ${res.output.slice(0, 500)}` : '.'}`,
    );
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
    const message = (cause?.message ?? err.message).slice(0, 300);
    state = { ...state, status: 'failed', result: { error: message } };
    return finish('outcome', `:x: \`${input.action.name}\` failed: ${message}`);
  }
}
