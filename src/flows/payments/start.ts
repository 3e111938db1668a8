import type { Duration } from '@temporalio/common';
import { z } from 'zod';
import type { FlowApiContext } from '../../platform/flow.js';
import type { PaymentsConfig } from './config.js';
import { paymentWorkflowId, type PaymentLifecycleInput } from './contract.js';

/** Lifecycle ids are order ids: provider ids are short ASCII tokens; keep Slack keys and URLs safe. */
export const lifecycleIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'an id of 1-64 letters, digits, _ . : -');

/** The workflow's start input: policy and channels from config (workflows never read config). */
export function paymentLifecycleInput(cfg: PaymentsConfig, lifecycleId: string): PaymentLifecycleInput {
  return { lifecycleId, policy: { ...cfg.policy }, channels: { ...cfg.channels } };
}

/**
 * The lifecycle's workflow-task timeout (Temporal's default is 10 s). A step's bookkeeping runs as
 * a local activity inside the workflow task, so a task spans two activations and a Postgres write;
 * on a starved worker (2 shared cores at load 20, bench/payments.bench.ts at 50 concurrent) tasks
 * took 5–15 s, passed 10 s, timed out and lost their local results, and the retried tasks timed
 * out again (docs/payments.md, "What a lifecycle costs Temporal"). 30 s is the headroom; the price
 * is that a worker that dies holding a task delays that lifecycle by up to 30 s.
 */
export const PAYMENT_WORKFLOW_TASK_TIMEOUT: Duration = '30 seconds';

/** Workflow start options shared by the API and the webhook routes (same id → same lifecycle). */
export function paymentStartOptions(ctx: FlowApiContext<PaymentsConfig>, lifecycleId: string) {
  return {
    workflowId: paymentWorkflowId(lifecycleId),
    taskQueue: ctx.config.temporal.taskQueue,
    args: [paymentLifecycleInput(ctx.flowConfig, lifecycleId)] as [PaymentLifecycleInput],
    // A closed lifecycle may be started again by a late event: the new run resumes from the DB
    // snapshot into the same thread (see the workflow).
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
    workflowTaskTimeout: PAYMENT_WORKFLOW_TASK_TIMEOUT,
  };
}
