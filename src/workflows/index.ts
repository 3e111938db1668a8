// Bundle entry for the worker: every workflow type the task queue serves.
export { pingWorkflow } from './ping.js';
export { paymentLifecycleWorkflow } from './payment-lifecycle.js';
export { slackResponseWorkflow } from './slack-response.js';
export { approvalWorkflow } from './approval.js';
