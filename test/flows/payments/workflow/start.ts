import type { Client } from '@temporalio/client';
import { paymentWorkflowId, type PaymentLifecycleInput } from '../../../../src/flows/payments/contract.js';
import { paymentsFlow } from '../../../../src/flows/payments/flow.js';
import { paymentLifecycleInput } from '../../../../src/flows/payments/start.js';
import { flowConfigOf } from '../../../../src/platform/flow.js';
import type { TestStack } from '../../../helpers/stack.js';

/**
 * Starts a payment lifecycle with a test-only input (a lower continue-as-new threshold, another
 * policy or channels) before anything else arrives; the API and webhooks then join it by its
 * business id, exactly as they would join one they started.
 */
export function startPaymentLifecycle(
  t: { client: Client; stack: TestStack },
  orderId: string,
  over: {
    policy?: Partial<PaymentLifecycleInput['policy']>;
    channels?: Partial<PaymentLifecycleInput['channels']>;
  } & Pick<PaymentLifecycleInput, 'continueAsNewAfterEvents'> = {},
) {
  const base = paymentLifecycleInput(flowConfigOf(t.stack.config, paymentsFlow), orderId);
  const input: PaymentLifecycleInput = {
    ...base,
    ...over,
    policy: { ...base.policy, ...over.policy },
    channels: { ...base.channels, ...over.channels },
  };
  return t.client.workflow.start('paymentLifecycleWorkflow', {
    workflowId: paymentWorkflowId(orderId),
    taskQueue: t.stack.taskQueue,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args: [input],
  });
}
