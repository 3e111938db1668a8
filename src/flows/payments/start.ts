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

/** Workflow start options shared by the API and the webhook routes (same id → same lifecycle). */
export function paymentStartOptions(ctx: FlowApiContext<PaymentsConfig>, lifecycleId: string) {
  return {
    workflowId: paymentWorkflowId(lifecycleId),
    taskQueue: ctx.config.temporal.taskQueue,
    args: [paymentLifecycleInput(ctx.flowConfig, lifecycleId)] as [PaymentLifecycleInput],
    // A closed lifecycle may be started again by a late event: the new run resumes from the DB
    // snapshot into the same thread (see the workflow).
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
  };
}
