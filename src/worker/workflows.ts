// Bundle entry for the worker: every workflow type the task queue serves.
export { pingWorkflow } from '../platform/system/workflow.js';
export { paymentLifecycleWorkflow } from '../flows/payments/workflow.js';
export { slackResponseWorkflow } from '../platform/slack/workflow.js';
export { approvalWorkflow } from '../flows/approvals/workflow.js';
